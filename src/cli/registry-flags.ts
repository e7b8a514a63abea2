/** The flags every command that talks to a registry shares (pull, push, login, search). */
import { Flags } from '@oclif/core';

export const tlsVerifyFlag = Flags.boolean({ description: 'Require HTTPS and verify certificates', default: true, allowNo: true });
export const credsFlag = Flags.string({ description: 'Credentials USERNAME:PASSWORD for the registry' });
export const authfileFlag = Flags.string({ description: 'Path of the authentication file' });
export const certDirFlag = Flags.string({ description: 'Directory of extra CA certificates (*.crt) for the registry' });
