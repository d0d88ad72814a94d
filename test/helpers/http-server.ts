/**
 * A real HTTP server on 127.0.0.1 for provider tests: routes by path (query ignored) serve
 * recorded bodies or failures (status, Retry-After, hang, truncated JSON, HTML), and every request
 * is recorded so that tests can count them and read their headers.
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
}

export interface RecordedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

export class TestServer {
  readonly requests: RecordedRequest[] = [];
  /** Path → route, or a function of the request (for sequences such as expired tokens). */
  routes = new Map<string, Route | ((r: RecordedRequest) => Route)>();
  #server: Server | undefined;
  #hanging: ServerResponse[] = [];

  get url(): string {
    const address = this.#server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded = { path: url.pathname, query: url.searchParams, headers: req.headers };
      this.requests.push(recorded);
      const entry = this.routes.get(url.pathname);
      const route =
        typeof entry === 'function'
          ? entry(recorded)
          : (entry ?? { status: 404, body: { error: 'no route' } });
      if (route.hang) {
        this.#hanging.push(res);
        return;
      }
      const body = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? null);
      res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers });
      res.end(route.status === 204 ? undefined : body);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#hanging = [];
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

/** A base URL on which nothing listens: a port that was free a moment ago. */
export async function refusedUrl(): Promise<string> {
  const s = await new TestServer().start();
  const url = s.url;
  await s.stop();
  return url;
}
