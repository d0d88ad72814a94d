/** `greentrainer status [--url]`: what a running daemon is doing, for humans (or `--json`). */
import type { Daemon } from '../daemon/daemon.js';
import { formatSummary } from './summary.js';

export interface StatusOptions {
  readonly url: string;
  readonly json?: boolean;
}

export async function runStatus(o: StatusOptions): Promise<string> {
  const url = new URL('/v1/status', o.url);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new Error(
      `cannot reach the daemon at ${url}: ${(error as Error).cause ?? (error as Error).message}`,
    );
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const status = (await res.json()) as Daemon['status'];
  return o.json ? JSON.stringify(status, null, 2) : formatSummary(status);
}
