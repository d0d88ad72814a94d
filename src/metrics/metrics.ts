/**
 * The daemon's Prometheus metrics (names, types and units as in ../shared/DESIGN.md), in one
 * registry with Node's default process metrics. Training metrics carry `run` (the job's name).
 * Only the daemon writes them, from the trainer's messages and the policy's decisions.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges `_total`, which `promtool check metrics` rejects; the per-type
  // `nodejs_active_handles{type}` (and requests, resources) carry the same information.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const registers = [registry];
  const run = ['run'] as const;
  return {
    registry,
    rho: new Gauge({
      name: 'greentrainer_rho',
      help: 'ρ the policy asks for (FLOPs objective, 0–1]',
      registers,
    }),
    rhoFloor: new Gauge({
      name: 'greentrainer_rho_floor',
      help: "Lowest ρ the daemon applies: the policy's rho_min, or the job's trainable floor where higher",
      registers,
    }),
    paused: new Gauge({ name: 'greentrainer_paused', help: '1 while the policy pauses training', registers }),
    rhoEffective: new Gauge({
      name: 'greentrainer_rho_effective',
      help: 'Modeled FLOPs of the current selection ÷ full fine-tuning',
      labelNames: run,
      registers,
    }),
    intensity: new Gauge({
      name: 'greentrainer_carbon_intensity_grams_per_kwh',
      help: 'Latest carbon-intensity reading (gCO2eq/kWh; percentile 0–100 for index signals)',
      labelNames: ['provider', 'region'] as const,
      registers,
    }),
    dataAge: new Gauge({
      name: 'greentrainer_carbon_data_age_seconds',
      help: 'Age of the carbon reading in use (before the first reading: how long the daemon has waited for one)',
      registers,
    }),
    forecastHorizon: new Gauge({
      name: 'greentrainer_forecast_horizon_seconds',
      help: 'How far ahead the carbon forecast in use reaches (0: none, the current intensity is assumed to persist)',
      registers,
    }),
    fetchErrors: new Counter({
      name: 'greentrainer_carbon_fetch_errors_total',
      help: 'Failed carbon-data polls, by reason',
      labelNames: ['provider', 'reason'] as const,
      registers,
    }),
    pollsSkipped: new Counter({
      name: 'greentrainer_polls_skipped_total',
      help: 'Scheduled polls skipped because the previous poll of the same feed was still in flight',
      labelNames: ['feed'] as const,
      registers,
    }),
    daemonErrors: new Counter({
      name: 'greentrainer_daemon_errors_total',
      help: 'Errors the daemon caught and logged instead of crashing, by where (decide, poll, http)',
      labelNames: ['where'] as const,
      registers,
    }),
    flops: new Counter({
      name: 'greentrainer_training_flops_total',
      help: 'FLOPs of training steps (FLOPs model at each step’s real shape; a multiply-add counts 2)',
      labelNames: run,
      registers,
    }),
    flopsFull: new Counter({
      name: 'greentrainer_training_flops_full_total',
      help: 'FLOPs full fine-tuning would have run for the same steps',
      labelNames: run,
      registers,
    }),
    executedRatio: new Gauge({
      name: 'greentrainer_training_flops_executed_ratio',
      help: 'Executed-FLOPs audit: kernel FLOPs the backend ran in the last audited step ÷ the FLOPs model',
      labelNames: run,
      registers,
    }),
    energy: new Counter({
      name: 'greentrainer_energy_joules_total',
      help: 'Energy drawn, by what the trainer was doing (phase: load, train, select, eval, checkpoint, idle); measured (nvml, rapl) or modelled (estimate)',
      labelNames: ['device', 'method', 'phase'] as const,
      registers,
    }),
    emissions: new Counter({
      name: 'greentrainer_emissions_grams_total',
      help: 'CO2e emitted: the energy of every phase × the carbon intensity in force while it was drawn',
      registers,
    }),
    avoided: new Counter({
      name: 'greentrainer_emissions_avoided_grams_total',
      help: 'CO2e avoided: (energy full fine-tuning of the same steps would have drawn − energy drawn for training and re-selection) × the intensity during those steps',
      registers,
    }),
    selectionFlops: new Counter({
      name: 'greentrainer_selection_flops_total',
      help: 'FLOPs of re-selection (importance passes, FLOPs model), to net from every FLOPs saved',
      labelNames: run,
      registers,
    }),
    steps: new Counter({
      name: 'greentrainer_training_steps_total',
      help: 'Optimizer steps',
      labelNames: run,
      registers,
    }),
    loss: new Gauge({
      name: 'greentrainer_training_loss',
      help: 'Training loss of the last step',
      labelNames: run,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'greentrainer_step_duration_seconds',
      help: 'Wall time of one training step',
      labelNames: run,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    selections: new Counter({
      name: 'greentrainer_selections_total',
      help: 'Tensor re-selections (importance + DP)',
      labelNames: run,
      registers,
    }),
    selectionDuration: new Histogram({
      name: 'greentrainer_selection_duration_seconds',
      help: 'Wall time of one re-selection',
      labelNames: run,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    }),
    tensorSelected: new Gauge({
      name: 'greentrainer_tensor_selected',
      help: "Fraction of a layer's tensors selected for training",
      labelNames: ['run', 'layer'] as const,
      registers,
    }),
    trainerUp: new Gauge({
      name: 'greentrainer_trainer_up',
      help: '1 while the trainer process runs',
      labelNames: run,
      registers,
    }),
    restarts: new Counter({
      name: 'greentrainer_trainer_restarts_total',
      help: 'Trainer restarts after a crash',
      labelNames: run,
      registers,
    }),
    failures: new Counter({
      name: 'greentrainer_trainer_failures_total',
      help: 'Trainer failures by kind: transient (busy lock, full or failing disk; retried with backoff), permanent, crash',
      labelNames: ['run', 'kind'] as const,
      registers,
    }),
    jobFailed: new Gauge({
      name: 'greentrainer_job_failed',
      help: '1 when the job failed (repeated crashes or a fatal error)',
      labelNames: run,
      registers,
    }),
    progress: new Gauge({
      name: 'greentrainer_job_progress_ratio',
      help: 'Steps done ÷ total steps',
      labelNames: run,
      registers,
    }),
    eta: new Gauge({
      name: 'greentrainer_job_eta_seconds',
      help: 'Estimated time to finish at the recent step rate',
      labelNames: run,
      registers,
    }),
  };
}
