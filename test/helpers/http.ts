/**
 * HTTP in the test process, for unit tests of the request path and the connections: a real
 * node:http server on 127.0.0.1:0 (closed after each test) and a client on a raw socket, so a
 * test decides when it sends, reads and closes.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach } from 'vitest';

const servers = new Set<Server>();
const clients = new Set<Socket>();

afterEach(async () => {
  for (const socket of clients) socket.destroy();
  clients.clear();
  const open = [...servers];
  servers.clear();
  await Promise.all(
    open.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** A server with `listener`, listening on 127.0.0.1 at a free port. */
export async function listen(listener: RequestListener, options: { keepAliveTimeout?: number } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer(listener);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

export interface Answer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** How a connection ended: the server closed it (`end`), or an error such as `ECONNRESET`. */
export type Ending = 'end' | string;

/** A client connection that sends requests when told to and counts what it read. */
export class RawClient {
  /** Bytes read so far. */
  received = 0;
  readonly ended: Promise<Ending>;
  /** What was read and not yet taken as a response (joined only when parsed: a large read costs no copying). */
  private chunks: Buffer[] = [];
  private waiting: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    clients.add(socket);
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.chunks.push(chunk);
      this.waiting?.();
    });
    this.ended = new Promise((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.on('end', () => resolve('end'));
      socket.on('close', () => resolve('end'));
    });
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** Sends a GET on this connection (keep-alive, as HTTP/1.1 is by default). */
  send(path: string, headers: Record<string, string> = {}): void {
    const lines = Object.entries({ host: 'test', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
    this.socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  }

  /** The next response read in full (bodies with a Content-Length only). */
  async answer(): Promise<Answer> {
    for (;;) {
      const parsed = this.parse();
      if (parsed !== null) return parsed;
      await new Promise<void>((resolve, reject) => {
        this.waiting = resolve;
        void this.ended.then((how) => reject(new Error(`the connection ended (${how}) before a whole response: ${this.text()}`)));
      });
    }
  }

  /** What was read and not yet taken as a response, as text. */
  text(): string {
    return this.joined().toString('latin1');
  }

  /** Resolves once `n` bytes in all have been read. */
  async receivedAtLeast(n: number): Promise<void> {
    while (this.received < n) {
      await new Promise<void>((resolve, reject) => {
        this.waiting = resolve;
        void this.ended.then((how) => reject(new Error(`the connection ended (${how}) after ${this.received} of ${n} bytes`)));
      });
    }
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private parse(): Answer | null {
    const buffer = this.joined();
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < end + 4 + length) return null;
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.chunks = [buffer.subarray(end + 4 + length)];
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }
}
