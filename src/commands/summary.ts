/** The human summary of a daemon run (printed at the end of `npm start`, and by `status`). */
import type { Daemon } from '../daemon/daemon.js';
import { formatFlops } from './table.js';

type Status = Daemon['status'];

export function formatSummary(s: Status): string {
  const lines: string[] = [];
  const j = s.job;
  lines.push(
    `job ${j.name} (${j.method}): ${j.state}, step ${j.step}/${j.totalSteps}${j.backend ? ` on ${j.backend}` : ''}`,
  );
  if (j.loss !== null && j.loss !== undefined) lines.push(`  last loss ${j.loss.toFixed(4)}`);
  if (j.failure) lines.push(`  ${j.failure.kind} failure: ${j.failure.reason}`);
  const c = s.carbon;
  if (c.reading)
    lines.push(
      `carbon ${c.provider}/${c.region}: ${c.reading.intensity} ${c.reading.unit} at ${c.reading.time}${c.stale ? ' (stale)' : ''}`,
    );
  lines.push(
    `decision: ρ ${Number(s.decision.rho.toPrecision(6))}${s.decision.pause ? ', paused' : ''} — ${s.decision.reason}`,
  );
  if (s.totals) {
    const t = s.totals;
    const phases = Object.entries(t.energy_joules_by_phase)
      .filter(([, j]) => j > 0)
      .map(([phase, j]) => `${phase} ${(j / 1000).toFixed(2)}`)
      .join(', ');
    lines.push(
      `FLOPs: ${formatFlops(t.flops)} trained + ${formatFlops(t.selection_flops)} re-selection vs ${formatFlops(t.flops_full)} for full fine-tuning (${(t.flops_saved_ratio * 100).toFixed(1)} % saved)`,
      `energy: ${(t.energy_joules / 1000).toFixed(2)} kJ (${t.energy_method}${phases ? `; ${phases} kJ` : ''}); CO2e ${t.emissions_grams.toFixed(3)} g, avoided ${t.emissions_avoided_grams.toFixed(3)} g`,
    );
  }
  if (s.timeline.length > 0) {
    lines.push('ρ over time:');
    for (const e of s.timeline)
      lines.push(`  ${e.time}  ρ ${e.rho.toFixed(2)}${e.pause ? ' paused' : ''}  ${e.reason}`);
  }
  const report = j.report;
  for (const when of ['before', 'after'] as const) {
    for (const r of report?.evaluation[when] ?? []) {
      const rouge = r.rouge
        ? `, ROUGE-1/2/L ${r.rouge.rouge1.toFixed(2)}/${r.rouge.rouge2.toFixed(2)}/${r.rouge.rougeL.toFixed(2)}`
        : '';
      lines.push(`evaluation ${when}: ${r.split} loss ${r.loss?.toFixed(4)}${rouge}`);
    }
  }
  if (s.report_svg)
    lines.push(`report: ${s.report_svg} (intensity, ρ, pauses, CO2e, loss and layers over time)`);
  return lines.join('\n');
}
