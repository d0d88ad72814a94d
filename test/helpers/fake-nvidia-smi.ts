/**
 * A fake `nvidia-smi` on PATH: an executable that replays recorded outputs, one per call, for the
 * query it is given (the last one repeats), and rejects the fields it is told to with nvidia-smi's
 * message and exit status. Every call's arguments are logged for the test to check.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIXTURES = new URL('../energy/fixtures/nvidia-smi/', import.meta.url).pathname;

export interface FakeNvidiaSmi {
  /** The folder holding `nvidia-smi`, to put first on PATH. */
  readonly dir: string;
  /** The `--query-gpu=` value of every call so far. */
  calls(): string[];
}

export interface FakeScript {
  /** Query (the fields, comma-separated) → fixture files answered in turn. */
  readonly answers: Readonly<Record<string, readonly string[]>>;
  /** Fields answered with nvidia-smi's "not a valid field" error. */
  readonly rejects?: readonly string[];
}

export function fakeNvidiaSmi(script: FakeScript): FakeNvidiaSmi {
  const dir = mkdtempSync(join(tmpdir(), 'gt-nvsmi-'));
  const answers = Object.fromEntries(
    Object.entries(script.answers).map(([q, files]) => [
      q,
      files.map((f) => readFileSync(join(FIXTURES, f), 'utf8')),
    ]),
  );
  const rejected = readFileSync(join(FIXTURES, 'rejected.txt'), 'utf8');
  writeFileSync(
    join(dir, 'script.json'),
    JSON.stringify({ answers, rejects: script.rejects ?? [], rejected }),
  );
  // CommonJS, outside any package.json: node runs it as a plain script.
  writeFileSync(
    join(dir, 'nvidia-smi'),
    `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const s = JSON.parse(fs.readFileSync(path.join(__dirname, 'script.json'), 'utf8'));
const arg = process.argv.find((a) => a.startsWith('--query-gpu=')) || '';
const query = arg.slice('--query-gpu='.length);
fs.appendFileSync(path.join(__dirname, 'calls.log'), query + '\\n');
const bad = query.split(',').find((f) => s.rejects.includes(f));
if (bad) {
  process.stdout.write(s.rejected.replace('total_energy_consumption', bad));
  process.exit(2);
}
const list = s.answers[query];
if (!list) {
  process.stdout.write('fake nvidia-smi: no answer recorded for ' + query + '\\n');
  process.exit(6);
}
const state = path.join(__dirname, 'count-' + Buffer.from(query).toString('hex'));
const n = fs.existsSync(state) ? Number(fs.readFileSync(state, 'utf8')) : 0;
fs.writeFileSync(state, String(n + 1));
process.stdout.write(list[Math.min(n, list.length - 1)]);
`,
  );
  chmodSync(join(dir, 'nvidia-smi'), 0o755);
  return {
    dir,
    calls: () => {
      try {
        return readFileSync(join(dir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}

/** Runs `f` with `dir` first on PATH, restoring PATH after. */
export async function withPath<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ''}`;
  try {
    return await f();
  } finally {
    process.env.PATH = path;
  }
}
