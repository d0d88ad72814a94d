/**
 * The daemon's share of a job's totals, kept beside its checkpoints so they survive a daemon
 * restart: energy, CO2e and avoided CO2e after a given step. The trainer's checkpoint holds the
 * steps and FLOPs (the trainer counts those); energy and emissions are measured here, where the
 * meter and the carbon intensity are, so the daemon writes them to `<output>/job-totals.json`
 * after every step it accounts, keyed by that step, keeping the entries of the checkpoints it saw.
 *
 * On a resume at step S the entry at S is the job's totals there; steps after S were undone and
 * are forgotten. Without an entry at S (the checkpoint was written by a trainer whose daemon had
 * died), the newest entry before S stands, and the steps in between, which ran unmetered, are
 * charged by the caller at that entry's joules per FLOP (hence the FLOPs in each entry).
 *
 * Written by rename (never half-written), without fsync: a power cut may lose the last entries.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { readJsonFile } from '../config/json-file.js';
import { RunIoError } from '../train/run-errors.js';
import type { Phase } from '../train/run-events.js';

export interface LedgerEntry {
  readonly step: number;
  /** The trainer's modeled and full-FT FLOPs after `step`, the basis for joules per FLOP. */
  readonly flops: number;
  readonly flopsFull: number;
  /** The re-selections' FLOPs after `step` (entries written before they were counted have none). */
  readonly selectionFlops?: number;
  readonly energyJoules: number;
  /** Energy by phase (entries written before phases were metered have none). */
  readonly energyByPhase?: Readonly<Partial<Record<Phase, number>>>;
  readonly emissionsGrams: number;
  readonly avoidedGrams: number;
}

/** Checkpoint entries kept: resume goes back one checkpoint at most, a few spare. */
const KEEP = 8;

export class JobLedger {
  private checkpoints: LedgerEntry[] = [];
  private latest: LedgerEntry | undefined;

  constructor(readonly file: string) {}

  /** Reads the file if there is one; throws RunIoError when it cannot be read or parsed. */
  load(): this {
    if (!existsSync(this.file)) return this;
    try {
      const j = readJsonFile(this.file, 'state') as {
        latest?: LedgerEntry;
        checkpoints?: LedgerEntry[];
      };
      this.latest = j.latest;
      this.checkpoints = j.checkpoints ?? [];
    } catch (error) {
      throw new RunIoError('read', this.file, error);
    }
    return this;
  }

  /** The totals after `step` (or the newest before it); entries after it are dropped. */
  rewind(step: number): LedgerEntry | undefined {
    const all = [...this.checkpoints, ...(this.latest ? [this.latest] : [])].filter((e) => e.step <= step);
    const at = all.reduce<LedgerEntry | undefined>((a, e) => (!a || e.step >= a.step ? e : a), undefined);
    this.checkpoints = this.checkpoints.filter((e) => e.step <= step);
    this.latest = at;
    return at;
  }

  /** Records the totals after a step and writes the file. */
  record(e: LedgerEntry): void {
    this.latest = e;
    this.write();
  }

  /** Keeps the entry of the step a checkpoint was just written at. */
  checkpoint(step: number): void {
    if (this.latest?.step !== step) return;
    this.checkpoints = [...this.checkpoints.filter((e) => e.step < step), this.latest].slice(-KEEP);
    this.write();
  }

  private write(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const text = `${JSON.stringify({ latest: this.latest, checkpoints: this.checkpoints })}\n`;
    try {
      writeFileSync(tmp, text);
    } catch (error) {
      throw new RunIoError('write', tmp, error);
    }
    try {
      renameSync(tmp, this.file);
    } catch (error) {
      throw new RunIoError('rename', `${tmp} -> ${this.file}`, error);
    }
  }
}
