/**
 * Reads a small file of a container's root filesystem straight from its layers (the upper dir
 * first, then the image's layers top down), honouring overlay whiteouts. The merged mount lives
 * in the user namespace's mount namespace, invisible to this process. Opaque directories are not
 * consulted (Node cannot read xattrs): a layer that makes /etc opaque ships its own /etc/passwd.
 */
import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';

function isWhiteout(p: string): boolean {
  try {
    const st = lstatSync(p);
    return st.isCharacterDevice() && st.rdev === 0;
  } catch {
    return false;
  }
}

/** `layers` top first; `file` relative to the rootfs, e.g. "etc/passwd". Undefined if absent. */
export function readRootfsFile(layers: string[], file: string): string | undefined {
  const parts = file.split('/').filter(Boolean);
  for (const layer of layers) {
    for (let i = 1; i <= parts.length; i++) {
      if (isWhiteout(path.join(layer, ...parts.slice(0, i)))) return undefined;
    }
    try {
      return readFileSync(path.join(layer, ...parts), 'utf8');
    } catch {
      // not in this layer
    }
  }
  return undefined;
}
