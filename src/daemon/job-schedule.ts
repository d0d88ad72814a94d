/**
 * The daemon's view of its job on the execution model (src/schedule/): it measures the machine
 * from the trainer's events (Pace), records the run in `timeline.jsonl` (RunLog), keeps the
 * budget's latest plan, and answers what the policy and `/v1/status` ask of them — the job's
 * progress, the plan ahead and the ETA.
 */

import type { JobProgress } from '../policy/budget.js';
import type { Decision } from '../policy/evaluate.js';
import { type HistorySelection, RunHistory } from '../report/history.js';
import { runReportSvg } from '../report/run-report.js';
import { writeRunReport } from '../report/write.js';
import { type ExecutionModel, runSecondsFor } from '../schedule/model.js';
import { Pace } from '../schedule/pace.js';
import { type Plan, planSpans } from '../schedule/planner.js';
import type { RunEvent } from '../train/run-events.js';
import type { Accounting } from './accounting.js';
import { eventRecord, RunLog, type RunLogRecord } from './run-log.js';

export interface JobScheduleOptions {
  /** The run folder (`job.output`), where `timeline.jsonl` goes. */
  readonly output: string;
  readonly selectionIntervalSteps: number;
  readonly checkpointIntervalSteps: number;
  /** Priors until the meter measures: watts while training (0: none), and while paused. */
  readonly powerRunW: number;
  readonly powerIdleW: number;
}

export class JobSchedule {
  private readonly pace = new Pace();
  private readonly log: RunLog;
  /** The run so far, bounded, for the charts: the log's records since this folder's first. */
  private readonly history: RunHistory;
  private lastIntensity: number | undefined;
  /** The budget's plan behind the decision in force, if the policy has one. */
  plan: Plan | undefined;
  /** The job's CO2e when its trainer first started under this daemon: `budget_g` counts from it. */
  private emissionsAtStart: number | undefined;

  constructor(
    private readonly o: JobScheduleOptions,
    private readonly onLogError: (message: string) => void,
  ) {
    this.log = new RunLog(o.output, onLogError);
    this.history = RunHistory.fromFolder(o.output, onLogError);
  }

  /** A trace replay began at `at`: `--from-run` needs its clock. */
  traceStarted(at: Date, file: string, speed: number): void {
    this.record({ type: 'trace', time: at.toISOString(), file, speed });
  }

  decided(at: Date, d: Decision, pauseChanged: boolean): void {
    this.record({ type: 'decision', time: at.toISOString(), rho: d.rho, pause: d.pause, reason: d.reason });
    if (pauseChanged) this.pace.break();
  }

  /** The machine as measured, once the trainer has stepped enough; the job's floor is a prior. */
  model(rhoFloor: number): ExecutionModel | undefined {
    return this.pace.model({ ...this.o, rhoFloor });
  }

  /** What a budget policy needs of the job, or undefined before the machine is measured. */
  progress(accounting: Accounting | undefined, rhoFloor: number): JobProgress | undefined {
    const model = this.model(rhoFloor);
    if (!model || !accounting) return undefined;
    const emittedG = accounting.totals.emissionsGrams - (this.emissionsAtStart ?? 0);
    return { stepsLeft: stepsLeft(accounting), model, emittedG };
  }

  /**
   * Seconds until the job's last step: to the end of the plan's last run for a budget policy,
   * else the steps left at ρ (pauses the policy will take are not foreseen). Undefined before the
   * machine is measured.
   */
  etaSeconds(now: Date, rho: number, accounting: Accounting, rhoFloor: number): number | undefined {
    const m = this.model(rhoFloor);
    if (!m) return undefined;
    const last = this.plan?.intervals.findLast((g) => g.runSeconds > 0);
    if (last) return (last.from - now.getTime()) / 1000 + last.runSeconds;
    return runSecondsFor(m, stepsLeft(accounting), rho);
  }

  /** The plan ahead for `/v1/status`: the budget's spans, or the decision in force. */
  planJson(now: Date, d: Decision): Array<{ from: string; rho: number; pause: boolean; intensity?: number }> {
    if (!this.plan) return [{ from: now.toISOString(), rho: d.rho, pause: d.pause }];
    return planSpans(this.plan).map((s) => ({
      ...s,
      from: new Date(s.from).toISOString(),
      intensity: Math.round(s.intensity * 10) / 10,
    }));
  }

  /** A trainer event, after `accounting` has taken it (its joules are the step's). */
  observe(e: RunEvent, at: Date, accounting: Accounting): void {
    const joules = accounting.lastStepJoules;
    const record = eventRecord(e, at.toISOString(), {
      selectionIntervalSteps: this.o.selectionIntervalSteps,
      checkpointIntervalSteps: this.o.checkpointIntervalSteps,
      joules,
      emittedG: accounting.totals.emissionsGrams,
      avoidedG: accounting.totals.avoidedGrams,
    });
    if (record) this.record(record);
    switch (e.type) {
      case 'start':
        this.emissionsAtStart ??= accounting.totals.emissionsGrams;
        this.pace.restart(at.getTime());
        break;
      case 'evaluation':
        // The steps start after it: their warm-up counts from here.
        if (e.when === 'before') this.pace.restart(at.getTime());
        break;
      case 'checkpoint':
        this.pace.checkpoint(e.seconds);
        break;
      case 'selection':
        this.pace.selection(e.ms / 1000, e.rho, e.flopsRatio);
        break;
      case 'step':
        this.pace.step(at.getTime(), { flops: e.flops, fullFlops: e.fullFlops, joules });
        break;
      default:
        break;
    }
  }

  /** The carbon intensity in force (gCO2eq/kWh), recorded when it changes. */
  intensity(at: Date, intensity: number | undefined): void {
    if (intensity === undefined || intensity === this.lastIntensity) return;
    this.lastIntensity = intensity;
    this.record({ type: 'intensity', time: at.toISOString(), intensity });
  }

  /** The run as charted (`/report.svg`, the status page) with the plan ahead. */
  reportSvg(now: Date, title: string): string {
    return runReportSvg(this.history, {
      title,
      now: now.getTime(),
      ...(this.plan ? { plan: this.plan } : {}),
    });
  }

  /** Writes `report.svg` in the run folder from the whole run log; returns the file written. */
  writeReport(title: string): string | undefined {
    return writeRunReport(this.o.output, title, this.onLogError);
  }

  /** The last selection: which layers it trains. */
  get lastSelection(): HistorySelection | undefined {
    return this.history.selections.at(-1);
  }

  private record(r: RunLogRecord): void {
    this.log.append(r);
    this.history.add(r);
  }
}

function stepsLeft(accounting: Accounting): number {
  return Math.max(0, accounting.job.totalSteps - accounting.job.step);
}
