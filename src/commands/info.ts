import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { hostInfo, templateView } from '../core/host-info.js';
import { goJson, renderInspect } from '../core/template/index.js';

/** Scalars as YAML shows them; strings that YAML would misread are quoted. */
function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return '""';
  if (typeof value !== 'string') return String(value);
  return value === '' || /^[\s\-?:,[\]{}#&*!|>'"%@`]|: |\s#|\s$/.test(value) ? JSON.stringify(value) : value;
}

/** Podman's human `info` output: the JSON data as YAML, two-space indented. */
function toYaml(value: Record<string, unknown>, indent = ''): string[] {
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`${indent}${key}: []`);
      else {
        lines.push(`${indent}${key}:`);
        for (const item of v) {
          if (item !== null && typeof item === 'object') {
            const [first, ...rest] = toYaml(item as Record<string, unknown>, `${indent}  `);
            lines.push(`${indent}- ${first.trimStart()}`, ...rest);
          } else lines.push(`${indent}- ${yamlScalar(item)}`);
        }
      }
    } else if (v !== null && typeof v === 'object') {
      const nested = toYaml(v as Record<string, unknown>, `${indent}  `);
      lines.push(nested.length === 0 ? `${indent}${key}: {}` : `${indent}${key}:`, ...nested);
    } else lines.push(`${indent}${key}: ${yamlScalar(v)}`);
  }
  return lines;
}

export default class Info extends TspodCommand {
  static override description = 'Show information about the host, the store, the helpers and the registries';
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Format the output with a Go template, or json' }),
    runtime: Flags.string({ description: 'OCI runtime to report instead of the automatic choice (name or path)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Info);
    const info = await hostInfo(this.storePaths(flags), { runtime: flags.runtime });
    if (flags.format === undefined) this.out.stdout.write(`${toYaml(info as unknown as Record<string, unknown>).join('\n')}\n`);
    else if (flags.format.trim() === 'json') this.out.stdout.write(`${goJson(info, false, '    ')}\n`);
    else this.out.stdout.write(renderInspect(flags.format, [templateView(info)]));
  }
}
