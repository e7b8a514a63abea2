/**
 * RUNROOT/plain-http-registries: the endpoints (one per line) that answered over plain HTTP, so
 * later pulls skip the TLS attempt. Run state, not configuration: it goes with a reboot. Writes
 * are atomic but not locked: a lost entry only costs one more TLS attempt.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';

export class PlainHttpMemory {
  private readonly file: string;
  private entries?: Set<string>;

  constructor(private readonly runroot: string) {
    this.file = path.join(runroot, 'plain-http-registries');
  }

  private load(): Set<string> {
    if (!this.entries) {
      try {
        this.entries = new Set(readFileSync(this.file, 'utf8').split('\n').filter(Boolean));
      } catch {
        this.entries = new Set();
      }
    }
    return this.entries;
  }

  isPlainHttp(endpoint: string): boolean {
    return this.load().has(endpoint);
  }

  rememberPlainHttp(endpoint: string): void {
    const entries = this.load();
    if (entries.has(endpoint)) return;
    entries.add(endpoint);
    try {
      mkdirSync(this.runroot, { recursive: true, mode: 0o700 });
      writeFileAtomic(this.file, [...entries].join('\n') + '\n', 0o600);
    } catch {
      // run state that cannot be written is only a missed shortcut
    }
  }
}
