import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { versionInfo, type VersionBinary, type VersionInfo } from '../core/version-info.js';
import { goJson, renderInspect } from '../core/template/index.js';

function binaryLine(b: VersionBinary | null): string {
  return b ? `${b.Name} ${b.Version} (${b.Path})` : 'not installed';
}

function humanVersion(v: VersionInfo): string {
  const rows: [string, string][] = [
    ['Client:', 'tspod'],
    ['Version:', v.Client.Version],
    ['Node Version:', v.Client.NodeVersion],
    ['OS/Arch:', v.Client.OsArch],
    ['OCI Runtime:', v.Runtime ? binaryLine(v.Runtime) : 'none works, see tspod system check'],
    ['Conmon:', binaryLine(v.Conmon)],
    ['Network:', binaryLine(v.NetworkHelper)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, value]) => `${k.padEnd(width)}${value}\n`).join('');
}

export default class Version extends TspodCommand {
  static override description = 'Show the versions of tspod and of the helpers it uses';
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Format the output with a Go template (e.g. {{.Client.Version}}), or json' }),
    runtime: Flags.string({ description: 'OCI runtime to report instead of the automatic choice (name or path)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const info = await versionInfo(this.storePaths(flags), this.config.version, { runtime: flags.runtime });
    if (flags.format === undefined) this.out.stdout.write(humanVersion(info));
    else if (flags.format.trim() === 'json') this.out.stdout.write(`${goJson(info, false, '    ')}\n`);
    else this.out.stdout.write(renderInspect(flags.format, [info]));
  }
}
