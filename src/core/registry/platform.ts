/** Platforms (os/architecture/variant, with Go's names) and choosing one from an image index. */
import { TspodError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's process.arch to Go's GOARCH, which images use. */
const NODE_TO_GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  ia32: '386',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** Common other spellings a user may type for --platform. */
const ARCH_ALIASES: Record<string, Platform['architecture']> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  i386: '386',
  i686: '386',
};

export function hostPlatform(): Platform {
  const architecture = NODE_TO_GO_ARCH[process.arch] ?? process.arch;
  if (architecture !== 'arm') return { os: 'linux', architecture };
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  return { os: 'linux', architecture, variant: `v${armVersion ?? 7}` };
}

/** Parses "os/arch[/variant]", e.g. "linux/arm64" or "linux/arm/v7". */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new TspodError(`invalid platform "${s}"`, 'expected os/arch[/variant], e.g. linux/arm64');
  }
  const [os, arch, variant] = parts as [string, string, string?];
  const architecture = ARCH_ALIASES[arch] ?? arch;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The variant with the implied defaults made explicit or dropped, so equal platforms compare
 * equal: arm means arm/v7, arm64/v8 is plain arm64, amd64/v1 is plain amd64.
 */
function normalVariant(p: Platform): string {
  const v = p.variant ?? '';
  if (p.architecture === 'arm' && v === '') return 'v7';
  if (p.architecture === 'arm64' && v === 'v8') return '';
  if (p.architecture === 'amd64' && v === 'v1') return '';
  return v;
}

function armVersion(variant: string): number {
  return Number(/^v(\d)$/.exec(variant)?.[1] ?? 0);
}

/**
 * How well an entry's variant serves the wanted one: 0 not at all, higher is better. An exact
 * match wins; an older arm variant runs on a newer arm CPU; without a wanted variant, any
 * variant of the os/architecture will do.
 */
function variantScore(want: Platform, got: Platform): number {
  const wanted = normalVariant(want);
  const offered = normalVariant(got);
  if (offered === wanted) return 100;
  if (want.architecture === 'arm') return armVersion(offered) < armVersion(wanted) ? armVersion(offered) : 0;
  return want.variant === undefined ? 1 : 0;
}

/**
 * Picks the index entry that best fits `want`; throws, listing what the index offers, when none
 * does. `where` names the image in the error.
 */
export function selectPlatform<T extends { platform?: Platform }>(entries: T[], want: Platform, where: string): T {
  let best: T | undefined;
  let bestScore = 0;
  for (const e of entries) {
    const p = e.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) continue;
    const score = variantScore(want, p);
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  if (best) return best;
  const available = [...new Set(
    entries.flatMap((e) => (e.platform && e.platform.os !== 'unknown' ? [formatPlatform(e.platform)] : [])),
  )];
  throw new TspodError(
    `no image for platform ${formatPlatform(want)} in ${where}`,
    available.length ? `available platforms: ${available.join(', ')}` : 'the index lists no platforms',
  );
}
