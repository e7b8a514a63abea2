/**
 * A container's changes as an OCI layer: the tar of its overlay upper dir, with overlay's own
 * markers turned into OCI whiteouts, as Docker and Podman write them:
 * - a whiteout (character device 0/0) "dir/name" becomes an empty file "dir/.wh.name";
 * - an opaque directory (xattr user.overlay.opaque or trusted.overlay.opaque = y, or
 *   fuse-overlayfs' user.fuseoverlayfs.opaque) is followed by an empty file "dir/.wh..wh..opq";
 * - overlay's bookkeeping xattrs (*.overlay.*, user.fuseoverlayfs.*) are dropped.
 * fuse-overlayfs' fallback whiteouts, already ".wh." files, pass through as they are.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { normalize, TarRewriter, type TarEntry } from './layer-sanitize.js';
import type { NamespaceContext } from '../namespaces/userns.js';
import { tarDirectory } from '../namespaces/archive.js';

const OPAQUE_XATTRS = ['SCHILY.xattr.user.overlay.opaque', 'SCHILY.xattr.trusted.overlay.opaque', 'SCHILY.xattr.user.fuseoverlayfs.opaque'];
const OVERLAY_XATTR = /^SCHILY\.xattr\.(?:(?:user|trusted)\.overlay\.|user\.fuseoverlayfs\.)/;

class OverlayToOci extends TarRewriter {
  protected onEntry(entry: TarEntry, rawName: string): boolean {
    const name = normalize(rawName);
    if (name === undefined) throw this.entryError(rawName, 'escapes the directory');
    // The upper dir itself: its owner and mode are the image's root, not a change.
    if (name === '') return false;
    const opaque = OPAQUE_XATTRS.some((key) => entry.pax.get(key)?.toString('latin1') === 'y');
    const pax = new Map([...entry.pax].filter(([key]) => !OVERLAY_XATTR.test(key)));
    const marker = (markerName: string): TarEntry => ({ ...entry, name: markerName, kind: 'file', linkname: '', mode: 0o600, size: 0, devmajor: 0, devminor: 0, pax: new Map() });
    if (entry.kind === 'char' && entry.devmajor === 0 && entry.devminor === 0) {
      this.writeEntry(marker(path.posix.join(path.posix.dirname(name), `.wh.${path.posix.basename(name)}`)));
      return false;
    }
    const linkname = entry.kind === 'hardlink' ? normalize(entry.linkname) : entry.linkname;
    if (linkname === undefined) throw this.entryError(rawName, 'links outside the directory');
    this.writeEntry({ ...entry, name, linkname, pax });
    if (entry.kind === 'dir' && opaque) this.writeEntry(marker(`${name}/.wh..wh..opq`));
    return true;
  }
}

/** The upper dir `upper` as a gzip-compressed OCI layer tar (read inside the namespace). */
export function upperDirLayer(ns: NamespaceContext, upper: string, subject: string): Readable {
  return pipeline(tarDirectory(ns, upper), new OverlayToOci(subject), createGzip(), () => undefined);
}
