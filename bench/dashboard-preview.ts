/**
 * A picture of the Grafana dashboard without Grafana: runs the daemon on a tiny model with a
 * replayed trace, lets the real `prometheus` scrape it, then draws every panel of
 * grafana/dashboards/greentrainer.json from the same PromQL (query_range through Prometheus's
 * HTTP API) as small line charts in docs/dashboard.svg.
 *
 *   npm run dashboard:preview [-- --seconds 90]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/backend/select.js';
import { dashboardPanels, expandVariables, readDashboard } from '../test/deploy/dashboard-queries.js';
import { findOnPath } from '../test/deploy/tools.js';
import { daemonSetup, freePort, startDaemon, until } from '../test/helpers/daemon.js';
import { benchArgs } from './args.js';

const values = benchArgs(
  `npm run dashboard:preview [-- --seconds 90]: runs the daemon on a tiny model with a replayed trace, lets the
real prometheus scrape it, and draws every panel of grafana/dashboards/greentrainer.json in docs/dashboard.svg.
  --seconds N  how long to collect metrics (default 90)`,
  { seconds: { type: 'string', default: '90' } },
);
const seconds = Number(values.seconds);
const prometheus = findOnPath('prometheus');
if (!prometheus) throw new Error('needs the `prometheus` binary (Debian package prometheus)');

await initBackend({ backend: 'wasm' });
const s = await daemonSetup();
const d = startDaemon(s.configFile);
const dir = mkdtempSync(join(tmpdir(), 'gt-preview-'));
const port = await freePort();
writeFileSync(
  join(dir, 'prometheus.yml'),
  `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: greentrainer\n    static_configs: [{ targets: ['127.0.0.1:${s.port}'] }]\n`,
);
const p = spawn(
  prometheus,
  [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ],
  { stdio: 'ignore' },
);

type Series = { metric: Record<string, string>; values: Array<[number, string]> };
try {
  const api = `http://127.0.0.1:${port}/api/v1`;
  await until(
    'prometheus',
    async () => ((await fetch(`${api}/status/buildinfo`)).ok ? true : undefined),
    30_000,
  );
  const start = Date.now() / 1000;
  console.log(`collecting ${seconds} s of metrics…`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const end = Date.now() / 1000;
  const vars = {
    instance: '.*',
    run: '.*',
    __rate_interval: '10s',
    __interval: '2s',
    __range: `${seconds}s`,
  };
  const panels = dashboardPanels(readDashboard()).filter((panel) => (panel.targets ?? []).length > 0);
  const charts: Array<{ title: string; series: Array<{ name: string; points: Array<[number, number]> }> }> =
    [];
  for (const panel of panels) {
    const series: Array<{ name: string; points: Array<[number, number]> }> = [];
    for (const t of panel.targets ?? []) {
      if (!t.expr) continue;
      const q = new URLSearchParams({
        query: expandVariables(t.expr, vars),
        start: String(start),
        end: String(end),
        step: '2',
      });
      const body = (await (await fetch(`${api}/query_range?${q}`)).json()) as { data?: { result: Series[] } };
      for (const r of body.data?.result ?? []) {
        const label = Object.entries(r.metric)
          .filter(([k]) => !['__name__', 'instance', 'job', 'run'].includes(k))
          .map(([, v]) => v)
          .join(' ');
        const legend =
          typeof t.legendFormat === 'string' && !t.legendFormat.includes('{{')
            ? t.legendFormat
            : (t.refId ?? '');
        series.push({
          name: `${legend} ${label}`.trim(),
          points: r.values.map(([x, y]) => [x - start, Number(y)]),
        });
      }
    }
    charts.push({ title: panel.title ?? '', series: series.slice(0, 8) });
  }
  mkdirSync(new URL('../docs', import.meta.url), { recursive: true });
  writeFileSync(new URL('../docs/dashboard.svg', import.meta.url), draw(charts, seconds));
  console.log(
    `docs/dashboard.svg: ${charts.length} panels, ${charts.reduce((a, c) => a + c.series.length, 0)} series`,
  );
} finally {
  p.kill('SIGKILL');
  d.child.kill('SIGKILL');
}
process.exit(0);

function draw(
  charts: Array<{ title: string; series: Array<{ name: string; points: Array<[number, number]> }> }>,
  span: number,
): string {
  const W = 320;
  const H = 170;
  const cols = 3;
  const colors = ['#2a9d4b', '#e76f51', '#264653', '#e9c46a', '#8e44ad', '#1d70b8', '#999', '#c0392b'];
  const cells = charts.map((c, i) => {
    const x0 = (i % cols) * W;
    const y0 = Math.floor(i / cols) * H;
    const ys = c.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const lo = Math.min(0, ...ys);
    const hi = Math.max(...ys, lo + 1e-9);
    const px = (t: number) => x0 + 40 + (t / span) * (W - 55);
    const py = (v: number) => y0 + H - 25 - ((v - lo) / (hi - lo || 1)) * (H - 60);
    const lines = c.series
      .map((s, k) => {
        const d = s.points
          .filter(([, y]) => Number.isFinite(y))
          .map(([t, y], j) => `${j ? 'L' : 'M'}${px(t).toFixed(1)},${py(y).toFixed(1)}`)
          .join('');
        return (
          `<path d="${d}" fill="none" stroke="${colors[k % colors.length]}" stroke-width="1.5"/>` +
          `<text x="${x0 + 42 + (k % 2) * 135}" y="${y0 + H - 8 - Math.floor(k / 2) * 0}" font-size="8" fill="${colors[k % colors.length]}">${esc(s.name).slice(0, 28)}</text>`
        );
      })
      .slice(0, 2)
      .concat(
        c.series.slice(2).map(
          (s, k) =>
            `<path d="${s.points
              .filter(([, y]) => Number.isFinite(y))
              .map(([t, y], j) => `${j ? 'L' : 'M'}${px(t).toFixed(1)},${py(y).toFixed(1)}`)
              .join('')}" fill="none" stroke="${colors[(k + 2) % colors.length]}" stroke-width="1"/>`,
        ),
      )
      .join('');
    const fmt = (v: number) =>
      Math.abs(v) >= 1e6 || (Math.abs(v) < 0.01 && v !== 0)
        ? v.toExponential(1)
        : Number(v.toPrecision(3)).toString();
    return (
      `<g><rect x="${x0 + 4}" y="${y0 + 4}" width="${W - 8}" height="${H - 8}" fill="#fafafa" stroke="#ddd"/>` +
      `<text x="${x0 + 10}" y="${y0 + 20}" font-size="11" font-weight="bold">${esc(c.title).slice(0, 48)}</text>` +
      `<text x="${x0 + 36}" y="${py(hi) + 3}" font-size="8" text-anchor="end">${fmt(hi)}</text><text x="${x0 + 36}" y="${py(lo) + 3}" font-size="8" text-anchor="end">${fmt(lo)}</text>` +
      (c.series.length === 0
        ? `<text x="${x0 + W / 2}" y="${y0 + H / 2}" font-size="10" text-anchor="middle" fill="#999">no data</text>`
        : lines) +
      '</g>'
    );
  });
  const rows = Math.ceil(charts.length / cols);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rows * H}" font-family="sans-serif" role="img"><title>greentrainer dashboard panels, drawn from Prometheus</title><rect width="100%" height="100%" fill="white"/>${cells.join('')}</svg>\n`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
