/**
 * A loopback HTTP proxy in front of a plain-HTTP test registry that records every request (so a
 * test can count blob downloads) and, on demand, stalls blob bodies part way: it forwards the
 * first `stallAfter` bytes and then holds the connection open without sending more, which puts
 * a pull reliably in the middle of a download (to kill it there).
 */
import http from 'node:http';
import type net from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
}

export interface RecordingProxy {
  /** host:port of the proxy */
  host: string;
  url: string;
  requests: RecordedRequest[];
  /** Successful GETs of the blob `digest` (any repository). */
  blobGets(digest: string): number;
  /** Forward only this many bytes of each blob body, then hold; undefined: forward everything. */
  stallAfter?: number;
  /** Resolves once a blob body has been held back (stallAfter reached). */
  stalled(): Promise<void>;
  stop(): void;
}

const BLOB_PATH = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  if (target.protocol !== 'http:') throw new Error('the recording proxy only fronts plain-HTTP registries');
  const agent = new http.Agent({ keepAlive: true });
  let signalStall: () => void = () => undefined;
  const stallSeen = new Promise<void>((resolve) => (signalStall = resolve));

  const server = http.createServer((req, res) => {
    const urlPath = req.url!.split('?')[0]!;
    const isBlob = req.method === 'GET' && BLOB_PATH.test(urlPath);
    // The Host header is passed on unchanged, so Location headers the registry builds point back here.
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent }, (upRes) => {
      proxy.requests.push({ method: req.method!, path: urlPath, status: upRes.statusCode! });
      res.writeHead(upRes.statusCode!, upRes.headers);
      const limit = proxy.stallAfter;
      if (!isBlob || upRes.statusCode !== 200 || limit === undefined) {
        upRes.pipe(res);
        return;
      }
      let sent = 0;
      upRes.on('data', (chunk: Buffer) => {
        if (sent >= limit) return;
        const part = chunk.subarray(0, limit - sent);
        sent += part.length;
        res.write(part);
        if (sent >= limit) {
          upRes.pause();
          signalStall();
        }
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const proxy: RecordingProxy = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests: [],
    blobGets: (digest) => proxy.requests.filter((r) => r.method === 'GET' && r.status === 200 && BLOB_PATH.exec(r.path)?.[1] === digest).length,
    stalled: () => stallSeen,
    stop() {
      server.close();
      server.closeAllConnections();
      agent.destroy();
    },
  };
  return proxy;
}
