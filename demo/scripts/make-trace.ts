/**
 * Writes demo/carbon/gb-week.csv: a synthetic week of grid carbon intensity at 30-minute
 * resolution, shaped like Great Britain's grid as the NESO Carbon Intensity API publishes it
 * (national average intensity): low overnight when demand is low and wind runs, a morning ramp,
 * a midday dip from solar (deeper at weekends), the evening peak around 17:00–19:00 when gas
 * fills the demand peak. Day-to-day weather swings the level (a windy day sits ~40 % lower).
 * It is synthetic — not recorded data — and seeded, so it is the same on every machine.
 *
 *   tsx demo/scripts/make-trace.ts
 */
import { writeFileSync } from 'node:fs';

const START = Date.UTC(2026, 5, 1); // Monday 1 June 2026, 00:00 UTC
const WIND = [0.95, 1.1, 0.7, 0.6, 0.85, 1.0, 0.8]; // daily level: 1 = calm, lower = windier
let seed = 42;
const noise = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31 - 0.5;
};

const rows = ['time,intensity'];
for (let i = 0; i < 7 * 48; i++) {
  const day = Math.floor(i / 48);
  const h = (i % 48) / 2;
  const weekend = day >= 5;
  const bump = (centre: number, width: number) => Math.exp(-(((h - centre) / width) ** 2));
  const demand = 150 + 70 * bump(8.5, 2.5) + 120 * bump(18, 2.2) + 40 * bump(12, 5);
  const solar = (weekend ? 95 : 70) * bump(13, 2.6);
  const g = Math.max(40, (demand - solar) * WIND[day]! + 12 * noise());
  rows.push(`${new Date(START + i * 1_800_000).toISOString()},${Math.round(g)}`);
}
writeFileSync(new URL('../carbon/gb-week.csv', import.meta.url), `${rows.join('\n')}\n`);
console.log(`wrote ${rows.length - 1} half-hours`);
