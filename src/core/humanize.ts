/** Docker's human-readable durations and sizes (go-units HumanDuration / HumanSizeWithPrecision). */

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

export function timeAgo(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t) || t <= 0) return 'N/A';
  return `${humanDuration(now - t)} ago`;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function scaledSize(bytes: number, base: number, units: string[], digits: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  return `${Number(value.toPrecision(digits))}${units[unit]}`;
}

/**
 * Decimal units with 3 significant digits, like `docker images`: 74.8MB, 4.26kB, 955B (`system
 * df` uses go-units' HumanSize, 4 digits).
 */
export function humanSize(bytes: number, precision = 3): string {
  return scaledSize(bytes, 1000, UNITS, precision);
}

/** Binary units with 4 significant digits (go-units BytesSize, `docker stats`): 1.5MiB, 952KiB, 7.629GiB. */
export function binarySize(bytes: number): string {
  return scaledSize(bytes, 1024, BINARY_UNITS, 4);
}

/** Docker's stringutils.Ellipsis: at most `max` characters, the last one "…" when cut. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}
