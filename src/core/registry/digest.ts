/** Content digests (`algorithm:hex`): validation and verification of bytes and streams. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TspodError } from '../errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True for the digests tspod can verify. Anything else must never reach a path or URL. */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

export function parseDigest(s: string): { algorithm: DigestAlgorithm; hex: string } {
  if (!isDigest(s)) {
    throw new TspodError(`invalid digest "${s}"`, 'expected sha256:<64 hex digits> or sha512:<128 hex digits>');
  }
  const [algorithm, hex] = s.split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

export function digestOf(data: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

function mismatchError(expected: string, actual: string): TspodError {
  return new TspodError(`digest mismatch for ${expected}`, `the content received hashes to ${actual}`);
}

/** Throws unless `data` hashes to `expected` (with `expected`'s algorithm). */
export function verifyBytes(data: Buffer, expected: string): void {
  const actual = digestOf(data, parseDigest(expected).algorithm);
  if (actual !== expected) throw mismatchError(expected, actual);
}

/**
 * A pass-through that hashes what flows by and fails the stream, naming the digest, if the
 * content turns out not to match: as soon as it exceeds `expectedSize`, or at the end if the
 * size or the hash differs. Consumers must not trust the data before the stream has finished.
 */
export function verifyingStream(expectedDigest: string, expectedSize?: number): Transform {
  const { algorithm } = parseDigest(expectedDigest);
  const hash: Hash = createHash(algorithm);
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      if (expectedSize !== undefined && size > expectedSize) {
        callback(new TspodError(`size mismatch for ${expectedDigest}`, `expected ${expectedSize} bytes, received more`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      if (expectedSize !== undefined && size !== expectedSize) {
        callback(new TspodError(`size mismatch for ${expectedDigest}`, `expected ${expectedSize} bytes, received ${size}`));
        return;
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      callback(actual === expectedDigest ? null : mismatchError(expectedDigest, actual));
    },
  });
}

/** A pass-through that hashes and counts what flows by, for content whose digest is not known yet. */
export interface DigestingStream extends Transform {
  /** valid once the stream has ended */
  digest(): string;
  size(): number;
}

export function digestingStream(algorithm: DigestAlgorithm = 'sha256'): DigestingStream {
  const hash: Hash = createHash(algorithm);
  let size = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      size += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      digest = `${algorithm}:${hash.digest('hex')}`;
      callback();
    },
  });
  return Object.assign(stream, {
    digest: () => {
      if (!digest) throw new Error('digestingStream: digest read before the end of the stream');
      return digest;
    },
    size: () => size,
  });
}
