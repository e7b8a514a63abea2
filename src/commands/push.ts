import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { parseCreds } from '../core/auth-file.js';
import { progressFor } from '../core/progress.js';
import { pushImages } from '../core/push.js';
import { authfileFlag, certDirFlag, credsFlag, tlsVerifyFlag } from '../cli/registry-flags.js';

export default class Push extends TspodCommand {
  static override description = [
    'Push an image to a registry',
    'IMAGE is a local name or ID; DESTINATION (default: IMAGE\'s name) is [REGISTRY/]NAME[:TAG]. A name',
    'without tag means :latest; with -a/--all-tags, IMAGE is a repository and every local tag of it',
    "is pushed (Docker's behaviour). Blobs the repository has are skipped, blobs another repository",
    'of the registry has are mounted, and the stored manifest is pushed as it is (same digest)',
    'unless --format or --compression-format ask for a conversion. Progress goes to stderr.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> push 127.0.0.1:5000/app:1.0',
    '<%= config.bin %> push debian 127.0.0.1:5000/base/debian:bookworm',
    '<%= config.bin %> push --all-tags 127.0.0.1:5000/app',
    '<%= config.bin %> push --format oci --compression-format zstd app registry.example.com/app',
  ];
  static override aliases = ['image:push'];
  static override args = {
    image: Args.string({ description: 'IMAGE (name or ID)', required: true }),
    destination: Args.string({ description: 'DESTINATION [REGISTRY/]NAME[:TAG]' }),
  };
  static override flags = {
    quiet: Flags.boolean({ char: 'q', description: 'Suppress progress output' }),
    'all-tags': Flags.boolean({ char: 'a', description: 'Push every tag of the repository IMAGE names' }),
    format: Flags.option({ options: ['oci', 'v2s2'] as const, description: 'Manifest format at the destination (default: the stored one)' })(),
    'compression-format': Flags.option({ options: ['gzip', 'zstd'] as const, description: 'Layer compression at the destination (default: as stored)' })(),
    digestfile: Flags.string({ description: 'Write the digest of the pushed manifest to this file' }),
    'tls-verify': tlsVerifyFlag,
    creds: credsFlag,
    authfile: authfileFlag,
    'cert-dir': certDirFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Push);
    const engine = await this.engine(flags);
    await pushImages(engine, args.image, args.destination, {
      allTags: flags['all-tags'],
      format: flags.format,
      compressionFormat: flags['compression-format'],
      digestfile: flags.digestfile,
      tlsVerify: flags['tls-verify'],
      creds: flags.creds ? parseCreds(flags.creds) : undefined,
      authfile: flags.authfile,
      certDir: flags['cert-dir'],
      progress: progressFor(this.out, flags.quiet),
    });
  }
}
