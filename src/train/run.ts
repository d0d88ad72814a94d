/**
 * One fine-tuning job, end to end: loads the model, tokenizer and data, trains with the
 * GreenTrainer loop (or a baseline), checkpoints atomically, takes ρ, pause, checkpoint and stop
 * requests at step boundaries, evaluates, and writes the fine-tuned model and `report.json`.
 * It reports through `emit` only; the CLI and the daemon's trainer process decide what to show.
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readJsonFile } from '../config/json-file.js';
import { type FlopsProfile, profileFlops } from '../greentrainer/flops.js';
import { trainableFloor } from '../greentrainer/rho.js';
import { importanceFlops, lora, maskFlops, prefixTuning } from '../greentrainer/schemes.js';
import { makeDirectory } from '../io/make-directory.js';
import { loadModel, saveModel } from '../models/checkpoint.js';
import type { LossPass } from '../models/loss.js';
import { writeSafetensors } from '../models/safetensors.js';
import { TextTokenizer } from '../models/tokenizer.js';
import { AdamW } from './adamw.js';
import { BatchStream } from './batches.js';
import { DatasetError } from './data.js';
import { executedFlops } from './flops-audit.js';
import { encodeOptions, type Job } from './job.js';
import { checkJobModel } from './job-checks.js';
import {
  batchList,
  batchTensors,
  encodeFor,
  type LanguageModel,
  lmLoss,
  type Sequence,
  sequenceTokens,
} from './lm-batch.js';
import { linearLr } from './lr-schedule.js';
import { Prefix } from './prefix.js';
import { RunIoError } from './run-errors.js';
import { evaluateModel } from './run-evaluation.js';
import {
  type EvaluationReport,
  type Phase,
  type RunEvent,
  type RunReport,
  savedRatio,
} from './run-events.js';
import { RunFolder } from './run-folder.js';
import { checkRunState, restoreRun, snapshotRun, type Totals } from './run-state.js';
import { loadSplits, type Splits } from './splits.js';
import { startingPoint } from './starting-point.js';
import { type SelectionEvent, Trainer, TrainingError } from './trainer.js';

export interface RunOptions {
  /** Continue from the newest complete checkpoint in the run folder. */
  readonly resume?: boolean;
  /** Remove the run folder's checkpoints and start from step 1 (never implied: it discards work). */
  readonly restart?: boolean;
  /** ρ to start with instead of the job's (a resumed run switches at its next step). */
  readonly rho?: number;
  /** Raise a ρ below the job's trainable floor to it (the daemon) instead of refusing it (the CLI). */
  readonly clampRho?: boolean;
  /** Skip evaluation (tests, daemons that evaluate elsewhere). */
  readonly evaluate?: boolean;
  /** Report each test example's metrics too (`per_example`; the study runner pairs runs by them). */
  readonly perExample?: boolean;
  readonly backend: string;
  readonly emit: (e: RunEvent) => void;
  /** The daemon's pid, recorded in the run folder's lock (a lock whose daemon is gone is taken over). */
  readonly lockParent?: number;
}

/** A job whose tensor-free checks passed and whose run folder is locked (`TrainingRun.prepare`). */
export interface PreparedRun {
  /** Loads the model and data onto the backend now active (named for the report). */
  open(backend: string): TrainingRun;
  /** Releases the run folder's lock without opening (the backend failed to start). */
  release(): void;
}

export class TrainingRun {
  private paused = false;
  private stopRequested = false;
  private checkpointRequested = false;
  private auditNext = false;
  private lastCheckpointStep: number | undefined;
  private readonly profiles = new Map<string, FlopsProfile>();

  private constructor(
    readonly job: Job,
    private readonly o: RunOptions,
    private readonly model: LanguageModel,
    private readonly tok: TextTokenizer,
    private readonly data: {
      train: Sequence[];
      validation: Sequence[];
      test: number;
      prefix?: Prefix;
    },
    private readonly splits: Splits,
    private readonly folder: RunFolder,
    private readonly trainer: Trainer,
    private readonly optimizer: AdamW,
    private readonly stream: BatchStream,
    private readonly totals: Totals,
    readonly totalSteps: number,
    private readonly touched: Set<string>,
    private readonly resumedFrom: string | undefined,
    /** Reports a phase as it begins (once per change). */
    private readonly setPhase: (phase: Phase) => void,
  ) {}

  /** Opens a job: validates everything it reads before any step runs. */
  static open(job: Job, o: RunOptions): TrainingRun {
    return TrainingRun.prepare(job, o).open(o.backend);
  }

  /**
   * The checks of `open` that need no tensor, and so no backend: the job against its model's
   * config, the dataset, the run folder's lock and the checkpoint to start from. A caller that
   * starts the backend in between (`train`) refuses bad input without loading TensorFlow.
   */
  static prepare(job: Job, o: Omit<RunOptions, 'backend'>): PreparedRun {
    if (o.resume && o.restart)
      throw new TrainingError('--resume and --restart exclude each other: choose one');
    checkJobModel(job);
    const splits = loadSplits(job.dataset);
    const folder = RunFolder.lock(job.output, o.lockParent);
    try {
      const store = folder.checkpoints(job.checkpoint.keep);
      for (const path of store.clean())
        o.emit({
          type: 'log',
          level: 'warn',
          message: `removed ${path}, left by a checkpoint write that did not finish`,
        });
      const latest = startingPoint(store, job.output, o);
      if (latest) checkRunState(latest, job, splits.train.length);
      return {
        open: (backend) => TrainingRun.build(job, { ...o, backend }, splits, folder, latest),
        release: () => folder.release(),
      };
    } catch (error) {
      folder.release();
      throw error;
    }
  }

  private static build(
    job: Job,
    o: RunOptions,
    splits: Splits,
    folder: RunFolder,
    latest: ReturnType<typeof startingPoint>,
  ): TrainingRun {
    try {
      const tok = TextTokenizer.load(job.model);
      const eosId = tok.eosId;
      if (eosId === undefined) throw new DatasetError(`${job.model}: the tokenizer has no eos_token`);
      const model = loadModel(job.model);
      const enc = encodeOptions(job, eosId, splits.task, model.spec.encoderDecoder);
      const encode = (xs: typeof splits.train) => xs.map((e) => encodeFor(model, e, tok, enc));
      const optimizer = new AdamW({ weightDecay: job.train.weight_decay });
      const stream = new BatchStream(splits.train.length, job.train.batch_size, job.train.seed);
      const microPerEpoch = stream.batchesPerEpoch;
      const totalSteps =
        job.train.max_steps ?? Math.ceil((job.train.epochs * microPerEpoch) / job.train.grad_accum);
      const train = encode(splits.train);
      const mean = (length: (s: Sequence) => number) =>
        Math.round(train.reduce((a, s) => a + length(s), 0) / train.length);
      const profile = profileFlops(model.spec, {
        batch: job.train.batch_size,
        inputLength: mean((s) => s.ids.length),
        outputLength: model.spec.encoderDecoder ? mean((s) => s.labels.length) : 0,
      });
      const schedule = { lr: job.train.lr, warmupSteps: job.train.warmup_steps, totalSteps };
      const floor = trainableFloor(
        profile.tensors.map((t) => t.tDy),
        profile.tensors.map((t) => t.tDw),
        profile.forward,
        profile.backward,
      );
      let rho = o.rho ?? job.rho;
      if (o.clampRho && job.method === 'greentrainer' && rho < floor) {
        const raised = Math.ceil(floor * 1000) / 1000;
        o.emit({
          type: 'log',
          level: 'warn',
          message: `ρ ${rho} is below the trainable floor; training at ${raised}`,
        });
        rho = raised;
      }
      const adapters =
        job.method === 'lora'
          ? model.params.addLora(
              model.spec.loraTargets.map((t) => t.weight),
              job.lora.rank,
              job.lora.alpha,
              job.train.seed,
            )
          : [];
      const prefix =
        job.method === 'prefix' ? new Prefix(model, job.prefix.length, job.train.seed) : undefined;
      const extra = prefix
        ? { names: prefix.names, flops: prefixTuning(model.spec, profile, job.prefix.length).flops }
        : job.method === 'lora'
          ? { names: adapters, flops: lora(model.spec, profile, job.lora.rank).flops }
          : undefined;
      let phase: Phase | undefined;
      const setPhase = (next: Phase) => {
        if (next === phase) return;
        phase = next;
        o.emit({ type: 'phase', phase: next });
      };
      const trainer = new Trainer(model.spec, model.params, optimizer, profile, {
        onPhase: setPhase,
        method: job.method,
        rho,
        ...(extra ? { fixed: extra } : {}),
        intervalSteps: job.selection.interval_steps,
        importance: job.selection.importance,
        moments: job.selection.moments,
        resolution: job.selection.resolution,
        lr: (step) => linearLr(schedule, step),
        ...(job.train.max_grad_norm !== undefined ? { maxGradNorm: job.train.max_grad_norm } : {}),
      });
      const totals: Totals = { flops: 0, fullFlops: 0, selectionFlops: 0, trainSeconds: 0, lastLoss: null };
      const touched = new Set<string>();
      let resumedFrom: string | undefined;
      let s = stream;
      if (latest) {
        for (const skipped of latest.skipped)
          o.emit({
            type: 'log',
            level: 'warn',
            message: `skipped checkpoint ${skipped.path}: ${skipped.reason}`,
          });
        s = restoreRun(latest, {
          job,
          model,
          optimizer,
          trainer,
          totals,
          touched,
          trainExamples: train.length,
        });
        if (o.rho !== undefined) trainer.setRho(rho);
        resumedFrom = latest.path;
      }
      const validation = encode(splits.validation);
      return new TrainingRun(
        job,
        o,
        model,
        tok,
        { train, validation, test: splits.test.length, prefix },
        splits,
        folder,
        trainer,
        optimizer,
        s,
        totals,
        totalSteps,
        touched,
        resumedFrom,
        setPhase,
      );
    } catch (error) {
      folder.release();
      throw error;
    }
  }

  /** A resumed run's checkpoint is its last one: stopping before a step writes no duplicate. */
  private get resumedStep(): number {
    return this.resumedFrom ? this.trainer.steps : -1;
  }

  /** A new ρ for the next step boundary (checked now: throws RhoError below the floor). */
  setRho(rho: number): void {
    this.trainer.setRho(rho);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Checkpoint at the next step boundary (or at once while paused). */
  requestCheckpoint(): void {
    this.checkpointRequested = true;
  }

  /** Checkpoint and return from `run` at the next step boundary. */
  requestStop(): void {
    this.stopRequested = true;
  }

  get step(): number {
    return this.trainer.steps;
  }

  async run(): Promise<RunReport> {
    const { job, o } = this;
    o.emit({
      type: 'start',
      job: job.name,
      backend: o.backend,
      step: this.step,
      totalSteps: this.totalSteps,
      flops: this.totals.flops,
      fullFlops: this.totals.fullFlops,
      selectionFlops: this.totals.selectionFlops,
      ...(this.resumedFrom ? { resumedFrom: this.resumedFrom } : {}),
      tensors: this.model.params.names().length,
      rhoFloor: job.method === 'greentrainer' ? this.trainer.floor : 1,
      examples: {
        train: this.data.train.length,
        validation: this.data.validation.length,
        test: this.data.test,
      },
    });
    let ok = false;
    try {
      this.lastCheckpointStep ??= this.resumedStep;
      const before =
        (o.evaluate ?? true) && job.eval.before && this.step === 0
          ? await this.evaluate('before')
          : undefined;
      while (this.step < this.totalSteps && !this.stopRequested) {
        if (this.paused) {
          if (this.checkpointRequested) this.checkpoint('request');
          this.setPhase('idle');
          await sleep(50);
          continue;
        }
        this.setPhase('train');
        await this.trainStep();
        if (this.checkpointRequested || this.step % job.checkpoint.every_steps === 0) {
          this.checkpoint(this.checkpointRequested ? 'request' : 'interval');
        }
        await sleep(0);
      }
      const finished = this.step >= this.totalSteps;
      if (this.lastCheckpointStep !== this.step) this.checkpoint(finished ? 'end' : 'stop');
      const report = (finished && (await this.finish(before))) || this.report('stopped', before, undefined);
      o.emit({ type: 'done', report });
      ok = true;
      return report;
    } finally {
      this.model.dispose();
      this.optimizer.dispose();
      const error = this.folder.release();
      // After a failure, that failure is the news: a lock that cannot be unlinked (a read-only
      // remount) is not reported before it, and its pid, soon gone, lets the next run take it over.
      if (error && ok) o.emit({ type: 'log', level: 'warn', message: error.message });
    }
  }

  private async trainStep(): Promise<void> {
    const { job } = this;
    const from = this.stream.cursor;
    const epoch = this.stream.cursor.epoch;
    const micro = Array.from({ length: job.train.grad_accum }, () => this.stream.next());
    const made: tf.Tensor[] = [];
    const lossOf = (idx: number[]) => {
      const b = batchTensors(
        this.model,
        idx.map((i) => this.data.train[i]!),
        this.tok.padId ?? this.tok.eosId!,
      );
      made.push(...batchList(b));
      const prefix = this.data.prefix;
      return (pass?: LossPass) => (prefix ? prefix.loss(b) : lmLoss(this.model, b, pass));
    };
    const losses = micro.map(lossOf);
    let scoredOn: number[][] = [];
    const t0 = performance.now();
    let result: ReturnType<Trainer['step']> | undefined;
    let executed: number | undefined;
    const run = () => {
      // The importance batches start at this step's own: read only when a selection is due.
      result = this.trainer.step(losses, () => {
        scoredOn = this.stream.peek(job.selection.importance_batches, from);
        return scoredOn.map(lossOf);
      });
    };
    if (this.auditNext) {
      executed = executedFlops((await tf.profile(run)).kernels).total;
      this.auditNext = false;
    } else run();
    const seconds = (performance.now() - t0) / 1000;
    tf.dispose(made);
    const r = result!;
    // Without an importance thunk call the trainer scored the step's own batches.
    if (r.selection) this.onSelection(r.selection, scoredOn.length > 0 ? scoredOn : micro);
    const { flops, full } = this.stepFlops(micro);
    this.totals.flops += flops;
    this.totals.fullFlops += full;
    this.totals.trainSeconds += seconds;
    this.totals.lastLoss = r.loss;
    if (!Number.isFinite(r.loss)) throw new TrainingError(`step ${r.step}: the loss is ${r.loss}`);
    this.o.emit({
      type: 'step',
      step: r.step + 1,
      totalSteps: this.totalSteps,
      epoch,
      loss: r.loss,
      rho: r.rho,
      lr: this.trainer.lrAt(r.step),
      flops,
      fullFlops: full,
      ...(executed !== undefined ? { executedFlops: executed } : {}),
      seconds,
      tokens: micro.flat().reduce((a, i) => a + sequenceTokens(this.model, this.data.train[i]!), 0),
    });
  }

  /** The FLOPs profile of one batch at its real shape (cached by shape). */
  private profileOf(idx: number[]): FlopsProfile {
    const longest = (length: (s: Sequence) => number) =>
      Math.max(...idx.map((i) => length(this.data.train[i]!)));
    const seq = longest((s) => s.ids.length);
    const out = this.model.spec.encoderDecoder ? longest((s) => s.labels.length) : 0;
    const key = `${idx.length}x${seq}x${out}`;
    let p = this.profiles.get(key);
    if (!p) {
      p = profileFlops(this.model.spec, { batch: idx.length, inputLength: seq, outputLength: out });
      this.profiles.set(key, p);
    }
    return p;
  }

  /** Modeled FLOPs of the step just taken, at the real shape of each micro-batch. */
  private stepFlops(micro: number[][]): { flops: number; full: number } {
    const chosen = new Set(this.trainer.trainable);
    let flops = 0;
    let full = 0;
    for (const idx of micro) {
      const p = this.profileOf(idx);
      flops +=
        this.job.method === 'lora'
          ? lora(this.model.spec, p, this.job.lora.rank).flops
          : this.job.method === 'prefix'
            ? prefixTuning(this.model.spec, p, this.job.prefix.length).flops
            : maskFlops(
                p,
                p.tensors.map((t) => (chosen.has(t.name) ? 1 : 0)),
              ).flops;
      full += p.full;
    }
    return { flops, full };
  }

  /**
   * Modeled FLOPs of a selection's importance passes: per scored batch, the forward and the
   * backward that gives every scored tensor its gradient (the cost of training all of them).
   */
  private selectionFlops(s: SelectionEvent, batches: number[][]): number {
    return batches.reduce((a, idx) => a + importanceFlops(this.profileOf(idx), s.scored), 0);
  }

  private onSelection(s: SelectionEvent, scoredOn: number[][]): void {
    const flops = this.selectionFlops(s, scoredOn);
    this.totals.selectionFlops += flops;
    for (const n of s.selected) this.touched.add(n);
    this.auditNext = true;
    const byLayer = new Map<string, [number, number]>();
    const chosen = new Set(s.selected);
    for (const t of this.model.spec.tensors.values()) {
      const [k, n] = byLayer.get(t.layer) ?? [0, 0];
      byLayer.set(t.layer, [k + (chosen.has(t.name) ? 1 : 0), n + 1]);
    }
    const layers = Object.fromEntries([...byLayer].map(([l, [k, n]]) => [l, k / n]));
    this.o.emit({ type: 'selection', ...s, layers, flops });
  }

  private checkpoint(reason: 'interval' | 'request' | 'stop' | 'end'): void {
    this.setPhase('checkpoint');
    const t0 = performance.now();
    const store = this.folder.checkpoints(this.job.checkpoint.keep);
    const path = store.save(
      snapshotRun({
        job: this.job,
        model: this.model,
        optimizer: this.optimizer,
        trainer: this.trainer,
        cursor: this.stream.cursor,
        totals: this.totals,
        touched: this.touched,
        trainExamples: this.data.train.length,
      }),
    );
    this.checkpointRequested = false;
    this.lastCheckpointStep = this.step;
    this.o.emit({
      type: 'checkpoint',
      step: this.step,
      path,
      seconds: (performance.now() - t0) / 1000,
      reason,
    });
  }

  /** Evaluates unless a stop request comes first (undefined then: the evaluation is cut short). */
  private async evaluate(when: 'before' | 'after'): Promise<EvaluationReport[] | undefined> {
    this.o.emit({ type: 'log', level: 'info', message: `evaluating (${when} training)` });
    this.setPhase('eval');
    const reports = await evaluateModel(
      this.model,
      this.tok,
      this.job,
      this.splits,
      this.data.validation,
      this.data.prefix,
      () => this.stopRequested,
      this.o.perExample ?? false,
    );
    if (reports) this.o.emit({ type: 'evaluation', when, reports });
    return reports;
  }

  /** Writes the model, evaluates it and writes report.json; undefined when a stop cut the evaluation. */
  private async finish(before: EvaluationReport[] | undefined): Promise<RunReport | undefined> {
    const modelDir = join(this.job.output, 'model');
    // Writing the fine-tuned model is I/O like a checkpoint's.
    this.setPhase('checkpoint');
    const config = readJsonFile(join(this.job.model, 'config.json'));
    this.model.params.mergeLora();
    saveModel(this.model, config, modelDir);
    const prefix = this.data.prefix;
    if (prefix) {
      // Prefix vectors are not part of a Hugging Face checkpoint: saved beside it.
      writeSafetensors(
        join(modelDir, 'prefix.safetensors'),
        prefix.names.map((n) => {
          const v = this.model.params.get(n);
          return { name: n, shape: v.shape, data: v.dataSync() as Float32Array };
        }),
        { format: 'greentrainer-prefix' },
      );
    }
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      if (existsSync(join(this.job.model, f))) copyFileSync(join(this.job.model, f), join(modelDir, f));
    }
    const after = (this.o.evaluate ?? true) ? await this.evaluate('after') : undefined;
    if ((this.o.evaluate ?? true) && !after) return undefined;
    const report = this.report('finished', before, after, modelDir);
    const file = join(this.job.output, 'report.json');
    try {
      makeDirectory(this.job.output);
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    } catch (error) {
      throw new RunIoError('write', file, error);
    }
    return report;
  }

  private report(
    status: RunReport['status'],
    before: EvaluationReport[] | undefined,
    after: EvaluationReport[] | undefined,
    model?: string,
  ): RunReport {
    const t = this.totals;
    return {
      job: this.job.name,
      method: this.job.method,
      backend: this.o.backend,
      steps: this.step,
      status,
      flops: {
        training: t.flops,
        selection: t.selectionFlops,
        full: t.fullFlops,
        saved_ratio: savedRatio(t.flops, t.selectionFlops, t.fullFlops),
      },
      train_seconds: t.trainSeconds,
      final_loss: t.lastLoss,
      evaluation: { ...(before ? { before } : {}), ...(after ? { after } : {}) },
      ...(model ? { model } : {}),
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}
