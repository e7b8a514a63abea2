import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { allRequiredPass, runChecks, type Check } from '../../core/doctor.js';
import { EXIT_ENGINE, TspodError } from '../../core/errors.js';
import { goJson } from '../../core/template/index.js';

const MARKS = {
  tty: { ok: '✔', fail: '✘', warn: '⚠' },
  plain: { ok: 'ok', fail: 'FAIL', warn: 'warn' },
};

function checkLine(check: Check, marks: (typeof MARKS)['tty']): string {
  if (check.ok) return `${marks.ok} ${check.name}: ${check.detail}`;
  const mark = check.required ? marks.fail : marks.warn;
  const optional = check.required ? '' : ' (optional)';
  return `${mark} ${check.name}${optional}: ${check.cause}${check.fix ? ` — fix: ${check.fix}` : ''}`;
}

export default class SystemCheck extends TspodCommand {
  static override description = 'Check that this host has what tspod needs, and say how to fix what is missing';
  static override aliases = ['doctor'];
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Output format: json prints the checks as an array' }),
    runtime: Flags.string({ description: 'OCI runtime to check instead of the automatic choice (name or path)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SystemCheck);
    const checks = await runChecks({ paths: this.storePaths(flags), runtime: flags.runtime });
    if (flags.format === 'json') {
      this.out.stdout.write(`${goJson(checks, false, '    ')}\n`);
    } else if (flags.format !== undefined) {
      throw new TspodError(`unknown format "${flags.format}"`, 'use --format json');
    } else {
      const marks = process.stdout.isTTY ? MARKS.tty : MARKS.plain;
      const failed = checks.filter((c) => !c.ok && c.required).length;
      const lines = checks.map((c) => checkLine(c, marks));
      if (failed > 0) lines.push(`${failed} required check${failed > 1 ? 's' : ''} failed; run the fixes as root`);
      this.out.stdout.write(`${lines.join('\n')}\n`);
    }
    if (!allRequiredPass(checks)) process.exitCode = EXIT_ENGINE;
  }
}
