/**
 * A real HTTP server on 127.0.0.1 for provider tests: routes by path (query ignored) serve
 * recorded bodies or failures (status, Retry-After, hang, slow headers, a trickling or huge body,
 * a reset connection, truncated JSON, HTML), and every request is recorded so that tests can count
 * them, read their headers and see how many were in flight at once.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  readonly status?: number;
  /** A string is sent as it is; anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Never answer (the client must time out). */
  readonly hang?: boolean;
  /** Send the headers only after this long. */
  readonly delayMs?: number;
  /** Send the headers at once, then one space every `trickleMs`, forever. */
  readonly trickleMs?: number;
  /** Stream this many bytes of JSON whitespace, then `{}`. */
  readonly bytes?: number;
  /** Destroy the connection without answering. */
  readonly reset?: boolean;
}

export interface RecordedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

export class TestServer {
  readonly requests: RecordedRequest[] = [];
  /** Path → route, or a function of the request (for sequences such as expired tokens). */
  routes = new Map<string, Route | ((r: RecordedRequest) => Route)>();
  /** Requests being answered now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  #server: Server | undefined;
  #open = new Set<ServerResponse>();

  get url(): string {
    const address = this.#server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded = { path: url.pathname, query: url.searchParams, headers: req.headers, at: Date.now() };
      this.requests.push(recorded);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      this.#open.add(res);
      res.once('close', () => {
        this.inFlight--;
        this.#open.delete(res);
      });
      const entry = this.routes.get(url.pathname);
      const route =
        typeof entry === 'function'
          ? entry(recorded)
          : (entry ?? { status: 404, body: { error: 'no route' } });
      answer(res, route);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  async stop(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

function answer(res: ServerResponse, route: Route): void {
  if (route.hang) return;
  if (route.reset) {
    res.socket?.destroy();
    return;
  }
  if (route.delayMs !== undefined) {
    const timer = setTimeout(() => answer(res, { ...route, delayMs: undefined }), route.delayMs);
    res.once('close', () => clearTimeout(timer));
    return;
  }
  res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers });
  if (route.trickleMs !== undefined) {
    const timer = setInterval(() => res.write(' '), route.trickleMs);
    res.once('close', () => clearInterval(timer));
    return;
  }
  if (route.bytes !== undefined) return void streamBytes(res, route.bytes);
  const body = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? null);
  res.end(route.status === 204 ? undefined : body);
}

/** Writes `total` bytes of spaces in 64 kB chunks, respecting backpressure, then `{}`. */
function streamBytes(res: ServerResponse, total: number): void {
  const chunk = Buffer.alloc(65_536, 0x20);
  let left = total;
  const write = () => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', write);
    }
    if (!res.destroyed) res.end('{}');
  };
  write();
}

/** A base URL on which nothing listens: a port that was free a moment ago. */
export async function refusedUrl(): Promise<string> {
  const s = await new TestServer().start();
  const url = s.url;
  await s.stop();
  return url;
}
