import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { parseCreds } from '../core/auth-file.js';
import { progressFor } from '../core/progress.js';
import { pullImage } from '../core/pull.js';
import { authfileFlag, certDirFlag, credsFlag, tlsVerifyFlag } from '../cli/registry-flags.js';

export default class Pull extends TspodCommand {
  static override description = 'Pull an image from a registry';
  static override examples = ['<%= config.bin %> pull debian', '<%= config.bin %> pull --platform linux/arm64 127.0.0.1:5000/app:1.0'];
  static override aliases = ['image:pull'];
  static override args = { image: Args.string({ description: 'NAME[:TAG|@DIGEST]', required: true }) };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'Suppress progress output' }),
    platform: Flags.string({ description: 'Platform os/arch[/variant] of a multi-platform image (default: this host)' }),
    'tls-verify': tlsVerifyFlag,
    creds: credsFlag,
    authfile: authfileFlag,
    'cert-dir': certDirFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const engine = await this.engine(flags);
    const result = await pullImage(engine, args.image, {
      platform: flags.platform,
      tlsVerify: flags['tls-verify'],
      creds: flags.creds ? parseCreds(flags.creds) : undefined,
      authfile: flags.authfile,
      certDir: flags['cert-dir'],
      progress: progressFor(this.out, flags.quiet),
    });
    this.log(result.name);
  }
}
