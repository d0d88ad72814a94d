/** `greentrainer status [--url]`: what a running daemon is doing, for humans (or `--json`). */
import type { Daemon } from '../daemon/daemon.js';
import { formatSummary } from './summary.js';

export interface StatusOptions {
  readonly url: string;
  readonly json?: boolean;
}

export async function runStatus(o: StatusOptions): Promise<string> {
  const url = statusUrl(o.url);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new Error(`cannot reach the daemon at ${url}: ${reachError(error as Error)}`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const status = (await res.json()) as Daemon['status'];
  return o.json ? JSON.stringify(status, null, 2) : formatSummary(status);
}

/** `--url` → its /v1/status; refuses credentials (the endpoint needs none) without echoing them. */
function statusUrl(text: string): URL {
  const shown = text.replace(/\/\/[^/@]*@/, '//[redacted]@');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `--url ${shown}: expected http://host:port with a port ≤ 65535 (e.g. http://127.0.0.1:9464)`,
    );
  }
  if (url.username !== '' || url.password !== '')
    throw new Error(`--url ${shown}: remove the credentials; /v1/status needs none`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`--url ${shown}: expected an http:// or https:// URL`);
  return new URL('/v1/status', url);
}

/** fetch's "fetch failed", as the reason under it. */
function reachError(error: Error): string {
  if (error.name === 'TimeoutError') return 'no answer within 5 s';
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  const code = cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the daemon running, on this port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return code ?? cause?.message ?? error.message;
}
