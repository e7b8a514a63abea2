/** Docker's [y/N] prompt; without a terminal there is nobody to ask, so -f is required. */
import { createInterface } from 'node:readline/promises';
import { TspodError } from '../core/errors.js';

export async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY) throw new TspodError('refusing to continue without confirmation', 'stdin is not a terminal: use -f/--force');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(question);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new TspodError('cancelled');
}
