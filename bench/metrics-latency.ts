/**
 * `/metrics` latency while the daemon trains: starts the daemon on a tiny model and a replayed
 * trace (the e2e test's setup), waits until it trains, then scrapes 200 times and prints the
 * latency percentiles. The target is p99 < 100 ms: training runs in the trainer process, so a
 * long step never blocks the daemon's event loop.
 *
 *   npm run bench:metrics [-- --json]
 */

import { initBackend } from '../src/backend/select.js';
import { daemonSetup, getJson, startDaemon, until } from '../test/helpers/daemon.js';
import { benchArgs } from './args.js';

const flags = benchArgs(
  `npm run bench:metrics [-- --json]: /metrics latency (200 scrapes) while the daemon trains a tiny model
on a replayed trace; the target is p99 < 100 ms.
  --json   one JSON object instead of the table`,
  { json: { type: 'boolean' } },
);

const json = flags.json === true;
await initBackend({ backend: 'wasm' });
const s = await daemonSetup();
const d = startDaemon(s.configFile);
try {
  await until(
    'training',
    async () => ((await getJson(`${s.url}/v1/status`)).body as { job: { step: number } }).job.step > 5,
    120_000,
  );
  const ms: number[] = [];
  let steps = 0;
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const res = await fetch(`${s.url}/metrics`);
    const text = await res.text();
    ms.push(performance.now() - t0);
    steps = Number(/greentrainer_training_steps_total\{run="tiny"\} (\d+)/.exec(text)?.[1] ?? steps);
    await new Promise((r) => setTimeout(r, 25));
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]!;
  const row = {
    scrapes: ms.length,
    p50_ms: q(0.5),
    p90_ms: q(0.9),
    p99_ms: q(0.99),
    max_ms: ms.at(-1)!,
    steps_during: steps,
  };
  if (json) console.log(JSON.stringify(row));
  else {
    console.log('scrapes  p50 ms  p90 ms  p99 ms  max ms  training steps by the end');
    console.log(
      `${String(row.scrapes).padStart(7)} ${row.p50_ms.toFixed(1).padStart(7)} ${row.p90_ms.toFixed(1).padStart(7)} ${row.p99_ms
        .toFixed(1)
        .padStart(7)} ${row.max_ms.toFixed(1).padStart(7)}  ${row.steps_during}`,
    );
  }
} finally {
  d.child.kill('SIGKILL');
  await d.exited;
}
