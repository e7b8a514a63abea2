import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { defaultUnitDir, installRestartUnit, uninstallRestartUnit, UNIT_NAME } from '../../core/containers/restart-service.js';
import { resolvePaths } from '../../store/paths.js';

export default class SystemService extends TspodCommand {
  static override description =
    'Install (or uninstall) the systemd unit that starts containers with --restart always or unless-stopped at boot (rootless: at login)';
  static override examples = ['<%= config.bin %> system service install', 'systemctl --user enable tspod-restart.service'];
  static override args = { action: Args.string({ description: 'install or uninstall', required: true, options: ['install', 'uninstall'] }) };
  static override flags = {
    'unit-dir': Flags.string({ description: 'Directory for the unit (default: ~/.config/systemd/user, as root /etc/systemd/system)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SystemService);
    const paths = this.storePaths(flags);
    const dir = flags['unit-dir'] ?? defaultUnitDir(paths.rootless);
    const systemctl = paths.rootless ? 'systemctl --user' : 'systemctl';
    if (args.action === 'uninstall') {
      this.log(uninstallRestartUnit(dir));
      this.log(`If it was enabled: ${systemctl} disable ${UNIT_NAME}`);
      return;
    }
    // The store's flags only when they are not the defaults the unit's tspod would pick anyway.
    const defaults = resolvePaths();
    const tspod = [process.execPath, process.env.TSPOD_BIN ?? process.argv[1]];
    if (paths.root !== defaults.root) tspod.push('--root', paths.root);
    if (paths.runroot !== defaults.runroot) tspod.push('--runroot', paths.runroot);
    this.log(installRestartUnit(dir, tspod, paths.rootless));
    this.log(`Enable it with: ${systemctl} daemon-reload && ${systemctl} enable ${UNIT_NAME}`);
    if (paths.rootless) this.log(`To start it at boot rather than at your first login: loginctl enable-linger ${process.env.USER ?? '$USER'}`);
  }
}
