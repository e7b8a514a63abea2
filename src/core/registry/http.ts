/** The small HTTP layer under the registry client: one request, body reading, error wording. */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { TspodError } from '../errors.js';

const TLS_HINT = "add the registry's CA certificate, or use --tls-verify=false if you trust the network";

export interface SendOptions {
  headers?: Record<string, string>;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  /** Socket inactivity limit, for the headers and for every later read of the body. */
  timeoutMs: number;
  /** default GET */
  method?: string;
  /** A request body: bytes, or a stream (uploads), whose failure aborts the request. */
  body?: Buffer | Readable;
}

/** One request, no redirects, no retries; resolves when the response headers arrive. */
export function send(url: URL, opts: SendOptions): Promise<http.IncomingMessage> {
  const isHttps = url.protocol === 'https:';
  const request = isHttps ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: { 'User-Agent': 'tspod', ...opts.headers },
      agent: isHttps ? opts.httpsAgent : opts.httpAgent,
    });
    req.setTimeout(opts.timeoutMs, () => {
      req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    });
    req.once('response', resolve);
    req.once('error', reject);
    const { body } = opts;
    if (body === undefined || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    // A failed body (or request) destroys the other: no half-read file stays open.
    pipeline(body, req, () => undefined);
  });
}

/** Reads a whole body, refusing more than `maxBytes` (`what` names it in the error). */
export async function readBody(res: http.IncomingMessage, maxBytes: number, what: string, host: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  const tooBig = () => new TspodError(`${what} is larger than ${maxBytes} bytes`, 'refusing to read it');
  if (declared > maxBytes) {
    res.destroy();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        throw tooBig();
      }
      chunks.push(chunk);
    }
  } catch (e) {
    throw networkError(e, host);
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need, so the keep-alive socket can be reused. */
export function discard(res: http.IncomingMessage): void {
  res.resume();
  res.on('error', () => {});
}

function errorCode(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : '';
}

/** The peer does not speak TLS (typically a plain-HTTP registry), as opposed to an untrusted certificate. */
export function isTlsProtocolError(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'EPROTO' || code.startsWith('ERR_SSL_');
}

const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'name resolution failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
};

/** Words a transport failure for the user; TspodErrors pass through unchanged. */
export function networkError(e: unknown, host: string): TspodError {
  if (e instanceof TspodError) return e;
  const code = errorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (CERT_ERRORS.has(code)) {
    return new TspodError(`TLS certificate of registry ${host} is not trusted (${message})`, TLS_HINT);
  }
  if (isTlsProtocolError(e)) {
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;
    return new TspodError(`TLS handshake with registry ${host} failed (${reason})`, 'if it serves plain HTTP, use --tls-verify=false');
  }
  const reason = NETWORK_REASONS[code] ?? (message === 'aborted' ? 'connection reset' : message);
  return new TspodError(`cannot reach registry ${host}: ${reason}`);
}

/** localhost, 127.0.0.0/8 and ::1: where Docker accepts plain HTTP without being told. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : net.isIPv6(host) ? host : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || (net.isIPv4(name) && name.startsWith('127.'));
}
