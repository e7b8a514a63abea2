/**
 * A store's JSON record file: read without the lock (it is only ever replaced atomically),
 * changed only under the store lock on a fresh copy, validated with zod both ways in.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { TspodError } from '../core/errors.js';
import { writeJsonAtomic } from './atomic.js';
import { withStoreLock } from './lock.js';

export class JsonState<S extends z.ZodTypeAny> {
  private readonly file: string;

  constructor(
    private readonly root: string,
    name: string,
    private readonly schema: S,
    private readonly empty: () => z.infer<S>,
    /** "image store", "container store": for the message when the file is damaged */
    private readonly what: string,
  ) {
    this.file = path.join(root, name);
  }

  read(): z.infer<S> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.damaged('not valid JSON');
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) throw this.damaged(parsed.error.issues[0].message);
    return parsed.data;
  }

  /** Runs `fn` on a fresh copy under the lock and writes the result atomically. */
  async update<T>(fn: (state: z.infer<S>) => T | Promise<T>): Promise<T> {
    return withStoreLock(this.root, async () => {
      const state = this.read();
      const result = await fn(state);
      writeJsonAtomic(this.file, state);
      return result;
    });
  }

  private damaged(why: string): TspodError {
    return new TspodError(`the ${this.what} ${this.file} is damaged: ${why}`, 'run tspod system reset');
  }
}
