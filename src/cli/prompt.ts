/** A line asked for on the terminal, optionally without echo (passwords). */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { TspodError } from '../core/errors.js';

export async function promptLine(question: string, opts: { hidden?: boolean } = {}): Promise<string> {
  let muted = false;
  // The prompt is shown; what is typed after it is not, when hidden.
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = await new Promise<string | undefined>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(undefined));
    rl.once('SIGINT', () => resolve(undefined));
    rl.setPrompt(question);
    rl.prompt();
    muted = Boolean(opts.hidden);
  });
  rl.close();
  if (opts.hidden) process.stderr.write('\n');
  if (answer === undefined) throw new TspodError('cancelled', undefined, 130);
  return answer;
}
