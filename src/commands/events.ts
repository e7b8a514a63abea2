import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { streamEvents } from '../core/events-stream.js';

export default class Events extends TspodCommand {
  static override description = [
    'Show the events recorded by tspod commands (oldest first), then follow new ones until Ctrl-C.',
    'With --until, stop at that time. Times: RFC 3339 (2024-01-02T15:04:05Z), Unix seconds, or a duration before now (10m).',
    'The log keeps the latest 1 to 2 MiB of events in RUNROOT/events: two files of at most 1 MiB (TSPOD_EVENTS_MAX_BYTES) each.',
  ].join('\n');
  static override aliases = ['system:events'];
  static override flags = {
    filter: Flags.string({
      char: 'f',
      description: 'Filter events: type=, event=, container= (ID, prefix or name), image=, label=KEY[=VALUE], volume=, network= (the same key twice: either; different keys: both)',
      multiple: true,
    }),
    format: Flags.string({ description: 'Format events with a Go template (.Type .Action .ID .Time .TimeNano .Actor.Attributes .Name .Image ...), or json' }),
    since: Flags.string({ description: 'Show events created since this time' }),
    until: Flags.string({ description: 'Show events created until this time, then exit' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    const stop = new AbortController();
    const end = () => stop.abort();
    process.on('SIGINT', end);
    process.on('SIGTERM', end);
    // The reader went away (`events | head`): stop quietly, as Docker does.
    process.stdout.on('error', end);
    try {
      await streamEvents(
        await this.engine(flags),
        { since: flags.since, until: flags.until, filters: flags.filter ?? [], format: flags.format },
        (text) => void process.stdout.write(text),
        stop.signal,
      );
    } finally {
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
    }
  }
}
