/**
 * Training checkpoints that survive being killed at any moment.
 *
 * A checkpoint is a folder `step-<n>` holding `weights.safetensors`, `optimizer.safetensors`,
 * `state.json` and, written last, `MANIFEST.json` (every file's size and SHA-256). It is built
 * under a temporary name, every file and the folder fsynced, then renamed into place; `LATEST`
 * names the newest one and is itself replaced by rename. A reader trusts only folders whose
 * manifest verifies, so a crash leaves either the previous checkpoint or the new one — never a
 * half-written one that resume would pick. The newest `keep` checkpoints are kept.
 *
 * A full or failing disk: before writing, the free space is checked against the size of the last
 * checkpoint (plus 10 % for a selection that grew); a write that fails anyway removes its
 * temporary folder, and `clean` removes those a killed writer left. Every I/O error names the
 * operation and the path (`RunIoError`).
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
  statfsSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../config/json-file.js';
import { makeDirectory } from '../io/make-directory.js';
import { SafetensorsReader, type TensorToWrite, writeSafetensors } from '../models/safetensors.js';
import { CheckpointSpaceError, RunIoError } from './run-errors.js';

const FILES = ['weights.safetensors', 'optimizer.safetensors', 'state.json'] as const;
const MANIFEST = 'MANIFEST.json';
const LATEST = 'LATEST';
const FORMAT = 1;
/** Headroom over the last checkpoint's size: a re-selection can touch more tensors. */
const SIZE_MARGIN = 1.1;

export interface CheckpointStoreOptions {
  /** Free bytes on the file system holding `dir` (default: statfs); tests inject a full disk. */
  readonly freeBytes?: (dir: string) => number;
}

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
    private readonly o: CheckpointStoreOptions = {},
  ) {}

  /** Writes a checkpoint atomically and prunes old ones; returns its folder. */
  save(c: CheckpointData): string {
    io('mkdir', this.dir, () => makeDirectory(this.dir));
    this.checkSpace();
    const name = `step-${String(c.step).padStart(8, '0')}`;
    const tmp = join(this.dir, `.tmp-${name}-${process.pid}`);
    const final = join(this.dir, name);
    try {
      io('remove', tmp, () => rmSync(tmp, { recursive: true, force: true }));
      io('mkdir', tmp, () => mkdirSync(tmp));
      for (const [file, tensors] of [
        [FILES[0], c.weights],
        [FILES[1], c.optimizer],
      ] as const)
        io('write', join(tmp, file), () =>
          writeSafetensors(join(tmp, file), tensors, { format: 'greentrainer' }),
        );
      writeDurably(join(tmp, FILES[2]), `${JSON.stringify(c.state)}\n`);
      const files = Object.fromEntries(FILES.map((f) => [f, fingerprint(join(tmp, f))]));
      writeDurably(join(tmp, MANIFEST), `${JSON.stringify({ format: FORMAT, step: c.step, files })}\n`);
      fsyncDir(tmp);
      io('remove', final, () => rmSync(final, { recursive: true, force: true }));
      io('rename', `${tmp} -> ${final}`, () => renameSync(tmp, final));
    } catch (error) {
      removeQuietly(tmp);
      throw error;
    }
    fsyncDir(this.dir);
    const latestTmp = join(this.dir, `${LATEST}.tmp-${process.pid}`);
    try {
      writeDurably(latestTmp, `${name}\n`);
      io('rename', `${latestTmp} -> ${join(this.dir, LATEST)}`, () =>
        renameSync(latestTmp, join(this.dir, LATEST)),
      );
    } catch (error) {
      removeQuietly(latestTmp);
      throw error;
    }
    fsyncDir(this.dir);
    this.prune(name);
    return final;
  }

  /** Removes temporary folders and files of writes that did not finish (call with the run folder locked). */
  clean(): string[] {
    if (!existsSync(this.dir)) return [];
    const stale = readdirSync(this.dir).filter(
      (n) => n.startsWith('.tmp-') || n.startsWith(`${LATEST}.tmp-`),
    );
    for (const n of stale)
      io('remove', join(this.dir, n), () => rmSync(join(this.dir, n), { recursive: true, force: true }));
    return stale.map((n) => join(this.dir, n));
  }

  /** Why the checkpoint folder `name` does not verify, or undefined when it does. */
  verify(name: string): string | undefined {
    try {
      load(join(this.dir, name));
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Bytes the newest checkpoint takes (from its manifest), or undefined before the first one. */
  lastSizeBytes(): number | undefined {
    for (const name of this.folders().reverse()) {
      try {
        const m = JSON.parse(readFileSync(join(this.dir, name, MANIFEST), 'utf8')) as {
          files: Record<string, { bytes: number }>;
        };
        return Object.values(m.files).reduce((a, f) => a + f.bytes, 0);
      } catch {
        // an incomplete folder: try the one before
      }
    }
    return undefined;
  }

  /** Throws CheckpointSpaceError when the disk cannot hold another checkpoint of the last one's size. */
  private checkSpace(): void {
    const last = this.lastSizeBytes();
    if (last === undefined) return;
    const free = io('statfs', this.dir, () => (this.o.freeBytes ?? freeBytes)(this.dir));
    const needed = Math.ceil(last * SIZE_MARGIN);
    if (free < needed) throw new CheckpointSpaceError(this.dir, needed, free);
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

  /** Removes every checkpoint and LATEST (a restart that discards the run). */
  removeAll(): void {
    for (const name of [...this.folders(), LATEST])
      io('remove', join(this.dir, name), () =>
        rmSync(join(this.dir, name), { recursive: true, force: true }),
      );
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

  /** Removes all but the newest `keep` checkpoints and this process's leftover temporary files. */
  private prune(current: string): void {
    const folders = this.folders();
    for (const old of folders.slice(0, Math.max(0, folders.length - this.keep))) {
      if (old !== current)
        io('remove', join(this.dir, old), () =>
          rmSync(join(this.dir, old), { recursive: true, force: true }),
        );
    }
  }
}

/** Runs one I/O call; an error becomes a RunIoError naming the operation and the path. */
function io<T>(operation: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof RunIoError || error instanceof CheckpointSpaceError) throw error;
    throw new RunIoError(operation, path, error);
  }
}

/** Cleanup after a failed write: the write's error is the one to report, not the cleanup's. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // a read-only or failing disk: `clean` removes it at the next open
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

function load(path: string): Omit<LoadedCheckpoint, 'path' | 'skipped'> {
  const manifestFile = join(path, MANIFEST);
  if (!existsSync(manifestFile)) throw new Error('no MANIFEST.json (incomplete checkpoint)');
  const manifest = readJsonFile(manifestFile, 'state') as {
    format: number;
    step: number;
    files: Record<string, { bytes: number; sha256: string }>;
  } | null;
  if (
    typeof manifest !== 'object' ||
    manifest === null ||
    typeof manifest.files !== 'object' ||
    manifest.files === null
  )
    throw new Error('MANIFEST.json is not a checkpoint manifest ({format, step, files})');
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
    state: readJsonFile(join(path, FILES[2]), 'state'),
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
  return io('read', file, () => ({
    bytes: statSync(file).size,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  }));
}

function writeDurably(file: string, text: string): void {
  const fd = io('open', file, () => openSync(file, 'w'));
  try {
    io('write', file, () => writeSync(fd, text));
    io('fsync', file, () => fsyncSync(fd));
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = io('open', dir, () => openSync(dir, 'r'));
  try {
    io('fsync', dir, () => fsyncSync(fd));
  } finally {
    closeSync(fd);
  }
}
