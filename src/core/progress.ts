/**
 * Pull and push progress as Docker shows it: on a terminal one live line per layer
 * ("a1b2c3d4e5f6: Downloading [====>     ]  12.3MB/30.1MB"), otherwise one plain line per status
 * change, and nothing with -q.
 */
import { humanSize } from './humanize.js';
import type { Output } from './engine.js';

export type LayerStatus =
  | 'Waiting' | 'Downloading' | 'Verifying' | 'Download complete' | 'Pull complete' | 'Already exists' | 'Failed'
  | 'Preparing' | 'Pushing' | 'Pushed' | 'Layer already exists' | `Mounted from ${string}`;

/** The statuses drawn with a progress bar. */
const TRANSFERS = new Set<LayerStatus>(['Downloading', 'Pushing']);

export interface Progress {
  /** A line that is not about one layer. */
  message(text: string): void;
  layer(id: string, status: LayerStatus, current?: number, total?: number): void;
  /** Stops redrawing; later output goes below the layer lines. */
  done(): void;
}

export function quietProgress(): Progress {
  return { message() {}, layer() {}, done() {} };
}

export function plainProgress(stream: Output['stderr']): Progress {
  const last = new Map<string, LayerStatus>();
  return {
    message: (text) => stream.write(`${text}\n`),
    layer(id, status) {
      if (last.get(id) === status) return;
      last.set(id, status);
      stream.write(`${id}: ${status}\n`);
    },
    done() {},
  };
}

const BAR_WIDTH = 50;

function bar(current: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH)) : 0;
  const head = filled < BAR_WIDTH ? '>' : '';
  return `[${'='.repeat(filled)}${head}${' '.repeat(BAR_WIDTH - filled - head.length)}]`;
}

/** Redraws the block of layer lines in place, at most every 100 ms. */
export function terminalProgress(stream: Output['stderr']): Progress {
  const order: string[] = [];
  const lines = new Map<string, string>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const id of order) text += `\x1b[2K${lines.get(id)}\n`;
    drawn = order.length;
    stream.write(text);
  };
  const schedule = () => {
    timer ??= setTimeout(draw, 100);
  };
  return {
    message(text) {
      if (timer) {
        clearTimeout(timer);
        draw();
      }
      stream.write(`${text}\n`);
      drawn = 0;
      order.length = 0;
    },
    layer(id, status, current, total) {
      if (!lines.has(id)) order.push(id);
      const detail = TRANSFERS.has(status) && current !== undefined ? ` ${bar(current, total ?? 0)} ${humanSize(current)}/${total ? humanSize(total) : '?'}` : '';
      lines.set(id, `${id}: ${status}${detail}`);
      if (TRANSFERS.has(status)) schedule();
      else {
        if (timer) clearTimeout(timer);
        draw();
      }
    },
    done() {
      if (timer) {
        clearTimeout(timer);
        draw();
      }
    },
  };
}

export function progressFor(out: Output, quiet: boolean): Progress {
  if (quiet) return quietProgress();
  return out.stderr.isTTY ? terminalProgress(out.stderr) : plainProgress(out.stderr);
}
