import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../../src/train/checkpoint-store.js';
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
});
