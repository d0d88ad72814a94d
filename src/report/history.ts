/**
 * A run's history for charts: the run log's records (`timeline.jsonl`) folded into bounded
 * series — steps (ρ, loss, CO2e so far), the intensity in force, pauses and selections. A
 * week-long job logs a record a step; the series keep at most `maxPoints` each by dropping every
 * other point when full (cumulative series stay exact at the points kept), so memory and the
 * chart's size do not grow with the run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_LOG, type RunLogRecord, readRunLog } from '../daemon/run-log.js';

export interface HistoryStep {
  readonly t: number;
  readonly step: number;
  readonly rho: number;
  readonly loss?: number;
  /** The job's CO2e emitted so far, and what full fine-tuning of the same steps would have emitted (g). */
  readonly emittedG?: number;
  readonly fullG?: number;
}

export interface HistorySelection {
  readonly t: number;
  readonly step: number;
  readonly rho: number;
  readonly layers: Readonly<Record<string, number>>;
}

export interface Span {
  readonly from: number;
  /** Undefined while the span is open. */
  to?: number;
}

const DEFAULT_MAX_POINTS = 1500;

export class RunHistory {
  readonly steps: HistoryStep[] = [];
  readonly intensity: Array<{ readonly t: number; readonly intensity: number }> = [];
  readonly pauses: Span[] = [];
  readonly selections: HistorySelection[] = [];
  /** Wall time of the first and last record. */
  first: number | undefined;
  last: number | undefined;
  totalSteps: number | undefined;

  constructor(private readonly maxPoints = DEFAULT_MAX_POINTS) {}

  /** The history of a run folder's log; a log that cannot be read gives an empty history, reported once. */
  static fromFolder(folder: string, onError: (message: string) => void, maxPoints?: number): RunHistory {
    const h = new RunHistory(maxPoints);
    if (!existsSync(join(folder, RUN_LOG))) return h;
    try {
      for (const r of readRunLog(folder)) h.add(r);
    } catch (error) {
      onError(`the charts start empty: ${(error as Error).message}`);
    }
    return h;
  }

  add(r: RunLogRecord): void {
    const t = Date.parse(r.time);
    this.first ??= t;
    this.last = Math.max(this.last ?? t, t);
    switch (r.type) {
      case 'start':
        this.totalSteps = r.total_steps;
        // A (re)started trainer is not paused until the daemon says so again.
        this.closePause(t);
        break;
      case 'step':
        push(this.steps, this.maxPoints, {
          t,
          step: r.step,
          rho: r.rho,
          ...(r.loss !== undefined && Number.isFinite(r.loss) ? { loss: r.loss } : {}),
          ...(r.emitted_g !== undefined
            ? { emittedG: r.emitted_g, fullG: r.emitted_g + (r.avoided_g ?? 0) }
            : {}),
        });
        break;
      case 'intensity':
        push(this.intensity, this.maxPoints, { t, intensity: r.intensity });
        break;
      case 'decision':
        if (r.pause && this.pauses.at(-1)?.to !== undefined) this.pauses.push({ from: t });
        else if (r.pause && this.pauses.length === 0) this.pauses.push({ from: t });
        else if (!r.pause) this.closePause(t);
        if (this.pauses.length > this.maxPoints) this.pauses.splice(0, this.pauses.length - this.maxPoints);
        break;
      case 'selection':
        if (r.layers)
          push(this.selections, this.maxPoints, { t, step: r.step, rho: r.rho, layers: r.layers });
        break;
      case 'done':
        this.closePause(t);
        break;
      default:
        break;
    }
  }

  private closePause(t: number): void {
    const open = this.pauses.at(-1);
    if (open && open.to === undefined) open.to = t;
  }
}

/** Appends, halving the series (every other point, the newest kept) when it is full. */
function push<T>(series: T[], max: number, point: T): void {
  series.push(point);
  if (series.length <= max) return;
  const kept = series.filter((_, k) => (series.length - 1 - k) % 2 === 0);
  series.splice(0, series.length, ...kept);
}
