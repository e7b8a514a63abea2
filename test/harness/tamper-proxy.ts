/**
 * A loopback HTTP proxy in front of a plain-HTTP test registry that corrupts content: for GETs
 * whose path matches `match` (default: blobs) and that succeed, it flips one bit in the middle
 * of the body and keeps the length, so only digest verification can notice.
 */
import http from 'node:http';
import type net from 'node:net';

export interface TamperProxy {
  /** host:port of the proxy */
  host: string;
  url: string;
  /** Bodies corrupted so far. */
  tampered: number;
  stop(): void;
}

export async function startTamperProxy(upstream: string, opts: { match?: RegExp } = {}): Promise<TamperProxy> {
  const target = new URL(upstream);
  if (target.protocol !== 'http:') throw new Error('the tamper proxy only fronts plain-HTTP registries');
  const match = opts.match ?? /^\/v2\/.+\/blobs\/[a-z0-9]+:[a-f0-9]+$/;
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const tamper = req.method === 'GET' && match.test(req.url!.split('?')[0]!);
    // The Host header is passed on unchanged, so Location headers the registry builds point back here.
    const up = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent },
      (upRes) => {
        if (!tamper || upRes.statusCode !== 200) {
          res.writeHead(upRes.statusCode!, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.length > 0) {
            body[body.length >> 1]! ^= 0x01;
            proxy.tampered++;
          }
          res.writeHead(200, upRes.headers);
          res.end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const proxy: TamperProxy = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    tampered: 0,
    stop() {
      server.close();
      server.closeAllConnections();
      agent.destroy();
    },
  };
  return proxy;
}
