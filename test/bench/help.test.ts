import { strict as assert } from 'node:assert';
import { type Collected, spawnCollect } from '../helpers/spawn.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `node --import tsx bench/<script> ...args` in the repository root. */
function bench(script: string, args: string[]): Promise<Collected> {
  return spawnCollect(process.execPath, ['--import', 'tsx', `bench/${script}`, ...args], { cwd: ROOT });
}

// Every bench script with flags; `--help` must answer before any model loads or daemon starts.
const SCRIPTS: Record<string, RegExp> = {
  'train-step.ts': /^npm run bench:train-step/,
  'selective.ts': /^npm run bench:selective .*--seq N/s,
  'selector.ts': /^npm run bench:selector/,
  'metrics-latency.ts': /^npm run bench:metrics/,
  'reselection-flops.ts': /^npx tsx bench\/reselection-flops\.ts .*--interval N/s,
  'dashboard-preview.ts': /^npm run dashboard:preview .*--seconds N/s,
};

const STRICT = ['selective.ts', 'reselection-flops.ts'];

describe('bench scripts: --help and unknown flags', () => {
  it('prints each script’s usage on --help and exits 0, and refuses an unknown flag with exit 2', async function () {
    this.timeout(120_000);
    const names = Object.keys(SCRIPTS);
    const [helps, bad] = await Promise.all([
      Promise.all(names.map((s) => bench(s, ['--help']))),
      // The strict parsing is one helper (bench/args.ts): two scripts stand for all.
      Promise.all(STRICT.map((s) => bench(s, ['--sed', '128']))),
    ]);
    names.forEach((s, i) => {
      const h = helps[i]!;
      assert.equal(h.code, 0, `${s} --help: exit ${h.code}\n${h.stderr}`);
      assert.match(h.stdout, SCRIPTS[s]!, `${s} --help printed:\n${h.stdout}`);
    });
    STRICT.forEach((s, i) => {
      const b = bad[i]!;
      assert.equal(b.code, 2, `${s} --sed 128: exit ${b.code}\n${b.stdout}${b.stderr}`);
      assert.match(b.stderr, /Unknown option '--sed'/, s);
      assert.equal(b.stdout, '', `${s} ran nothing`);
    });
  });
});
