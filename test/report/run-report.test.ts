import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_LOG, type RunLogRecord } from '../../src/daemon/run-log.js';
import { RunHistory } from '../../src/report/history.js';
import { runReportSvg } from '../../src/report/run-report.js';
import { writeRunReport } from '../../src/report/write.js';
import type { Plan } from '../../src/schedule/planner.js';

const T0 = Date.UTC(2026, 10, 30, 12);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** A run: 100 steps, the intensity rising past a pause threshold at 40 s and easing at 60 s. */
function records(): RunLogRecord[] {
  const r: RunLogRecord[] = [
    {
      type: 'start',
      time: at(0),
      step: 0,
      total_steps: 100,
      rho_floor: 0.3,
      interval_steps: 50,
      checkpoint_steps: 50,
    },
    { type: 'intensity', time: at(0), intensity: 120 },
    { type: 'decision', time: at(0), rho: 1, pause: false, reason: 'clean' },
    {
      type: 'selection',
      time: at(0),
      step: 0,
      rho: 1,
      ratio: 1,
      seconds: 0.1,
      layers: { 'layer.0': 1, 'layer.1': 1, 'layer.10': 1 },
    },
    { type: 'intensity', time: at(40), intensity: 300 },
    { type: 'decision', time: at(40), rho: 0.5, pause: true, reason: 'dirty' },
    { type: 'intensity', time: at(60), intensity: 150 },
    { type: 'decision', time: at(60), rho: 0.7, pause: false, reason: 'eased' },
    {
      type: 'selection',
      time: at(60),
      step: 40,
      rho: 0.7,
      ratio: 0.7,
      seconds: 0.1,
      layers: { 'layer.0': 0, 'layer.1': 0.5, 'layer.10': 1 },
    },
  ];
  let emitted = 0;
  for (let step = 1; step <= 100; step++) {
    const t = step <= 40 ? step : 60 + (step - 40) * 0.5;
    emitted += step <= 40 ? 0.1 : 0.07;
    r.push({
      type: 'step',
      time: at(t),
      step,
      rho: step <= 40 ? 1 : 0.7,
      flops: 1,
      full_flops: 1,
      joules: 1,
      loss: 3 / Math.sqrt(step),
      emitted_g: emitted,
      avoided_g: step <= 40 ? 0 : (step - 40) * 0.03,
    });
  }
  r.push({ type: 'done', time: at(95), step: 100 });
  return r;
}

/** data-points of each `data-series` path. */
function seriesPoints(svg: string): Map<string, number> {
  return new Map(
    [...svg.matchAll(/data-series="([a-z_]+)" data-points="(\d+)"/g)].map((m) => [m[1]!, Number(m[2])]),
  );
}

describe('report/run-report', () => {
  it('draws intensity, ρ, CO2e against full fine-tuning, loss and the layers trained, with the pause shaded', () => {
    const h = new RunHistory();
    for (const r of records()) h.add(r);
    assert.deepEqual(h.pauses, [{ from: T0 + 40_000, to: T0 + 60_000 }]);
    const svg = runReportSvg(h, { title: 'tiny' });
    const s = seriesPoints(svg);
    assert.equal(s.get('intensity'), 3);
    for (const name of ['rho', 'emitted', 'full', 'loss', 'loss_avg']) assert.equal(s.get(name), 100, name);
    // Two selections: three layers, then two (layer.0 left out).
    assert.equal(s.get('layers'), 5);
    assert.equal([...svg.matchAll(/class="paused"/g)].length, 1);
    // The counterfactual ends above what was emitted, by what was avoided.
    assert.ok(h.steps.at(-1)!.fullG! - h.steps.at(-1)!.emittedG! > 1.79);
    // Layer rows in natural order; names are escaped.
    const rows = [...svg.matchAll(/class="l">(layer\.\d+)</g)].map((m) => m[1]);
    assert.deepEqual(rows, ['layer.0', 'layer.1', 'layer.10']);
    assert.ok(!svg.includes('NaN') && !svg.includes('undefined'));
  });

  it('draws the plan ahead: the forecast, the planned ρ and its pauses after now', () => {
    const h = new RunHistory();
    for (const r of records().slice(0, 20)) h.add(r);
    const now = T0 + 50_000;
    const plan: Plan = {
      intervals: [
        { from: now, to: now + 60_000, intensity: 300, runSeconds: 0 },
        { from: now + 60_000, to: now + 120_000, intensity: 90, runSeconds: 60 },
      ],
      rho: 0.6,
      runSeconds: 60,
      emissionsG: 1,
      feasible: true,
      why: 'test',
    };
    const svg = runReportSvg(h, { title: 'plan', now, plan });
    const s = seriesPoints(svg);
    assert.equal(s.get('forecast'), 2);
    assert.equal(s.get('plan_rho'), 2);
    assert.equal([...svg.matchAll(/class="planned-pause"/g)].length, 1);
  });

  it('says why a panel is empty (a train run has no carbon data)', () => {
    const h = new RunHistory();
    for (const r of records()) {
      if (r.type === 'intensity' || r.type === 'decision') continue;
      if (r.type === 'step') {
        const { emitted_g: _, avoided_g: __, ...rest } = r;
        h.add(rest);
      } else h.add(r);
    }
    const svg = runReportSvg(h, { title: 'train' });
    assert.match(svg, /no carbon intensity recorded/);
    assert.match(svg, /no emissions measured/);
    assert.equal(seriesPoints(svg).get('loss'), 100);
  });

  it('keeps every series bounded on a long run, with the newest point kept', () => {
    const h = new RunHistory(100);
    for (let step = 1; step <= 10_000; step++)
      h.add({ type: 'step', time: at(step), step, rho: 1, flops: 1, full_flops: 1, joules: 1, loss: 1 });
    assert.ok(h.steps.length <= 100 && h.steps.length >= 50, `${h.steps.length} points`);
    assert.equal(h.steps.at(-1)!.step, 10_000);
    const steps = h.steps.map((p) => p.step);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
    );
  });

  it('writes report.svg from a run folder’s log, atomically; an unreadable log is reported and gives empty charts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-report-'));
    writeFileSync(
      join(dir, RUN_LOG),
      `${records()
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
    const errors: string[] = [];
    const file = writeRunReport(dir, 'tiny', (m) => errors.push(m));
    assert.equal(file, join(dir, 'report.svg'));
    assert.equal(seriesPoints(readFileSync(file!, 'utf8')).get('loss'), 100);
    assert.equal(errors.length, 0, errors.join('\n'));

    writeFileSync(join(dir, RUN_LOG), 'not json\n{"type":"step"}\n');
    const again = writeRunReport(dir, 'tiny', (m) => errors.push(m));
    assert.equal(again, file);
    assert.match(errors[0]!, /timeline\.jsonl:1: not a run-log record/);
    assert.match(readFileSync(file!, 'utf8'), /no steps yet/);

    const missing = writeRunReport(join(dir, 'no', 'such'), 'tiny', (m) => errors.push(m));
    assert.equal(missing, undefined);
    assert.match(errors.at(-1)!, /cannot write .*report\.svg: ENOENT/);
  });
});
