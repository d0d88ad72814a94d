/**
 * `greentrainer train --job FILE`: runs one fine-tuning job in the foreground with a progress bar
 * (loss, ρ, step time, FLOPs saved), or JSON lines with `--json`. SIGINT/SIGTERM checkpoint and
 * stop at the next step boundary; `--resume` continues from the newest complete checkpoint.
 */
import { SingleBar } from 'cli-progress';
import { initBackend } from '../backend/select.js';
import { backendFromEnv } from '../config/env.js';
import { eventRecord, RunLog } from '../daemon/run-log.js';
import { writeRunReport } from '../report/write.js';
import { readJob } from '../train/job.js';
import { TrainingRun } from '../train/run.js';
import type { EvaluationReport, RunEvent, RunReport } from '../train/run-events.js';
import { formatFlops } from './table.js';

export interface TrainOptions {
  readonly job: string;
  readonly rho?: number;
  readonly resume?: boolean;
  readonly restart?: boolean;
  readonly maxSteps?: number;
  readonly eval?: boolean;
  readonly json?: boolean;
}

export async function runTrain(
  o: TrainOptions,
  out: (line: string) => void = console.log,
): Promise<RunReport> {
  const job = readJob(o.job);
  const effective = o.maxSteps ? { ...job, train: { ...job.train, max_steps: o.maxSteps } } : job;
  const forced = backendFromEnv();
  const show = o.json ? jsonView(out) : humanView(out);
  // The run log (`timeline.jsonl`) the daemon also writes: the report's charts are drawn from it.
  const warn = (message: string) =>
    out(o.json ? JSON.stringify({ type: 'warning', message }) : `warning: ${message}`);
  const log = new RunLog(effective.output, warn);
  const record = {
    selectionIntervalSteps: effective.selection.interval_steps,
    checkpointIntervalSteps: effective.checkpoint.every_steps,
  };
  const view = (e: RunEvent) => {
    const r = eventRecord(e, new Date().toISOString(), record);
    if (r) log.append(r);
    show(e);
  };
  // Bad input is refused before the backend starts: native TensorFlow costs seconds and ~300 MB.
  const prepared = TrainingRun.prepare(effective, {
    resume: o.resume ?? false,
    restart: o.restart ?? false,
    ...(o.rho !== undefined ? { rho: o.rho } : {}),
    evaluate: o.eval ?? true,
    emit: view,
  });
  let backend: Awaited<ReturnType<typeof initBackend>>;
  try {
    backend = await initBackend(forced ? { backend: forced } : {});
  } catch (error) {
    prepared.release();
    throw error;
  }
  const run = prepared.open(backend.name);
  const stop = (signal: string) => {
    out(o.json ? JSON.stringify({ type: 'signal', signal }) : `\n${signal}: checkpointing and stopping…`);
    run.requestStop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const report = await run.run();
    const svg = writeRunReport(effective.output, effective.name, warn);
    if (svg) out(o.json ? JSON.stringify({ type: 'report', file: svg }) : `report: ${svg}`);
    return report;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function jsonView(out: (line: string) => void): (e: RunEvent) => void {
  return (e) => out(JSON.stringify(e));
}

function humanView(out: (line: string) => void): (e: RunEvent) => void {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  let saved = { flops: 0, full: 0 };
  return (e) => {
    switch (e.type) {
      case 'start':
        out(
          `${e.job}: ${e.examples.train} training examples, ${e.tensors} tensors, backend ${e.backend}` +
            (e.resumedFrom ? `; resumed from ${e.resumedFrom} at step ${e.step}` : ''),
        );
        if (tty) {
          bar = new SingleBar({
            format:
              '{bar} {value}/{total} steps | loss {loss} | ρ {rho} | {ms} ms/step | FLOPs saved {saved} | ETA {eta_formatted}',
            hideCursor: true,
          });
          bar.start(e.totalSteps, e.step, { loss: '-', rho: '-', ms: '-', saved: '-' });
        }
        break;
      case 'step': {
        saved = { flops: saved.flops + e.flops, full: saved.full + e.fullFlops };
        const fields = {
          loss: e.loss.toFixed(4),
          rho: e.rho.toFixed(2),
          ms: (e.seconds * 1000).toFixed(0),
          saved: `${((1 - saved.flops / saved.full) * 100).toFixed(1)} %`,
        };
        if (bar) bar.update(e.step, fields);
        else if (e.step % 10 === 0 || e.step === e.totalSteps)
          out(
            `step ${e.step}/${e.totalSteps} loss ${fields.loss} ρ ${fields.rho} ${fields.ms} ms FLOPs saved ${fields.saved}`,
          );
        break;
      }
      case 'selection':
        if (!bar)
          out(
            `selection for step ${e.step + 1}: ρ ${e.rho} (ρ_bp ${e.rhoBp.toFixed(3)}), ${e.tensors} tensors, depth ${e.depth}, ` +
              `modeled FLOPs ${(e.flopsRatio * 100).toFixed(1)} % of full, ${e.ms.toFixed(0)} ms`,
          );
        break;
      case 'checkpoint':
        if (!bar || e.reason !== 'interval')
          out(`checkpoint ${e.path} (${e.reason}, ${e.seconds.toFixed(2)} s)`);
        break;
      case 'evaluation':
        bar?.stop();
        bar = undefined;
        out(`evaluation ${e.when} training:`);
        for (const r of e.reports) out(`  ${formatEvaluation(r)}`);
        break;
      case 'log':
        out(`${e.level}: ${e.message}`);
        break;
      case 'done':
        bar?.stop();
        out(
          `${e.report.status} after ${e.report.steps} steps in ${e.report.train_seconds.toFixed(1)} s of training; ` +
            `FLOPs ${formatFlops(e.report.flops.training)} trained + ${formatFlops(e.report.flops.selection)} re-selection ` +
            `vs ${formatFlops(e.report.flops.full)} full fine-tuning (${(e.report.flops.saved_ratio * 100).toFixed(1)} % saved)` +
            (e.report.model ? `; model saved to ${e.report.model}` : ''),
        );
        break;
    }
  };
}

export function formatEvaluation(r: EvaluationReport): string {
  const parts = [`${r.split} (${r.examples} examples)`];
  if (r.loss !== undefined) parts.push(`loss ${r.loss.toFixed(4)}`, `perplexity ${r.perplexity!.toFixed(2)}`);
  if (r.rouge)
    parts.push(
      `ROUGE-1 ${r.rouge.rouge1.toFixed(2)}`,
      `ROUGE-2 ${r.rouge.rouge2.toFixed(2)}`,
      `ROUGE-L ${r.rouge.rougeL.toFixed(2)}`,
      `ROUGE-Lsum ${r.rouge.rougeLsum.toFixed(2)}`,
    );
  if (r.qa) parts.push(`exact match ${r.qa.exact_match.toFixed(2)}`, `F1 ${r.qa.f1.toFixed(2)}`);
  if (r.accuracy !== undefined) parts.push(`accuracy ${r.accuracy.toFixed(2)}`);
  return parts.join(', ');
}
