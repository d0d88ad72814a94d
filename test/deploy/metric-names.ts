// The metrics the daemon exports, as deploy/ and grafana/ rely on them: names, types and labels
// (besides the `job` and `instance` target labels Prometheus adds). One list for the dashboard,
// the alert rules and the daemon's end-to-end test, so none of them can drift from the others.

/** Prometheus metric type and the labels a series carries. */
export interface MetricSpec {
  type: 'counter' | 'gauge' | 'histogram';
  labels: readonly string[];
}

/** `run` is the job's name from the daemon config; daemon-wide metrics do not carry it. */
export const GREENTRAINER_METRICS = {
  greentrainer_rho: { type: 'gauge', labels: [] },
  greentrainer_rho_effective: { type: 'gauge', labels: ['run'] },
  greentrainer_rho_floor: { type: 'gauge', labels: [] },
  greentrainer_carbon_intensity_grams_per_kwh: { type: 'gauge', labels: ['provider', 'region'] },
  greentrainer_carbon_data_age_seconds: { type: 'gauge', labels: [] },
  greentrainer_forecast_horizon_seconds: { type: 'gauge', labels: [] },
  greentrainer_carbon_fetch_errors_total: { type: 'counter', labels: ['provider', 'reason'] },
  greentrainer_polls_skipped_total: { type: 'counter', labels: ['feed'] },
  greentrainer_daemon_errors_total: { type: 'counter', labels: ['where'] },
  greentrainer_paused: { type: 'gauge', labels: [] },
  greentrainer_training_flops_total: { type: 'counter', labels: ['run'] },
  greentrainer_training_flops_full_total: { type: 'counter', labels: ['run'] },
  greentrainer_training_flops_executed_ratio: { type: 'gauge', labels: ['run'] },
  greentrainer_energy_joules_total: { type: 'counter', labels: ['device', 'method', 'phase'] },
  greentrainer_emissions_grams_total: { type: 'counter', labels: [] },
  greentrainer_emissions_avoided_grams_total: { type: 'counter', labels: [] },
  greentrainer_training_steps_total: { type: 'counter', labels: ['run'] },
  greentrainer_training_loss: { type: 'gauge', labels: ['run'] },
  greentrainer_step_duration_seconds: { type: 'histogram', labels: ['run'] },
  greentrainer_selections_total: { type: 'counter', labels: ['run'] },
  greentrainer_selection_flops_total: { type: 'counter', labels: ['run'] },
  greentrainer_selection_duration_seconds: { type: 'histogram', labels: ['run'] },
  greentrainer_tensor_selected: { type: 'gauge', labels: ['run', 'layer'] },
  greentrainer_trainer_up: { type: 'gauge', labels: ['run'] },
  greentrainer_trainer_restarts_total: { type: 'counter', labels: ['run'] },
  greentrainer_trainer_failures_total: { type: 'counter', labels: ['run', 'kind'] },
  greentrainer_job_failed: { type: 'gauge', labels: ['run'] },
  greentrainer_job_progress_ratio: { type: 'gauge', labels: ['run'] },
  greentrainer_job_eta_seconds: { type: 'gauge', labels: ['run'] },
} as const satisfies Record<string, MetricSpec>;

export type GreentrainerMetric = keyof typeof GREENTRAINER_METRICS;

/** Every series name a scrape can hold: histograms expose `_bucket`, `_sum` and `_count`. */
export function seriesNames(): Set<string> {
  const names = new Set<string>();
  for (const [name, spec] of Object.entries(GREENTRAINER_METRICS)) {
    if (spec.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

/** The greentrainer series names a PromQL expression mentions (label names and values excluded). */
export function greentrainerNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(withoutStrings.match(/\bgreentrainer_[a-z0-9_]+/g) ?? [])];
}
