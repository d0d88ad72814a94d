import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../../src/train/checkpoint-store.js';
import { CheckpointSpaceError, isTransient, RunIoError } from '../../src/train/run-errors.js';
import { rng } from '../helpers/random.js';

const tensor = (name: string, v: number) => ({ name, shape: [2, 3], data: new Float32Array(6).fill(v) });

describe('train/checkpoint-store', () => {
  it('saves, finds the newest, keeps the last K, and skips a damaged one with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-ckpt-'));
    const store = new CheckpointStore(dir, 2);
    for (const step of [5, 10, 15]) {
      store.save({ step, weights: [tensor('a', step)], optimizer: [tensor('a::m', -step)], state: { step } });
    }
    assert.deepEqual(store.folders(), ['step-00000010', 'step-00000015']);
    const latest = store.latest()!;
    assert.equal(latest.step, 15);
    assert.deepEqual([...latest.weights.get('a')!.data], new Array(6).fill(15));
    assert.deepEqual(latest.state, { step: 15 });
    // Flip a byte in the newest checkpoint's weights: its manifest no longer matches.
    appendFileSync(join(dir, 'step-00000015', 'weights.safetensors'), 'x');
    const fallback = store.latest()!;
    assert.equal(fallback.step, 10);
    assert.match(fallback.skipped[0]!.reason, /weights\.safetensors does not match its manifest/);
    rmSync(dir, { recursive: true });
  });

  it('ignores a folder without a manifest and a LATEST that points nowhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-ckpt-'));
    const store = new CheckpointStore(dir, 3);
    store.save({ step: 1, weights: [tensor('a', 1)], optimizer: [], state: {} });
    store.save({ step: 2, weights: [tensor('a', 2)], optimizer: [], state: {} });
    rmSync(join(dir, 'step-00000002', 'MANIFEST.json'));
    writeFileSync(join(dir, 'LATEST'), 'step-00000009\n');
    const latest = store.latest()!;
    assert.equal(latest.step, 1);
    assert.match(latest.skipped.map((s) => s.reason).join(), /no MANIFEST\.json/);
    rmSync(dir, { recursive: true });
  });

  it('is never left corrupt by kill -9 at random moments (25 kills): resume finds the last complete one', async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(join(tmpdir(), 'gt-kill-'));
    const random = rng(11);
    let next = 0;
    let newestReported = -1;
    for (let kill = 0; kill < 25; kill++) {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          new URL('fixtures/checkpoint-writer.ts', import.meta.url).pathname,
          dir,
          String(next),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      // Wait for the first save, then kill after a random delay (mid-write most of the time).
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (out.includes('saved')) {
            clearInterval(poll);
            setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, random() * 150);
          }
        }, 5);
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      newestReported = Math.max(newestReported, ...saved);
      const latest = new CheckpointStore(dir, 2).latest();
      assert.ok(latest, `kill ${kill}: no checkpoint found`);
      assert.ok(
        latest.step >= newestReported,
        `kill ${kill}: found step ${latest.step}, newest saved ${newestReported}`,
      );
      for (const [name, t] of [...latest.weights, ...latest.optimizer]) {
        assert.ok(
          t.data.every((v) => v === latest.step),
          `kill ${kill}: ${name} of step ${latest.step} holds other steps' values`,
        );
      }
      assert.deepEqual(latest.state, { step: latest.step });
      next = latest.step + 1;
    }
    assert.ok(readdirSync(dir).filter((n) => n.startsWith('step-')).length <= 3);
    rmSync(dir, { recursive: true });
  });

  it("refuses a checkpoint the disk cannot hold (the last one's size), naming the path; LATEST stays valid", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-ckpt-'));
    let free = Number.POSITIVE_INFINITY;
    const store = new CheckpointStore(dir, 2, { freeBytes: () => free });
    const big = (step: number) => ({ name: 'w', shape: [4096], data: new Float32Array(4096).fill(step) });
    store.save({ step: 1, weights: [big(1)], optimizer: [big(-1)], state: { step: 1 } });
    const size = store.lastSizeBytes()!;
    assert.ok(size > 2 * 4096 * 4, `${size} bytes`);
    free = size; // less than the size plus its margin
    assert.throws(
      () => store.save({ step: 2, weights: [big(2)], optimizer: [big(-2)], state: { step: 2 } }),
      (e: unknown) =>
        e instanceof CheckpointSpaceError &&
        e.message.includes(dir) &&
        e.message.includes(String(free)) &&
        isTransient(e),
    );
    assert.deepEqual(readdirSync(dir).sort(), ['LATEST', 'step-00000001']);
    assert.equal(store.latest()!.step, 1);
    free = size * 2;
    store.save({ step: 2, weights: [big(2)], optimizer: [big(-2)], state: { step: 2 } });
    assert.equal(store.latest()!.step, 2);
    rmSync(dir, { recursive: true });
  });

  it('removes the temporary folder of a write that fails on a full disk (tmpfs), naming operation and path', function () {
    const dir = mkdtempSync(join(tmpdir(), 'gt-full-'));
    const mount = join(dir, 'small');
    mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true });
      console.log('      (cannot mount a tmpfs here: the injected-free-space test above covers the refusal)');
      this.skip();
    }
    try {
      const store = new CheckpointStore(join(mount, 'checkpoints'), 2);
      const small = { name: 'w', shape: [16], data: new Float32Array(16) };
      store.save({ step: 1, weights: [small], optimizer: [], state: {} });
      // No size known for a first, much bigger checkpoint: the write itself hits ENOSPC.
      const huge = { name: 'w', shape: [128 * 1024], data: new Float32Array(128 * 1024) };
      const fresh = new CheckpointStore(join(mount, 'checkpoints'), 2, { freeBytes: () => 1 << 30 });
      assert.throws(
        () => fresh.save({ step: 2, weights: [huge], optimizer: [huge], state: {} }),
        (e: unknown) =>
          e instanceof RunIoError &&
          e.code === 'ENOSPC' &&
          /^write .*\.tmp-step-00000002-\d+\/weights\.safetensors|^write .*optimizer/.test(e.message) &&
          isTransient(e),
      );
      assert.deepEqual(readdirSync(join(mount, 'checkpoints')).sort(), ['LATEST', 'step-00000001']);
      assert.equal(readFileSync(join(mount, 'checkpoints', 'LATEST'), 'utf8'), 'step-00000001\n');
      assert.equal(store.latest()!.step, 1);
    } finally {
      execFileSync('umount', [mount]);
      rmSync(dir, { recursive: true });
    }
  });

  it('clean() removes the temporary folders and files a killed writer left, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-ckpt-'));
    const store = new CheckpointStore(dir, 2);
    store.save({ step: 1, weights: [tensor('a', 1)], optimizer: [], state: {} });
    mkdirSync(join(dir, '.tmp-step-00000002-99999'));
    writeFileSync(join(dir, '.tmp-step-00000002-99999', 'weights.safetensors'), 'partial');
    writeFileSync(join(dir, 'LATEST.tmp-99999'), 'step-00000002\n');
    assert.deepEqual(store.clean().sort(), [
      join(dir, '.tmp-step-00000002-99999'),
      join(dir, 'LATEST.tmp-99999'),
    ]);
    assert.deepEqual(readdirSync(dir).sort(), ['LATEST', 'step-00000001']);
    assert.equal(store.verify('step-00000001'), undefined);
    rmSync(dir, { recursive: true });
  });
});
