/**
 * The run report as one SVG (`report.svg` beside `report.json`, and `/report.svg` on the daemon's
 * listener while it runs): four panels on one time axis —
 *   1. grid intensity (red) and ρ (green, right axis) with paused spans shaded, and the plan ahead
 *      (the budget's forecast intensity and planned pauses, dashed and hatched) after "now";
 *   2. cumulative CO2e emitted, against what full fine-tuning of the same steps would have emitted;
 *   3. training loss (each step, and its moving average);
 *   4. the layers each selection trains (shade: the fraction of the layer's tensors).
 * Every series is a `<path data-series=NAME data-points=N>`, so tests and scripts can check what
 * was drawn. A panel without data says why instead. Hand-written SVG, no dependencies.
 */
import type { Plan } from '../schedule/planner.js';
import type { HistorySelection, RunHistory } from './history.js';
import { f, label, niceMax, timeTicks, xmlEscape } from './svg.js';

export interface RunReportOptions {
  readonly title: string;
  /** Now (ms): the end of the past, where the plan ahead begins. Default: the last record. */
  readonly now?: number;
  readonly plan?: Plan;
}

const W = 900;
const PANEL_H = 150;
const GAP = 44;
const TOP = 60;
const M = { left: 84, right: 56 };
const PANELS = 4;
export const REPORT_SERIES = ['intensity', 'rho', 'emitted', 'full', 'loss', 'loss_avg', 'layers'] as const;

export function runReportSvg(h: RunHistory, o: RunReportOptions): string {
  const now = o.now ?? h.last ?? Date.now();
  const ahead = (o.plan?.intervals ?? []).filter((g) => g.to > now);
  const lastRun = ahead.findLastIndex((g) => g.runSeconds > 0);
  const planned = ahead.slice(0, lastRun + 1);
  const t0 = h.first ?? now;
  const t1 = Math.max(now, planned.at(-1)?.to ?? now, t0 + 1000);
  const x = (t: number) =>
    M.left + ((Math.min(t1, Math.max(t0, t)) - t0) / (t1 - t0)) * (W - M.left - M.right);
  const H = TOP + PANELS * (PANEL_H + GAP);
  const top = (k: number) => TOP + k * (PANEL_H + GAP);
  const parts: string[] = [];

  // 1. Intensity, ρ, pauses; the plan ahead.
  {
    const y0 = top(0);
    const maxI = niceMax(
      Math.max(...h.intensity.map((p) => p.intensity), ...planned.map((g) => g.intensity), 1),
    );
    const yI = (v: number) => y0 + PANEL_H - (v / maxI) * PANEL_H;
    const yR = (rho: number) => y0 + PANEL_H - rho * PANEL_H;
    parts.push(
      frame(
        0,
        'Grid intensity and ρ',
        x,
        t0,
        t1,
        [0, 0.5, 1].map((q) => [yR(q), `${f0(q * maxI)}`, `${q}`]),
      ),
    );
    for (const p of h.pauses)
      parts.push(rect(x(p.from), y0, x(p.to ?? now) - x(p.from), PANEL_H, 'paused', '#ddd'));
    for (const g of planned)
      if (g.runSeconds * 1000 < g.to - g.from)
        parts.push(
          rect(
            x(g.from + g.runSeconds * 1000),
            y0,
            x(g.to) - x(g.from + g.runSeconds * 1000),
            PANEL_H,
            'planned-pause',
            'url(#hatch)',
          ),
        );
    const intensity = stepPath(
      h.intensity.map((p) => [p.t, p.intensity]),
      now,
      x,
      yI,
    );
    parts.push(series('intensity', intensity, h.intensity.length, '#c0392b', 1.5));
    const rho = stepPath(
      h.steps.map((s) => [s.t, s.rho]),
      h.steps.at(-1)?.t ?? now,
      x,
      yR,
    );
    parts.push(series('rho', rho, h.steps.length, '#1e7b34', 2));
    if (planned.length > 0) {
      parts.push(
        series(
          'forecast',
          stepPath(
            planned.map((g) => [Math.max(g.from, now), g.intensity]),
            t1,
            x,
            yI,
          ),
          planned.length,
          '#c0392b',
          1.5,
          '5 3',
        ),
      );
      parts.push(
        series('plan_rho', `M${f(x(now))},${f(yR(o.plan!.rho))}H${f(x(t1))}`, 2, '#1e7b34', 1.5, '5 3'),
      );
      parts.push(
        `<line x1="${f(x(now))}" x2="${f(x(now))}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#333" stroke-dasharray="2 3"/><text x="${f(x(now) + 4)}" y="${y0 + 10}">now</text>`,
      );
    }
    if (h.intensity.length === 0)
      parts.push(empty(0, 'no carbon intensity recorded (a `train` run has no carbon provider)'));
    parts.push(axisLabels(0, 'g CO2e/kWh', '#c0392b', 'ρ (grey: paused)', '#1e7b34'));
  }

  // 2. Cumulative CO2e: emitted vs full fine-tuning.
  {
    const pts = h.steps.filter((s) => s.emittedG !== undefined);
    const max = niceMax(Math.max(...pts.map((s) => s.fullG ?? 0), 0));
    const [scale, unit] = max >= 2000 ? [1000, 'kg'] : [1, 'g'];
    const y = (g: number) => top(1) + PANEL_H - (g / max) * PANEL_H;
    parts.push(
      frame(
        1,
        'CO2e: emitted, and full fine-tuning of the same steps',
        x,
        t0,
        t1,
        [0, 0.5, 1].map((q) => [y(q * max), fmt((q * max) / scale), '']),
      ),
    );
    parts.push(
      series(
        'full',
        linePath(
          pts.map((s) => [s.t, s.fullG!]),
          x,
          y,
        ),
        pts.length,
        '#777',
        1.5,
        '5 3',
      ),
    );
    parts.push(
      series(
        'emitted',
        linePath(
          pts.map((s) => [s.t, s.emittedG!]),
          x,
          y,
        ),
        pts.length,
        '#2c3e50',
        2,
      ),
    );
    if (pts.length === 0)
      parts.push(empty(1, 'no emissions measured (a `train` run has no carbon provider)'));
    parts.push(axisLabels(1, `CO2e (${unit})`, '#2c3e50', 'dashed: full FT', '#777'));
  }

  // 3. Loss.
  {
    const pts = h.steps.filter((s) => s.loss !== undefined).map((s) => [s.t, s.loss!] as [number, number]);
    const max = niceMax(Math.max(...pts.map((p) => p[1]), 0));
    const y = (v: number) => top(2) + PANEL_H - (v / max) * PANEL_H;
    parts.push(
      frame(
        2,
        'Training loss',
        x,
        t0,
        t1,
        [0, 0.5, 1].map((q) => [y(q * max), fmt(q * max), '']),
      ),
    );
    parts.push(series('loss', linePath(pts, x, y), pts.length, '#9ab', 1));
    parts.push(series('loss_avg', linePath(movingAverage(pts, 20), x, y), pts.length, '#2471a3', 2));
    if (pts.length === 0) parts.push(empty(2, 'no steps yet'));
    parts.push(axisLabels(2, 'loss', '#2471a3', '', '#000'));
  }

  // 4. Layers trained.
  parts.push(layersPanel(h.selections, x, t0, t1, h.steps.at(-1)?.t ?? now));

  const ticks = timeTicks(t0, t1)
    .map(
      (t) =>
        `<text x="${f(x(t))}" y="${top(PANELS - 1) + PANEL_H + 16}" class="c">${label(t, t1 - t0)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img">
<title>${xmlEscape(o.title)}: intensity, ρ, pauses, CO2e, loss and layers trained over time</title>
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="2"/></pattern></defs>
<style>.grid{stroke:#e4e4e4}.l{text-anchor:end;dominant-baseline:middle}.r{dominant-baseline:middle}.c{text-anchor:middle}.h{font-size:13px;font-weight:bold}</style>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="20" font-size="15">${xmlEscape(o.title)}</text>
${parts.join('\n')}
${ticks}
</svg>
`;
}

type Point = readonly [number, number];

function layersPanel(
  selections: readonly HistorySelection[],
  x: (t: number) => number,
  t0: number,
  t1: number,
  /** Where the last selection's span ends: the last step. */
  end: number,
): string {
  const y0 = top(3);
  const names = [...new Set(selections.flatMap((s) => Object.keys(s.layers)))].sort(natural);
  const out = [frame(3, 'Layers trained (shade: fraction of the layer’s tensors)', x, t0, t1, [])];
  if (names.length === 0) {
    out.push(empty(3, 'no selection yet'), '<path data-series="layers" data-points="0" d=""/>');
    return out.join('\n');
  }
  const rowH = PANEL_H / names.length;
  // One path per shade, so the drawing stays small: shades in tenths.
  const byShade = new Map<number, string[]>();
  let cells = 0;
  for (const [k, s] of selections.entries()) {
    const to = Math.max(s.t, selections[k + 1]?.t ?? end);
    for (const [r, n] of names.entries()) {
      const v = Math.round((s.layers[n] ?? 0) * 10) / 10;
      if (v <= 0) continue;
      const d = `M${f(x(s.t))},${f(y0 + r * rowH)}H${f(x(to))}V${f(y0 + (r + 1) * rowH)}H${f(x(s.t))}Z`;
      const ds = byShade.get(v) ?? [];
      ds.push(d);
      byShade.set(v, ds);
      cells++;
    }
  }
  out.push(
    `<path data-series="layers" data-points="${cells}" d="" fill="none"/>`,
    ...[...byShade].map(([v, ds]) => `<path d="${ds.join('')}" fill="#1e7b34" fill-opacity="${v}"/>`),
  );
  const every = Math.ceil(names.length / 12);
  names.forEach((n, r) => {
    if (r % every === 0)
      out.push(`<text x="${M.left - 6}" y="${f(y0 + (r + 0.5) * rowH)}" class="l">${xmlEscape(n)}</text>`);
  });
  return out.join('\n');
}

const top = (k: number) => TOP + k * (PANEL_H + GAP);

function frame(
  k: number,
  title: string,
  x: (t: number) => number,
  t0: number,
  t1: number,
  yTicks: ReadonlyArray<readonly [number, string, string]>,
): string {
  const y0 = top(k);
  const grid = yTicks
    .map(
      ([y, l, r]) =>
        `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y)}" y2="${f(y)}" class="grid"/>` +
        `<text x="${M.left - 6}" y="${f(y)}" class="l">${xmlEscape(l)}</text>` +
        (r ? `<text x="${W - M.right + 6}" y="${f(y)}" class="r">${xmlEscape(r)}</text>` : ''),
    )
    .join('');
  const ticks = timeTicks(t0, t1)
    .map((t) => `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${y0}" y2="${y0 + PANEL_H}" class="grid"/>`)
    .join('');
  return `<g data-panel="${k}"><text x="${M.left}" y="${y0 - 8}" class="h">${xmlEscape(title)}</text>${ticks}${grid}<rect x="${M.left}" y="${y0}" width="${W - M.left - M.right}" height="${PANEL_H}" fill="none" stroke="#999"/></g>`;
}

function axisLabels(k: number, left: string, leftColour: string, right: string, rightColour: string): string {
  const mid = top(k) + PANEL_H / 2;
  return (
    `<text x="14" y="${mid}" transform="rotate(-90 14 ${mid})" class="c" fill="${leftColour}">${xmlEscape(left)}</text>` +
    (right
      ? `<text x="${W - 12}" y="${mid}" transform="rotate(90 ${W - 12} ${mid})" class="c" fill="${rightColour}">${xmlEscape(right)}</text>`
      : '')
  );
}

function empty(k: number, why: string): string {
  return `<text x="${W / 2}" y="${top(k) + PANEL_H / 2}" class="c" fill="#888">${xmlEscape(why)}</text>`;
}

function series(
  name: string,
  d: string,
  points: number,
  colour: string,
  width: number,
  dash?: string,
): string {
  return `<path data-series="${name}" data-points="${points}" d="${d}" fill="none" stroke="${colour}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`;
}

function rect(x: number, y: number, w: number, h: number, cls: string, fill: string): string {
  return w > 0
    ? `<rect class="${cls}" x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="${fill}"/>`
    : '';
}

/** A step function: each value holds until the next point, the last one until `end`. */
function stepPath(
  points: readonly Point[],
  end: number,
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  return points
    .map(([t, v], k) => `${k === 0 ? 'M' : 'L'}${f(x(t))},${f(y(v))}H${f(x(points[k + 1]?.[0] ?? end))}`)
    .join('');
}

function linePath(points: readonly Point[], x: (t: number) => number, y: (v: number) => number): string {
  return points.map(([t, v], k) => `${k === 0 ? 'M' : 'L'}${f(x(t))},${f(y(v))}`).join('');
}

function movingAverage(points: readonly Point[], n: number): Point[] {
  let sum = 0;
  return points.map(([t, v], k) => {
    sum += v - (k >= n ? points[k - n]![1] : 0);
    return [t, sum / Math.min(k + 1, n)] as const;
  });
}

/** 0.000123, 0.5, 12, 1.2k. */
function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return `${Number(v.toPrecision(3))}`;
}

const f0 = (v: number) => `${Math.round(v)}`;

/** layer.2 before layer.10. */
function natural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
