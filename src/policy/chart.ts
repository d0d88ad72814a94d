/**
 * An SVG chart of a simulation: grid intensity (line, left axis) and the policy's ρ (steps,
 * right axis) over time, with paused intervals shaded. Hand-written SVG, no dependencies; a
 * separate caller of the simulation core, never a flag on it.
 */
import type { Simulation } from './simulate.js';

const W = 900;
const H = 320;
const M = { left: 56, right: 48, top: 28, bottom: 40 };

export function simulationChart(sim: Simulation, title: string, unitLabel: string): string {
  const steps = sim.steps;
  const t0 = steps[0]!.time.getTime();
  const t1 = steps.at(-1)!.time.getTime() + (steps.length > 1 ? t1Step(sim) : 1);
  const maxI = niceCeil(Math.max(...steps.map((s) => s.intensity)));
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const yI = (v: number) => H - M.bottom - (v / maxI) * (H - M.top - M.bottom);
  const yR = (rho: number) => H - M.bottom - rho * (H - M.top - M.bottom);
  const end = (k: number) => steps[k + 1]?.time.getTime() ?? t1;
  const paused = steps
    .map((s, k) =>
      s.decision.pause
        ? rect(x(s.time.getTime()), M.top, x(end(k)) - x(s.time.getTime()), H - M.top - M.bottom)
        : '',
    )
    .join('');
  const intensity = steps
    .map((s, k) => `${k === 0 ? 'M' : 'L'}${f(x(s.time.getTime()))},${f(yI(s.intensity))}`)
    .join('');
  const rho = steps
    .map((s, k) => {
      const y = f(yR(s.decision.pause ? 0 : s.decision.rho));
      return `${k === 0 ? 'M' : 'L'}${f(x(s.time.getTime()))},${y}H${f(x(end(k)))}`;
    })
    .join('');
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((q) => {
    const y = f(yR(q));
    return (
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" class="grid"/>` +
      `<text x="${M.left - 6}" y="${y}" class="l">${Math.round(q * maxI)}</text>` +
      `<text x="${W - M.right + 6}" y="${y}" class="r">${q}</text>`
    );
  });
  const xTicks = timeTicks(t0, t1).map(
    (t) => `<text x="${f(x(t))}" y="${H - M.bottom + 16}" class="c">${label(t, t1 - t0)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img">
<title>${xmlEscape(title)}: intensity and ρ over time</title>
<style>.grid{stroke:#ddd}.l{text-anchor:end;dominant-baseline:middle}.r{dominant-baseline:middle}.c{text-anchor:middle}</style>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="16" font-size="13">${xmlEscape(title)}</text>
${yTicks.join('\n')}
${paused}
<path d="${intensity}" fill="none" stroke="#c0392b" stroke-width="1.5"/>
<path d="${rho}" fill="none" stroke="#1e7b34" stroke-width="2"/>
${xTicks.join('\n')}
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" class="c" fill="#c0392b">intensity (${xmlEscape(unitLabel)})</text>
<text x="${W - 10}" y="${H / 2}" transform="rotate(90 ${W - 10} ${H / 2})" class="c" fill="#1e7b34">ρ</text>
</svg>
`;
}

function t1Step(sim: Simulation): number {
  const s = sim.steps;
  return s.at(-1)!.time.getTime() - s.at(-2)!.time.getTime();
}

const f = (v: number) => v.toFixed(1);
const rect = (x: number, y: number, w: number, h: number) =>
  `<rect x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="#eee"/>`;
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  return Math.ceil(v / step) * step;
}

/** Ticks every 3 h for a day or less, every day beyond. */
function timeTicks(t0: number, t1: number): number[] {
  const step = t1 - t0 <= 2 * 86_400_000 ? 3 * 3600_000 : 86_400_000;
  const first = Math.ceil(t0 / step) * step;
  return Array.from({ length: Math.floor((t1 - first) / step) + 1 }, (_, k) => first + k * step).filter(
    (t) => t < t1,
  );
}

function label(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  return span <= 2 * 86_400_000 ? `${iso.slice(11, 16)}Z` : iso.slice(0, 10);
}
