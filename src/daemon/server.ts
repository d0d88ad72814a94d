/**
 * The daemon's HTTP interface on Node's http module: `/` (a read-only status page), `/report.svg`
 * (the run's charts), `/metrics` (Prometheus text), `/healthz`,
 * `/readyz`, `/v1/status`, `/v1/rho` (the decision, for external trainers), and control
 * endpoints (`POST /v1/pause`, `/v1/resume`, `/v1/rho`) that need a bearer token and are off
 * when none is configured. A handler that throws answers 500 and is reported to `onError`; the
 * server itself never goes down with it.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseRhoOverride } from './rho-override.js';
import { STATUS_PAGE } from './status-page.js';

export interface Control {
  status(): unknown;
  /** The run so far as an SVG (`src/report/run-report.ts`). */
  reportSvg(): string;
  decision(): unknown;
  ready(): { ready: boolean; why: string };
  pause(): void;
  resume(): void;
  /** Overrides the policy's ρ for `ttlSeconds` (validated by `parseRhoOverride`). */
  overrideRho(rho: number, ttlSeconds: number): unknown;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly control: Control;
  /** Bearer token for control endpoints (read at call time, so a reload can change it). */
  readonly token: () => string | undefined;
  /** A request failed inside the server (answered 500); the daemon logs and counts it. */
  readonly onError: (error: unknown, request: { method: string; path: string }) => void;
}

export class HttpServer {
  private server: Server | undefined;

  constructor(private readonly o: ServerOptions) {}

  async listen(): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        this.o.onError(error, { method: req.method ?? '?', path: (req.url ?? '/').split('?')[0]! });
        if (res.headersSent) res.destroy();
        else send(res, 500, { error: 'internal error; see the daemon log' });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(listenError(this.o.host, this.o.port, error)));
      server.listen(this.o.port, this.o.host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const c = this.o.control;
    if (req.method === 'GET' || req.method === 'HEAD') {
      switch (path) {
        case '/metrics': {
          const body = await this.o.registry.metrics();
          res.writeHead(200, { 'content-type': this.o.registry.contentType });
          res.end(body);
          return;
        }
        case '/healthz':
          return send(res, 200, { ok: true });
        case '/readyz': {
          const r = c.ready();
          return send(res, r.ready ? 200 : 503, r);
        }
        case '/':
          res.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy':
              "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
          });
          res.end(STATUS_PAGE);
          return;
        case '/report.svg':
          res.writeHead(200, { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store' });
          res.end(c.reportSvg());
          return;
        case '/v1/status':
          return send(res, 200, c.status());
        case '/v1/rho':
          return send(res, 200, c.decision());
      }
      return send(res, 404, { error: `no such endpoint: ${path}` });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    if (!['/v1/pause', '/v1/resume', '/v1/rho'].includes(path))
      return send(res, 404, { error: `no such endpoint: ${path}` });
    const token = this.o.token();
    if (!token)
      return send(res, 403, { error: 'control endpoints are off: configure server.token_file or token_env' });
    if (!authorised(req.headers.authorization, token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, { error: 'missing or wrong bearer token' });
    }
    if (path === '/v1/pause') {
      c.pause();
      return send(res, 200, c.decision());
    }
    if (path === '/v1/resume') {
      c.resume();
      return send(res, 200, c.decision());
    }
    const override = parseRhoOverride(await readJson(req));
    if ('error' in override) return send(res, 400, { error: override.error });
    return send(res, 200, c.overrideRho(override.rho, override.ttlSeconds));
  }
}

function authorised(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 65_536) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Node's listen errors, as what to change in `server.listen`. */
function listenError(host: string, port: number, error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE'
      ? 'the port is in use by another process'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve'
        : code === 'EADDRNOTAVAIL'
          ? 'the host is not an address of this machine'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : (code ?? error.message);
  return new Error(`server.listen ${host}:${port}: cannot listen: ${why}`, { cause: error });
}
