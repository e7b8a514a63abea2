/**
 * Makes an uncompressed OCI layer tar safe and ready to extract into its own directory, which is
 * later one lower directory of an overlay mount:
 *
 * - entry names are normalized ("./a/../b" -> "b"); an absolute name, or ".." reaching above the
 *   root, is rejected, as is any entry that goes through a symlink this layer declared earlier, and
 *   a hardlink whose target escapes, goes through such a symlink, or was not declared earlier;
 * - OCI whiteouts become overlayfs ones: "dir/.wh.name" -> character device 0/0 "dir/name";
 *   "dir/.wh..wh..opq" -> xattr user.overlay.opaque=y on "dir" (tspod mounts overlay with
 *   `userxattr`, rootless and as root alike). AUFS metadata ("dir/.wh..wh.plnk" ...) is dropped;
 * - xattrs are limited to those extraction may and should set: user.* (except user.overlay.*,
 *   which overlayfs would interpret: only the opaque marker made here may carry it),
 *   security.capability and POSIX ACLs. trusted.*, the other security.* and system.* are dropped;
 * - rootless, block and character devices other than whiteouts are dropped (and hardlinks to
 *   them): a user namespace cannot create them. Containers get /dev from the runtime anyway.
 *
 * Owners, modes (setuid included), mtimes, symlinks (targets untouched: they resolve inside the
 * container), hardlinks and the remaining pax records pass through as they are.
 *
 * This is a hand-written streaming tar rewriter rather than tar-stream extract -> pack because
 * tar-stream decodes pax values as UTF-8 (corrupting binary ones such as security.capability) and
 * costs a stream per entry. File bodies are passed through as slices of the input chunks, never
 * buffered; every header is re-encoded, so tar sees exactly the entries checked here (a canonical
 * ustar header, plus a pax header when something does not fit), and nothing the input could hide
 * between two headers.
 */
import { Transform, type Duplex, type TransformCallback } from 'node:stream';
import { TspodError } from './errors.js';

export interface SanitizeOptions {
  /** The layer's digest, for error messages. */
  digest: string;
  /** Running in a user namespace: device nodes cannot be created. */
  rootless: boolean;
  /** What error messages call the input; default "layer DIGEST". */
  label?: string;
}

/** Input: uncompressed layer tar bytes; output: sanitized tar bytes. */
export function sanitizeLayer(opts: SanitizeOptions): Duplex {
  return new LayerSanitizer(opts);
}

const BLOCK = 512;
/** Largest pax or GNU long-name header accepted (they are buffered). */
const MAX_META_SIZE = 8 * 1024 * 1024;
const SMALL_PIECE = 16 * 1024;
const WHITEOUT_PREFIX = '.wh.';
const METADATA_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'SCHILY.xattr.user.overlay.opaque';
/** Pax keys regenerated from the parsed values (see encodeEntry). */
const REGENERATED_KEYS = new Set(['path', 'linkpath', 'size', 'uid', 'gid']);
const OCTAL_7 = 0o7777777;
const OCTAL_11 = 0o77777777777;

export type Kind = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

const KIND_OF_TYPEFLAG: Record<string, Kind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};
const TYPEFLAG_OF_KIND: Record<Kind, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** One entry as it will be written. Strings hold raw bytes (latin1), so no name is ever re-encoded. */
export interface TarEntry {
  name: string;
  kind: Kind;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** 64 raw bytes: uname and gname (32 each), unused with --numeric-owner but kept for fidelity */
  owners: Buffer;
  /** pax records to write besides the regenerated ones, raw values */
  pax: Map<string, Buffer>;
}

type State = 'header' | 'meta' | 'body' | 'end';

/**
 * Reads a tar stream (ustar, pax, GNU long names) and writes every entry its subclass lets through,
 * re-encoded (see encodeEntry); bodies of kept entries pass through as slices of the input.
 */
export abstract class TarRewriter extends Transform {
  private state: State = 'header';
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** pax/GNU meta entry being collected */
  private metaType = '';
  private metaParts: Buffer[] = [];
  private metaRemaining = 0;
  private metaSize = 0;
  /** body bytes (padding included) still to pass through or drop */
  private bodyRemaining = 0;
  private keepBody = false;

  private globalPax = new Map<string, Buffer>();
  private localPax: Map<string, Buffer> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  /** `subject` starts error messages, e.g. "layer sha256:...". */
  constructor(private readonly subject: string) {
    super();
  }

  /** Checks and rewrites one entry, writing what replaces it with writeEntry; returns whether its body is kept. */
  protected abstract onEntry(entry: TarEntry, rawName: string): boolean;

  protected writeEntry(entry: TarEntry): void {
    this.output(encodeEntry(entry));
  }

  /**
   * Small pieces of output (headers, small files) waiting to be pushed as one buffer, so tar's
   * pipe sees few large writes; large body slices are pushed as they are, never copied.
   */
  private small: Buffer[] = [];
  private smallBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
    } catch (e) {
      callback(e as Error);
      return;
    }
    this.flushSmall();
    callback();
  }

  private output(piece: Buffer): void {
    if (piece.length >= SMALL_PIECE) {
      this.flushSmall();
      this.push(piece);
      return;
    }
    this.small.push(piece);
    this.smallBytes += piece.length;
    if (this.smallBytes >= 4 * SMALL_PIECE) this.flushSmall();
  }

  private flushSmall(): void {
    if (this.small.length === 0) return;
    this.push(this.small.length === 1 ? this.small[0] : Buffer.concat(this.small, this.smallBytes));
    this.small = [];
    this.smallBytes = 0;
  }

  override _flush(callback: TransformCallback): void {
    if (this.state === 'meta' || this.state === 'body' || this.headerFill !== 0) {
      callback(this.fail('the layer tar is truncated'));
      return;
    }
    this.push(Buffer.alloc(2 * BLOCK));
    callback();
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const available = chunk.length - offset;
      switch (this.state) {
        case 'end':
          return;
        case 'body': {
          const n = Math.min(available, this.bodyRemaining);
          if (this.keepBody) this.output(chunk.subarray(offset, offset + n));
          offset += n;
          this.bodyRemaining -= n;
          if (this.bodyRemaining === 0) this.state = 'header';
          break;
        }
        case 'meta': {
          const n = Math.min(available, this.metaRemaining);
          this.metaParts.push(chunk.subarray(offset, offset + n));
          offset += n;
          this.metaRemaining -= n;
          if (this.metaRemaining === 0) {
            this.state = 'header';
            this.finishMeta(Buffer.concat(this.metaParts).subarray(0, this.metaSize));
            this.metaParts = [];
          }
          break;
        }
        case 'header': {
          const n = Math.min(available, BLOCK - this.headerFill);
          chunk.copy(this.header, this.headerFill, offset, offset + n);
          offset += n;
          this.headerFill += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader(this.header);
          }
          break;
        }
      }
    }
  }

  protected fail(what: string): TspodError {
    return new TspodError(`${this.subject}: ${what}`);
  }

  protected entryError(rawName: string, what: string): TspodError {
    return this.fail(`entry "${display(rawName)}" ${what}`);
  }

  private onHeader(block: Buffer): void {
    if (block[0] === 0 && block.every((b) => b === 0)) {
      this.state = 'end';
      return;
    }
    if (!checksumMatches(block)) throw this.fail('invalid tar header (bad checksum)');
    const typeflag = String.fromCharCode(block[156]);
    const size = this.numeric(block, 124, 12);
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_META_SIZE) throw this.fail(`tar extended header of ${size} bytes is too large`);
      this.metaType = typeflag;
      this.metaSize = size;
      this.metaRemaining = padded(size);
      if (this.metaRemaining === 0) this.finishMeta(Buffer.alloc(0));
      else this.state = 'meta';
      return;
    }
    const pax = new Map(this.globalPax);
    for (const [key, value] of this.localPax ?? []) {
      if (value.length === 0) pax.delete(key);
      else pax.set(key, value);
    }
    const rawName = paxString(pax, 'path') ?? this.longName ?? ustarName(block);
    const rawLink = paxString(pax, 'linkpath') ?? this.longLink ?? field(block, 157, 100);
    this.localPax = undefined;
    this.longName = undefined;
    this.longLink = undefined;

    const kind = KIND_OF_TYPEFLAG[typeflag];
    if (kind === undefined) throw this.entryError(rawName, `has an unsupported tar entry type '${display(typeflag)}'`);
    if (pax.size > 0 && [...pax.keys()].some((k) => k.startsWith('GNU.sparse.'))) throw this.entryError(rawName, 'is a sparse file, which is not supported');
    // Types other than regular files carry no data, whatever their size field says (as in Go's reader).
    const inputSize = kind === 'file' ? paxNumber(pax, 'size') ?? size : 0;
    const uid = paxNumber(pax, 'uid') ?? this.numeric(block, 108, 8);
    const gid = paxNumber(pax, 'gid') ?? this.numeric(block, 116, 8);
    if (Number.isNaN(inputSize + uid + gid)) throw this.entryError(rawName, 'has an invalid pax size, uid or gid');
    const entry: TarEntry = {
      name: rawName,
      kind,
      linkname: rawLink,
      mode: this.numeric(block, 100, 8) & 0o7777,
      uid,
      gid,
      mtime: this.numeric(block, 136, 12),
      size: inputSize,
      devmajor: this.numeric(block, 329, 8),
      devminor: this.numeric(block, 337, 8),
      owners: Buffer.from(block.subarray(265, 329)),
      pax: withoutRegenerated(pax),
    };
    this.keepBody = this.onEntry(entry, rawName);
    this.bodyRemaining = padded(inputSize);
    if (this.bodyRemaining > 0) this.state = 'body';
  }

  private finishMeta(data: Buffer): void {
    switch (this.metaType) {
      case 'x':
        this.localPax = this.parsePax(data);
        break;
      case 'g':
        for (const [key, value] of this.parsePax(data)) {
          if (value.length === 0) this.globalPax.delete(key);
          else if (key !== 'comment') this.globalPax.set(key, value);
        }
        break;
      case 'L':
        this.longName = cString(data);
        break;
      case 'K':
        this.longLink = cString(data);
        break;
    }
  }

  private parsePax(data: Buffer): Map<string, Buffer> {
    const records = new Map<string, Buffer>();
    let pos = 0;
    while (pos < data.length) {
      const space = data.indexOf(0x20, pos);
      const length = space > pos ? Number(data.toString('latin1', pos, space)) : NaN;
      const end = pos + length;
      if (!Number.isInteger(length) || length <= space - pos || end > data.length || data[end - 1] !== 0x0a) {
        if (data.subarray(pos).every((b) => b === 0)) break;
        throw this.fail('invalid pax extended header');
      }
      const equals = data.indexOf(0x3d, space + 1);
      if (equals < 0 || equals >= end) throw this.fail('invalid pax extended header');
      records.set(data.toString('latin1', space + 1, equals), Buffer.from(data.subarray(equals + 1, end - 1)));
      pos = end;
    }
    return records;
  }

  private numeric(block: Buffer, offset: number, length: number): number {
    const value = parseNumeric(block.subarray(offset, offset + length));
    if (value === undefined) throw this.fail('invalid tar header (bad number)');
    return value;
  }
}

class LayerSanitizer extends TarRewriter {
  private readonly rootless: boolean;
  /** What each path of this layer is so far: for hardlink targets and symlink checks. */
  private readonly kinds = new Map<string, Kind>();
  /** Paths that were ever a symlink in this layer: nothing may go through them. */
  private readonly symlinks = new Set<string>();
  /** Paths dropped on purpose (devices when rootless, AUFS metadata): hardlinks to them go too. */
  private readonly dropped = new Set<string>();
  /** Directory entries written so far, to repeat one with the opaque xattr. */
  private readonly dirs = new Map<string, TarEntry>();
  private readonly opaque = new Set<string>();

  constructor(opts: SanitizeOptions) {
    super(opts.label ?? `layer ${opts.digest}`);
    this.rootless = opts.rootless;
  }

  protected onEntry(entry: TarEntry, rawName: string): boolean {
    entry.pax = filterPax(entry.pax);
    if (rawName.includes('\0') || entry.linkname.includes('\0')) throw this.entryError(rawName, 'has a NUL byte in its name');
    const name = normalize(rawName);
    if (name === undefined) throw this.entryError(rawName, 'escapes the layer root');
    if (name === '' && entry.kind !== 'dir') throw this.entryError(rawName, 'is not a valid name');
    entry.name = name;

    const base = name.slice(name.lastIndexOf('/') + 1);
    const parent = name.slice(0, Math.max(0, name.lastIndexOf('/')));
    if (name.split('/').some((c) => c.startsWith(METADATA_PREFIX) && c !== OPAQUE_MARKER)) {
      this.dropped.add(name);
      return false;
    }
    this.checkNoSymlinkParent(name, rawName);

    if (base === OPAQUE_MARKER) {
      this.markOpaque(parent, entry, rawName);
      return false;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw this.entryError(rawName, 'is not a valid whiteout');
      const target = parent === '' ? hidden : `${parent}/${hidden}`;
      this.emitEntry({ ...entry, name: target, kind: 'char', linkname: '', mode: 0, size: 0, devmajor: 0, devminor: 0, pax: new Map() });
      return false;
    }

    switch (entry.kind) {
      case 'dir':
        if (this.symlinks.has(name)) throw this.entryError(rawName, 'replaces a symlink of this layer with a directory');
        if (this.opaque.has(name)) entry.pax.set(OPAQUE_XATTR, Buffer.from('y'));
        this.dirs.set(name, entry);
        break;
      case 'hardlink': {
        const target = normalize(entry.linkname);
        if (target === undefined || target === '') throw this.entryError(rawName, `links to "${display(entry.linkname)}", which escapes the layer root`);
        this.checkNoSymlinkParent(target, rawName);
        if (this.dropped.has(target)) {
          this.dropped.add(name);
          return false;
        }
        const targetKind = this.kinds.get(target);
        if (targetKind === undefined) throw this.entryError(rawName, `links to "${display(entry.linkname)}", which is not earlier in this layer`);
        if (targetKind === 'dir') throw this.entryError(rawName, `links to directory "${display(entry.linkname)}"`);
        entry.linkname = target;
        break;
      }
      case 'symlink':
        this.symlinks.add(name);
        break;
      case 'char':
      case 'block':
        if (this.rootless && !(entry.kind === 'char' && entry.devmajor === 0 && entry.devminor === 0)) {
          this.dropped.add(name);
          this.kinds.delete(name);
          return false;
        }
        break;
      case 'file':
      case 'fifo':
        break;
    }
    this.emitEntry(entry);
    return true;
  }

  /** Rejects `name` if one of its parent directories is a symlink declared by this layer. */
  private checkNoSymlinkParent(name: string, rawName: string): void {
    if (this.symlinks.size === 0) return;
    for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
      const prefix = name.slice(0, slash);
      if (this.symlinks.has(prefix)) throw this.entryError(rawName, `escapes the layer root through symlink "${display(prefix)}"`);
    }
  }

  /**
   * The directory's entry usually came first and has been written already: write it again with
   * the xattr (tar applies a repeated directory's metadata to the existing one). Without an
   * entry of its own so far, write one with the marker's owner, and add the xattr to a later one.
   */
  private markOpaque(dir: string, marker: TarEntry, rawName: string): void {
    if (this.symlinks.has(dir)) throw this.entryError(rawName, 'makes a symlink of this layer opaque');
    this.opaque.add(dir);
    const known = this.dirs.get(dir);
    const entry: TarEntry = known ?? { ...marker, name: dir, kind: 'dir', linkname: '', mode: 0o755, size: 0, pax: new Map() };
    entry.pax.set(OPAQUE_XATTR, Buffer.from('y'));
    this.dirs.set(dir, entry);
    this.emitEntry(entry);
  }

  private emitEntry(entry: TarEntry): void {
    this.kinds.set(entry.name, entry.kind);
    this.dropped.delete(entry.name);
    this.writeEntry(entry);
  }
}

/** "a/./b/../c/" -> "a/c"; undefined when absolute or when ".." climbs above the root. */
export function normalize(name: string): string | undefined {
  if (name.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** A name as the user would write it (raw bytes shown as UTF-8). */
function display(raw: string): string {
  return Buffer.from(raw, 'latin1').toString('utf8');
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('latin1', 0, nul < 0 ? data.length : nul);
}

function field(block: Buffer, offset: number, length: number): string {
  return cString(block.subarray(offset, offset + length));
}

/** Name of a ustar, GNU or v7 header; only POSIX ustar has the prefix field. */
function ustarName(block: Buffer): string {
  const name = field(block, 0, 100);
  const posix = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = posix ? field(block, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** Octal (space/NUL padded) or GNU base-256 number; undefined when malformed or negative. */
export function parseNumeric(bytes: Buffer): number | undefined {
  if (bytes[0] & 0x80) {
    if (bytes[0] !== 0x80) return undefined;
    let value = 0;
    for (let i = 1; i < bytes.length; i++) value = value * 256 + bytes[i];
    return Number.isSafeInteger(value) ? value : undefined;
  }
  let i = 0;
  while (i < bytes.length && bytes[i] === 0x20) i++;
  let value = 0;
  for (; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    value = value * 8 + (c - 0x30);
  }
  for (; i < bytes.length; i++) if (bytes[i] !== 0 && bytes[i] !== 0x20) return undefined;
  return value;
}

function checksumMatches(block: Buffer): boolean {
  const recorded = parseNumeric(block.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return recorded === unsigned || recorded === signed;
}

function paxString(pax: Map<string, Buffer>, key: string): string | undefined {
  return pax.get(key)?.toString('latin1');
}

/** A pax record holding a non-negative integer; NaN when malformed. */
function paxNumber(pax: Map<string, Buffer>, key: string): number | undefined {
  const value = pax.get(key)?.toString('latin1');
  if (value === undefined) return undefined;
  const n = Number(value);
  return /^\d+$/.test(value) && Number.isSafeInteger(n) ? n : NaN;
}

/** pax xattr names extraction may set; see the module comment. */
function xattrAllowed(name: string): boolean {
  if (name.startsWith('user.')) return !name.startsWith('user.overlay.');
  return name === 'security.capability' || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

/** The pax records encodeEntry does not regenerate. */
function withoutRegenerated(pax: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...pax].filter(([key]) => !REGENERATED_KEYS.has(key)));
}

function filterPax(pax: Map<string, Buffer>): Map<string, Buffer> {
  const kept = new Map<string, Buffer>();
  for (const [key, value] of pax) {
    if (key.startsWith('LIBARCHIVE.xattr.') || key === 'RHT.security.selinux') continue;
    if (key.startsWith('SCHILY.xattr.') && !xattrAllowed(key.slice('SCHILY.xattr.'.length))) continue;
    kept.set(key, value);
  }
  return kept;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key, 'latin1') + value.length + 3; // " " "=" "\n"
  let length = body + String(body).length;
  if (String(length).length !== String(body).length) length = body + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`, 'latin1'), value, Buffer.from('\n')]);
}

/** Zero-padded octal in length - 1 digits, then NUL (the buffer is zero-filled). */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  for (let i = offset + length - 2; i >= offset; i--) {
    block[i] = 0x30 + (value % 8);
    value = Math.floor(value / 8);
  }
}

/** A canonical ustar header, preceded by a pax header when names or numbers do not fit. */
function encodeEntry(entry: TarEntry): Buffer {
  const records = [...entry.pax].map(([key, value]) => paxRecord(key, value));
  let name = entry.name === '' ? '.' : entry.name;
  if (entry.kind === 'dir') name += '/';
  const fits = (s: string) => Buffer.byteLength(s, 'latin1') <= 100;
  if (!fits(name)) records.push(paxRecord('path', Buffer.from(name, 'latin1')));
  if (!fits(entry.linkname)) records.push(paxRecord('linkpath', Buffer.from(entry.linkname, 'latin1')));
  if (entry.uid > OCTAL_7) records.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (entry.gid > OCTAL_7) records.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  if (entry.size > OCTAL_11) records.push(paxRecord('size', Buffer.from(String(entry.size))));

  const header = ustarHeader({
    name: fits(name) ? name : name.slice(0, 99),
    typeflag: TYPEFLAG_OF_KIND[entry.kind],
    linkname: fits(entry.linkname) ? entry.linkname : '',
    mode: entry.mode,
    uid: entry.uid > OCTAL_7 ? 0 : entry.uid,
    gid: entry.gid > OCTAL_7 ? 0 : entry.gid,
    size: entry.size > OCTAL_11 ? 0 : entry.size,
    mtime: Math.min(entry.mtime, OCTAL_11),
    devmajor: Math.min(entry.devmajor, OCTAL_7),
    devminor: Math.min(entry.devminor, OCTAL_7),
    owners: entry.owners,
  });
  if (records.length === 0) return header;
  const data = Buffer.concat(records);
  const paxHeader = ustarHeader({
    name: 'PaxHeader',
    typeflag: 'x',
    linkname: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(padded(data.length) - data.length), header]);
}

interface UstarFields {
  name: string;
  typeflag: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  owners?: Buffer;
}

function ustarHeader(f: UstarFields): Buffer {
  const block = Buffer.allocUnsafe(BLOCK).fill(0); // from the pool: cheaper than Buffer.alloc
  block.write(f.name, 0, 100, 'latin1');
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, f.uid);
  writeOctal(block, 116, 8, f.gid);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  block.write(f.typeflag, 156, 1, 'latin1');
  block.write(f.linkname, 157, 100, 'latin1');
  block.write('ustar\x0000', 257, 8, 'latin1');
  f.owners?.copy(block, 265);
  writeOctal(block, 329, 8, f.devmajor);
  writeOctal(block, 337, 8, f.devminor);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  writeOctal(block, 148, 7, sum); // six digits, NUL, and the space left by fill()
  block[154] = 0;
  return block;
}
