/** Test helpers: a daemon config around a tiny job, a daemon child process, and HTTP calls. */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { testBackend } from './backend.js';
import { type TinyModel, tinyJob } from './tiny-job.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A trace alternating between a clean (ρ 1 → capped 0.9) and a dirty (ρ 0.6) level every 30 trace minutes. */
export function writeTrace(file: string, points = 48): void {
  const start = Date.UTC(2026, 0, 1);
  const rows = Array.from(
    { length: points },
    (_, i) => `${new Date(start + i * 1_800_000).toISOString()},${i % 2 ? 300 : 100}`,
  );
  writeFileSync(file, `time,intensity\n${rows.join('\n')}\n`);
}

export interface DaemonSetup {
  readonly dir: string;
  readonly configFile: string;
  readonly port: number;
  readonly url: string;
  readonly token: string;
  config(extra?: string): string;
}

/** A tiny job with many steps, a fast trace (30 trace minutes = 3 s), polled every second. */
export async function daemonSetup(kind: TinyModel = 'opt'): Promise<DaemonSetup> {
  const job = tinyJob('', 400, kind);
  const port = await freePort();
  writeTrace(join(job.dir, 'trace.csv'));
  const token = 'tok-3f9a8c1d2e7b';
  writeFileSync(join(job.dir, 'token'), `${token}\n`);
  const config = (policyExtra = '') => `carbon:
  provider: trace
  file: trace.csv
  speed: 600
  poll: "* * * * * *"
  stale_after: 10m
policy:
  map: { type: steps, default: 0.9, steps: [[200, 0.6]] }
  rho_min: 0.5
${policyExtra}job:
  name: tiny
  model: model
  dataset: { path: data }
  rho: 0.6
  train: { epochs: 50, batch_size: 4, lr: 1.0e-3, max_input_length: 48, max_output_length: 8 }
  selection: { interval_steps: 1000 }
  checkpoint: { every_steps: 20, keep: 2 }
  eval: { beams: 1, max_new_tokens: 4, samples: 2 }
  output: run
server: { listen: 127.0.0.1:${port}, token_file: token }
logging: { level: info, format: json }
energy: { method: estimate }
shutdown_timeout: 20s
`;
  const configFile = join(job.dir, 'daemon.yaml');
  writeFileSync(configFile, config());
  return { dir: job.dir, configFile, port, url: `http://127.0.0.1:${port}`, token, config };
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Every line the daemon wrote to stdout and stderr. */
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the daemon on the suite's backend, or on `o.backend`. */
export function startDaemon(configFile: string, o: { backend?: string } = {}): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'daemon', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GREENTRAINER_BACKEND: o.backend ?? testBackend() },
  });
  const output: string[] = [];
  const collect = (d: Buffer) => output.push(...String(d).split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

/** JSON log records among the output lines. */
export function logRecords(p: DaemonProcess): Array<Record<string, unknown>> {
  return p.output.flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Prometheus text → value of one series (labels matched as a substring), or undefined. */
export function metric(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}
