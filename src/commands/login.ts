import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { promptLine } from '../cli/prompt.js';
import { TspodError } from '../core/errors.js';
import { loggedInUser, login, storedUser } from '../core/login.js';
import { authfileFlag, certDirFlag, tlsVerifyFlag } from '../cli/registry-flags.js';

const MESSAGES = {
  succeeded: 'Login Succeeded!',
  passwordWarning: 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.',
  both: () => new TspodError('--password and --password-stdin are mutually exclusive'),
  stdinNeedsUser: () => new TspodError('must provide --username with --password-stdin'),
  noTerminal: (what: string) => new TspodError(`cannot prompt for the ${what}: stdin is not a terminal`, 'use -u USER and --password-stdin'),
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // Docker's rule: one trailing newline (LF or CRLF) is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export default class Login extends TspodCommand {
  static override description = [
    'Log in to a registry',
    'The credentials are checked with the registry, then stored (base64 user:password, mode 0600) in',
    "the auth file Docker and Podman share: --authfile, else $REGISTRY_AUTH_FILE, else",
    '$XDG_RUNTIME_DIR/containers/auth.json (/run/containers/UID/auth.json without XDG_RUNTIME_DIR).',
    'Pull and push also read ~/.docker/config.json. Without -u or a password, they are asked for on the terminal.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> login -u alice quay.io',
    'echo "$PASSWORD" | <%= config.bin %> login -u alice --password-stdin 127.0.0.1:5000',
  ];
  static override args = { registry: Args.string({ description: 'REGISTRY host[:port] (default docker.io)' }) };
  static override flags = {
    username: Flags.string({ char: 'u', description: 'Username' }),
    password: Flags.string({ char: 'p', description: 'Password (visible to other users in ps: prefer --password-stdin)' }),
    'password-stdin': Flags.boolean({ description: 'Take the password from stdin' }),
    authfile: authfileFlag,
    'tls-verify': tlsVerifyFlag,
    'cert-dir': certDirFlag,
    'get-login': Flags.boolean({ description: 'Print the username stored for the registry' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login);
    const registry = args.registry ?? 'docker.io';
    if (flags['get-login']) {
      this.log(loggedInUser(registry, flags.authfile));
      return;
    }
    if (flags.password !== undefined && flags['password-stdin']) throw MESSAGES.both();
    if (flags.password !== undefined) process.stderr.write(`${MESSAGES.passwordWarning}\n`);
    let password = flags.password;
    if (flags['password-stdin']) {
      if (!flags.username) throw MESSAGES.stdinNeedsUser();
      password = await readStdin();
    }
    let username = flags.username;
    if (username === undefined) {
      if (!process.stdin.isTTY) throw MESSAGES.noTerminal('username');
      const stored = storedUser(registry, flags.authfile);
      username = (await promptLine(stored ? `Username (${stored}): ` : 'Username: ')).trim() || stored || '';
    }
    if (password === undefined) {
      if (!process.stdin.isTTY) throw MESSAGES.noTerminal('password');
      password = await promptLine('Password: ', { hidden: true });
    }
    await login(await this.engine(flags), registry, {
      credentials: { username, password },
      authfile: flags.authfile,
      tlsVerify: flags['tls-verify'],
      certDir: flags['cert-dir'],
    });
    this.log(MESSAGES.succeeded);
  }
}
