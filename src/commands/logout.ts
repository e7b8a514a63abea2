import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { logout, logoutAll } from '../core/login.js';
import { authfileFlag } from '../cli/registry-flags.js';

export default class Logout extends TspodCommand {
  static override description = [
    'Log out of a registry',
    'Removes its credentials from the auth file login writes (--authfile, $REGISTRY_AUTH_FILE or',
    '$XDG_RUNTIME_DIR/containers/auth.json); credentials Docker stored in ~/.docker/config.json stay.',
  ].join('\n');
  static override examples = ['<%= config.bin %> logout quay.io', '<%= config.bin %> logout --all'];
  static override args = { registry: Args.string({ description: 'REGISTRY host[:port] (default docker.io)' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Remove the credentials of every registry' }),
    authfile: authfileFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logout);
    if (flags.all) {
      await logoutAll(flags.authfile);
      this.log('Removed login credentials for all registries');
      return;
    }
    const registry = await logout(args.registry ?? 'docker.io', flags.authfile);
    this.log(`Removed login credentials for ${registry}`);
  }
}
