import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, Server, Socket } from 'node:net';
import type { TestCa } from './test-registry';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface FakeServer {
  /** "127.0.0.1:<port>" */
  host: string;
  /** Every request it received, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTPS server on loopback with the test CA's certificate that answers as `handle` says. */
export async function startHttpsServer(ca: TestCa, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createHttpsServer({ cert: readFileSync(ca.certFile), key: readFileSync(ca.keyFile) }, (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    handle(req, res);
  });
  return listen(server, requests);
}

/** Accepts connections and never says a word: neither a TLS handshake nor an HTTP answer. */
export async function startSilentServer(): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const fake = await listen(server, []);
  return {
    ...fake,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await fake.close();
    },
  };
}

async function listen(server: Server, requests: RecordedRequest[]): Promise<FakeServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
