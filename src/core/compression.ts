/** Layer (de)compression by media type: gzip with zlib, zstd (and xz) with their tools (Node 20's zlib has none). */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TspodError } from './errors.js';
import { layerCompression } from './registry/index.js';

export function decompressor(mediaType: string): Duplex {
  switch (layerCompression(mediaType)) {
    case 'gzip':
      // Larger output chunks than zlib's 16 KiB: a quarter less CPU on the pipeline's one thread.
      return createGunzip({ chunkSize: 64 * 1024 });
    case 'none':
      return new PassThrough();
    case 'zstd':
      return zstdStream(['-dcq']);
  }
}

/** The zstd tool as a duplex stream: `-dcq` decompresses, `-cq` compresses. */
export function zstdStream(args: string[]): Duplex {
  return toolStream('zstd', args, 'zstd');
}

/** xz decompression with the xz tool (import accepts .tar.xz, as Docker does). */
export function xzDecompressor(): Duplex {
  return toolStream('xz', ['-dcq'], 'xz-utils');
}

function toolStream(tool: string, args: string[], debianPackage: string): Duplex {
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const duplex = Duplex.from({ writable: child.stdin!, readable: child.stdout! });
  child.on('error', (e) => duplex.destroy(new TspodError(`cannot run ${tool}: ${e.message}`, `apt-get install ${debianPackage}`)));
  child.on('close', (code) => {
    if (code) duplex.destroy(new TspodError(`${tool} failed on a layer: ${stderr.trim().split('\n')[0]}`));
  });
  return duplex;
}
