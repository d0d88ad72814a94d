/**
 * An SVG chart of a simulation: grid intensity (line, left axis) and the policy's ρ (steps,
 * right axis) over time, with paused intervals shaded. Hand-written SVG, no dependencies; a
 * separate caller of the simulation core, never a flag on it.
 */
import type { ForecastPoint } from '../carbon/reading.js';
import { f, label, niceCeil, timeTicks, xmlEscape } from '../report/svg.js';
import type { Simulation } from './simulate.js';

const W = 900;
const H = 320;
const M = { left: 56, right: 48, top: 28, bottom: 40 };

/**
 * Intensity (`points`, red), the policy's ρ (green, until the job finishes) and its paused spans
 * (grey); a dashed line at the finish and a dotted one at the deadline.
 */
export function simulationChart(
  sim: Simulation,
  points: readonly ForecastPoint[],
  title: string,
  unitLabel: string,
): string {
  const t0 = sim.start.getTime();
  const t1 = sim.end.getTime();
  const shown = points.filter((p, k) => p.time.getTime() < t1 && (points[k + 1]?.time.getTime() ?? t1) > t0);
  const maxI = niceCeil(Math.max(...shown.map((p) => p.intensity)));
  const x = (t: number) =>
    M.left + ((Math.min(t1, Math.max(t0, t)) - t0) / (t1 - t0)) * (W - M.left - M.right);
  const yI = (v: number) => H - M.bottom - (v / maxI) * (H - M.top - M.bottom);
  const yR = (rho: number) => H - M.bottom - rho * (H - M.top - M.bottom);
  const stop = sim.policy.finish ?? t1;
  const spans = sim.timeline
    .map((e, k) => ({
      ...e,
      from: e.time.getTime(),
      to: Math.min(stop, sim.timeline[k + 1]?.time.getTime() ?? stop),
    }))
    .filter((e) => e.to > e.from);
  const paused = spans
    .filter((e) => e.decision.pause)
    .map((e) => rect(x(e.from), M.top, x(e.to) - x(e.from), H - M.top - M.bottom))
    .join('');
  const intensity = shown
    .map((p, k) => `${k === 0 ? 'M' : 'L'}${f(x(p.time.getTime()))},${f(yI(p.intensity))}`)
    .join('');
  const rho = spans
    .map((e, k) => {
      const y = f(yR(e.decision.pause ? 0 : e.decision.rho));
      return `${k === 0 ? 'M' : 'L'}${f(x(e.from))},${y}H${f(x(e.to))}`;
    })
    .join('');
  const mark = (t: number | undefined, dash: string) =>
    t === undefined || t > t1
      ? ''
      : `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333" stroke-dasharray="${dash}"/>`;
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
<title>${xmlEscape(title)}: intensity, ρ and pauses over time</title>
<style>.grid{stroke:#ddd}.l{text-anchor:end;dominant-baseline:middle}.r{dominant-baseline:middle}.c{text-anchor:middle}</style>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="16" font-size="13">${xmlEscape(title)}</text>
${yTicks.join('\n')}
${paused}
<path d="${intensity}" fill="none" stroke="#c0392b" stroke-width="1.5"/>
<path d="${rho}" fill="none" stroke="#1e7b34" stroke-width="2"/>
${mark(sim.policy.finish, '6 3')}${mark(sim.deadline?.getTime(), '2 3')}
${xTicks.join('\n')}
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" class="c" fill="#c0392b">intensity (${xmlEscape(unitLabel)})</text>
<text x="${W - 10}" y="${H / 2}" transform="rotate(90 ${W - 10} ${H / 2})" class="c" fill="#1e7b34">ρ (grey: paused)</text>
</svg>
`;
}

const rect = (x: number, y: number, w: number, h: number) =>
  `<rect class="paused" x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="#ddd"/>`;
