import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { containerStats, measuresFromProc, ROOTLESS_NOTE, STATS_HEADERS, STATS_TABLE } from '../core/containers/stats.js';
import { renderFormat } from '../core/template/index.js';

/** Docker clears the screen before each refresh. */
const CLEAR_SCREEN = '\u001b[2J\u001b[H';

export default class Stats extends TspodCommand {
  static override description = `Display a live stream of container(s) resource usage statistics

Without names: every running container (-a: every container). CPU % is measured over one second (100% is one CPU). As root the figures come from the container's cgroup v1 controllers (cpuacct, memory, blkio, pids). Rootless on cgroup v1 there is no container cgroup the user may read: CPU, memory (the sum of the processes' resident memory), network and pids come from /proc, and the memory limit, MEM % and block I/O show as --.`;

  static override aliases = ['container:stats'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Show all containers (default shows just running)' }),
    'no-stream': Flags.boolean({ description: 'Disable streaming stats and only pull the first result' }),
    'no-trunc': Flags.boolean({ description: "Don't truncate output" }),
    format: Flags.string({ description: 'Format output with a Go template, table TEMPLATE, or json' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stats);
    const engine = await this.engine(flags);
    if (measuresFromProc(engine)) process.stderr.write(`${ROOTLESS_NOTE}\n`);
    const interrupted = new AbortController();
    const stop = () => interrupted.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const follow = !flags['no-stream'];
    try {
      for await (const rows of containerStats(engine, argv as string[], { all: flags.all, noTrunc: flags['no-trunc'], follow, signal: interrupted.signal })) {
        const table = renderFormat(flags.format, rows, { defaultTable: STATS_TABLE, headers: STATS_HEADERS });
        process.stdout.write(follow ? CLEAR_SCREEN + table : table);
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
