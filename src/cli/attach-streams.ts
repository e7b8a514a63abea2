/** The terminal's streams for a foreground container, narrowed by Docker's -a/--attach. */
import { Writable } from 'node:stream';
import type { AttachStreams } from '../namespaces/attach.js';

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

/** `attach` lists stdin/stdout/stderr (any case); none given means all three. */
export function attachStreams(attach: string[] | undefined, interactive: boolean): AttachStreams {
  const set = new Set((attach?.length ? attach : ['stdin', 'stdout', 'stderr']).map((a) => a.toLowerCase()));
  return {
    stdin: interactive && set.has('stdin') ? process.stdin : undefined,
    stdout: set.has('stdout') ? process.stdout : discard(),
    stderr: set.has('stderr') ? process.stderr : discard(),
  };
}
