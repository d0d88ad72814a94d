import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { format } from '../../src/daemon/status-page.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { freePort, getJson, startDaemon, until } from '../helpers/daemon.js';

const demo = (p: string) => new URL(`../../demo/${p}`, import.meta.url).pathname;

/** Debian's `chromium` (installed by .ci/run), or another headless Chrome on PATH. */
function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return name;
  }
  return undefined;
}

/** The demo's daemon config, cut to a short run: the same model, data and trace. */
function shortDemo(dir: string, port: number): string {
  const config = readFileSync(demo('daemon.yaml'), 'utf8')
    .replace('file: carbon/gb-week.csv', `file: ${demo('carbon/gb-week.csv')}`)
    .replace('model: model', `model: ${demo('model')}`)
    .replace('dataset: { path: data }', `dataset: { path: ${demo('data')} }`)
    .replace('max_steps: 250', 'max_steps: 24')
    .replace('selection: { interval_steps: 50 }', 'selection: { interval_steps: 12 }')
    // A lower ρ at the trace's first hours (about 145 g/kWh) than the demo's, so that it saves FLOPs.
    .replace(
      /map: \{ type: linear, points: [^\n]*\] \}/,
      'map: { type: linear, points: [[100, 0.8], [200, 0.5]] }',
    )
    .replace(
      /eval: \{[^}]*\}/,
      'eval: { beams: 1, max_new_tokens: 4, samples: 2, validation_samples: 4, before: false }',
    )
    .replace('output: .work/run', `output: ${join(dir, 'run')}`)
    .replace('127.0.0.1:9464', `127.0.0.1:${port}`)
    .replace('exit_when_done: true', 'exit_when_done: false')
    .replace('format: auto', 'format: json');
  const file = join(dir, 'daemon.yaml');
  writeFileSync(file, config);
  return file;
}

function browse(chromium: string, args: string[], url: string): string {
  const r = spawnSync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--virtual-time-budget=20000',
      ...args,
      url,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  assert.equal(r.status, 0, `${chromium} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const textOf = (dom: string, id: string) => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(dom)?.[1];

describe('daemon: the status page at / in a headless browser', function () {
  this.timeout(300_000);
  let chromium: string | undefined;
  before(async function () {
    chromium = findChromium();
    if (!chromium) {
      console.log(
        '      skipped: no chromium on PATH (Debian `chromium`; .ci/run installs it where apt can)',
      );
      this.skip();
    }
    await useBackend(testBackend());
  });

  it('shows the step count and FLOPs saved of /v1/status, draws the charts, and the run writes report.svg', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-page-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const d = startDaemon(shortDemo(dir, port));
    try {
      const status = await until(
        'the short demo to finish',
        async () => {
          const b = (await getJson(`${url}/v1/status`)).body as {
            job: { state: string; step: number; totalSteps: number };
            totals: { flops_saved_ratio: number };
          };
          return b.job.state === 'finished' ? b : undefined;
        },
        240_000,
      );
      assert.equal(status.job.step, 24);

      const dom = browse(chromium!, ['--dump-dom'], `${url}/`);
      assert.equal(textOf(dom, 'steps'), format.steps(status.job.step, status.job.totalSteps));
      assert.equal(textOf(dom, 'flops-saved'), format.percent(status.totals.flops_saved_ratio));
      const drawn = /data-chart-series="([^"]*)"/.exec(dom)?.[1]?.split(',') ?? [];
      for (const s of ['intensity', 'rho', 'emitted', 'full', 'loss', 'layers'])
        assert.ok(drawn.includes(s), `the page drew ${JSON.stringify(drawn)}; no ${s}`);
      assert.match(textOf(dom, 'layers') ?? '', /^step \d+, ρ [\d.]+: /);

      // The screenshot README embeds (GREENTRAINER_SCREENSHOT=docs/status-page.png to refresh it).
      const png = resolve(process.env.GREENTRAINER_SCREENSHOT ?? join(dir, 'status-page.png'));
      mkdirSync(dirname(png), { recursive: true });
      browse(chromium!, [`--screenshot=${png}`, '--window-size=1000,1500'], `${url}/`);
      assert.ok(statSync(png).size > 20_000, `${png}: ${statSync(png).size} bytes`);

      // At the end of the run the daemon wrote report.svg beside report.json, with every series.
      const report = join(dir, 'run', 'report.svg');
      assert.ok(existsSync(report) && existsSync(join(dir, 'run', 'report.json')));
      const svg = readFileSync(report, 'utf8');
      for (const s of ['intensity', 'rho', 'emitted', 'full', 'loss', 'layers']) {
        const n = Number(new RegExp(`data-series="${s}" data-points="(\\d+)"`).exec(svg)?.[1]);
        assert.ok(n > 0, `report.svg: ${s} has ${n} points`);
      }
    } finally {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });
});
