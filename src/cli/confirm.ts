/** Docker's [y/N] prompt; the answer is read from stdin, terminal or not (`echo y | tspod ... prune`). */
import { createInterface } from 'node:readline';
import { TspodError } from '../core/errors.js';

export async function confirm(question: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) });
  const answer = await new Promise<string | undefined>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(undefined));
    rl.setPrompt(question);
    rl.prompt();
  });
  rl.close();
  // A terminal echoed the answer and its newline; from a pipe nothing did, so end the prompt's line.
  if (!process.stdin.isTTY) process.stderr.write('\n');
  if (answer === undefined) throw new TspodError('no answer to the confirmation prompt', 'use -f/--force to skip it');
  if (!/^y(es)?$/i.test(answer.trim())) throw new TspodError('cancelled');
}
