/**
 * Training checkpoints that survive being killed at any moment.
 *
 * A checkpoint is a folder `step-<n>` holding `weights.safetensors`, `optimizer.safetensors`,
 * `state.json` and, written last, `MANIFEST.json` (every file's size and SHA-256). It is built
 * under a temporary name, every file and the folder fsynced, then renamed into place; `LATEST`
 * names the newest one and is itself replaced by rename. A reader trusts only folders whose
 * manifest verifies, so a crash leaves either the previous checkpoint or the new one — never a
 * half-written one that resume would pick. The newest `keep` checkpoints are kept.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, type TensorToWrite, writeSafetensors } from '../models/safetensors.js';

const FILES = ['weights.safetensors', 'optimizer.safetensors', 'state.json'] as const;
const MANIFEST = 'MANIFEST.json';
const LATEST = 'LATEST';
const FORMAT = 1;

export interface CheckpointData {
  readonly step: number;
  readonly weights: readonly TensorToWrite[];
  readonly optimizer: readonly TensorToWrite[];
  /** Everything else needed to continue, as JSON. */
  readonly state: unknown;
}

export interface LoadedCheckpoint {
  readonly step: number;
  readonly path: string;
  readonly weights: Map<string, { shape: number[]; data: Float32Array }>;
  readonly optimizer: Map<string, { shape: number[]; data: Float32Array }>;
  readonly state: unknown;
  /** Newer checkpoint folders that failed verification, with the reason. */
  readonly skipped: ReadonlyArray<{ path: string; reason: string }>;
}

export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep = 3,
  ) {}

  /** Writes a checkpoint atomically and prunes old ones; returns its folder. */
  save(c: CheckpointData): string {
    mkdirSync(this.dir, { recursive: true });
    const name = `step-${String(c.step).padStart(8, '0')}`;
    const tmp = join(this.dir, `.tmp-${name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeSafetensors(join(tmp, FILES[0]), c.weights, { format: 'greentrainer' });
    writeSafetensors(join(tmp, FILES[1]), c.optimizer, { format: 'greentrainer' });
    writeDurably(join(tmp, FILES[2]), `${JSON.stringify(c.state)}\n`);
    const files = Object.fromEntries(FILES.map((f) => [f, fingerprint(join(tmp, f))]));
    writeDurably(join(tmp, MANIFEST), `${JSON.stringify({ format: FORMAT, step: c.step, files })}\n`);
    fsyncDir(tmp);
    const final = join(this.dir, name);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    fsyncDir(this.dir);
    writeDurably(join(this.dir, `${LATEST}.tmp-${process.pid}`), `${name}\n`);
    renameSync(join(this.dir, `${LATEST}.tmp-${process.pid}`), join(this.dir, LATEST));
    fsyncDir(this.dir);
    this.prune(name);
    return final;
  }

  /** The newest checkpoint that verifies, or undefined when there is none. */
  latest(): LoadedCheckpoint | undefined {
    if (!existsSync(this.dir)) return undefined;
    const skipped: Array<{ path: string; reason: string }> = [];
    const pointed = this.pointed();
    const names = [...new Set([...(pointed ? [pointed] : []), ...this.folders().reverse()])];
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        return { ...load(path), path, skipped };
      } catch (error) {
        skipped.push({ path, reason: (error as Error).message });
      }
    }
    return undefined;
  }

  /** Checkpoint folder names, oldest first. */
  folders(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((n) => /^step-\d+$/.test(n))
      .sort();
  }

  private pointed(): string | undefined {
    const file = join(this.dir, LATEST);
    if (!existsSync(file)) return undefined;
    const name = readFileSync(file, 'utf8').trim();
    return /^step-\d+$/.test(name) ? name : undefined;
  }

  /** Removes all but the newest `keep` checkpoints and any leftover temporary folders. */
  private prune(current: string): void {
    const folders = this.folders();
    for (const old of folders.slice(0, Math.max(0, folders.length - this.keep))) {
      if (old !== current) rmSync(join(this.dir, old), { recursive: true, force: true });
    }
    for (const n of readdirSync(this.dir)) {
      if (n.startsWith('.tmp-') || n.startsWith(`${LATEST}.tmp-`)) {
        rmSync(join(this.dir, n), { recursive: true, force: true });
      }
    }
  }
}

function load(path: string): Omit<LoadedCheckpoint, 'path' | 'skipped'> {
  const manifestFile = join(path, MANIFEST);
  if (!existsSync(manifestFile)) throw new Error('no MANIFEST.json (incomplete checkpoint)');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    format: number;
    step: number;
    files: Record<string, { bytes: number; sha256: string }>;
  };
  if (manifest.format !== FORMAT) throw new Error(`checkpoint format ${manifest.format}, expected ${FORMAT}`);
  for (const f of FILES) {
    const want = manifest.files[f];
    const file = join(path, f);
    if (!want || !existsSync(file)) throw new Error(`missing ${f}`);
    const got = fingerprint(file);
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256)
      throw new Error(`${f} does not match its manifest`);
  }
  return {
    step: manifest.step,
    weights: readAll(join(path, FILES[0])),
    optimizer: readAll(join(path, FILES[1])),
    state: JSON.parse(readFileSync(join(path, FILES[2]), 'utf8')),
  };
}

function readAll(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const reader = SafetensorsReader.open(file);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, e] of reader.entries) out.set(name, { shape: [...e.shape], data: reader.read(name) });
    return out;
  } finally {
    reader.close();
  }
}

function fingerprint(file: string): { bytes: number; sha256: string } {
  return {
    bytes: statSync(file).size,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  };
}

function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
