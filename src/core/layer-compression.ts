/**
 * Streams that decompress and compress layer blobs: gzip with zlib, zstd with the zstd tool
 * (Node 20's zlib has no zstd; the tool is fast and everywhere).
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { createGzip, createGunzip } from 'node:zlib';
import { TspodError } from './errors.js';
import { layerCompression, type LayerCompression } from './registry/index.js';

/** Larger output chunks than zlib's 16 KiB: a quarter less CPU on the pipeline's one thread. */
const ZLIB_CHUNK = 64 * 1024;

export function decompressor(mediaType: string): Duplex {
  switch (layerCompression(mediaType)) {
    case 'gzip':
      return createGunzip({ chunkSize: ZLIB_CHUNK });
    case 'none':
      return new PassThrough();
    case 'zstd':
      return zstd(['-dcq'], 'decompress');
  }
}

export function compressor(compression: LayerCompression): Duplex {
  switch (compression) {
    case 'gzip':
      return createGzip({ chunkSize: ZLIB_CHUNK });
    case 'none':
      return new PassThrough();
    case 'zstd':
      return zstd(['-cq', '-3'], 'compress');
  }
}

function zstd(args: string[], verb: string): Duplex {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const duplex = Duplex.from({ writable: child.stdin!, readable: child.stdout! });
  child.on('error', (e) => duplex.destroy(new TspodError(`cannot run zstd: ${e.message}`, 'apt-get install zstd')));
  child.on('close', (code) => {
    if (code) duplex.destroy(new TspodError(`zstd failed to ${verb} a layer: ${stderr.trim().split('\n')[0]}`));
  });
  return duplex;
}
