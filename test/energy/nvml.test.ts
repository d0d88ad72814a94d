import { strict as assert } from 'node:assert';
import { NvmlMeter, parseNvidiaSmi, visibleGpus } from '../../src/energy/nvml.js';
import { fakeNvidiaSmi, withPath } from '../helpers/fake-nvidia-smi.js';

const FULL = 'index,uuid,total_energy_consumption,power.draw';
const POWER = 'index,uuid,power.draw';

/** A clock the test moves (ms). */
function clock() {
  const c = { ms: 0, now: () => c.ms };
  return c;
}

async function open(
  script: Parameters<typeof fakeNvidiaSmi>[0],
  o: { cvd?: string; now?: () => number } = {},
) {
  const fake = fakeNvidiaSmi(script);
  const opened = await withPath(fake.dir, () =>
    NvmlMeter.open({
      ...(o.cvd !== undefined ? { cudaVisibleDevices: o.cvd } : {}),
      ...(o.now ? { now: o.now } : {}),
    }),
  );
  const read = async () => {
    if (!('meter' in opened)) throw new Error(opened.why);
    const s = await withPath(fake.dir, () => opened.meter.read());
    return Object.fromEntries(s.joules);
  };
  return { fake, opened, read };
}

describe('energy/nvml: nvidia-smi on PATH', () => {
  it("one GPU: joules from the energy counter's mJ since the meter opened", async () => {
    const { opened, read, fake } = await open({
      answers: { [FULL]: ['one-gpu-1.csv', 'one-gpu-2.csv', 'one-gpu-3.csv'] },
    });
    assert.ok('meter' in opened, opened.why);
    assert.equal(opened.why, 'gpu0: energy counter');
    assert.deepEqual(await read(), { gpu0: 250 });
    assert.deepEqual(await read(), { gpu0: 300 });
    assert.deepEqual(fake.calls(), [FULL, FULL, FULL]);
  });

  it('two GPUs: each GPU in CUDA_VISIBLE_DEVICES only, by index or UUID prefix', async () => {
    const answers = { [FULL]: ['two-gpus-1.csv', 'two-gpus-2.csv'] };
    assert.deepEqual(await (await open({ answers })).read(), { gpu0: 400, gpu1: 100 });
    assert.deepEqual(await (await open({ answers }, { cvd: '1' })).read(), { gpu1: 100 });
    assert.deepEqual(await (await open({ answers }, { cvd: 'GPU-aaaa1111' })).read(), { gpu0: 400 });
    const none = await open({ answers }, { cvd: '' });
    assert.ok(!('meter' in none.opened));
    assert.equal(none.opened.why, 'nvidia-smi lists no GPU the trainer can see (CUDA_VISIBLE_DEVICES=)');
  });

  it('[N/A] energy: integrates power.draw on a timer; [Not Supported] GPUs are left out; gaps are not integrated', async () => {
    const c = clock();
    const { opened, read } = await open(
      {
        answers: {
          [FULL]: [
            'not-available-1.csv',
            'not-available-2.csv',
            'not-available-3.csv',
            'not-available-4.csv',
            'not-available-5.csv',
          ],
        },
      },
      { now: c.now },
    );
    assert.ok('meter' in opened);
    assert.equal(opened.why, 'gpu0: power.draw');
    c.ms = 10_000; // 100 W → 200 W over 10 s: 1500 J by the trapezoid rule
    assert.deepEqual(await read(), { gpu0: 1500 });
    c.ms = 15_000; // [N/A]: nothing known of the last 5 s
    assert.deepEqual(await read(), { gpu0: 1500 });
    c.ms = 20_000; // 50 W: the first reading after the gap starts a new integral
    assert.deepEqual(await read(), { gpu0: 1500 });
    c.ms = 22_000; // 50 W → 150 W over 2 s: 200 J
    assert.deepEqual(await read(), { gpu0: 1700 });
  });

  it('a rejected total_energy_consumption field: falls back to power.draw instead of giving up', async () => {
    const c = clock();
    const { opened, read, fake } = await open(
      {
        answers: { [POWER]: ['power-only-1.csv', 'power-only-2.csv'] },
        rejects: ['total_energy_consumption'],
      },
      { now: c.now },
    );
    assert.ok('meter' in opened, opened.why);
    assert.match(opened.why, /rejects total_energy_consumption, so power.draw is integrated/);
    c.ms = 4000; // 80.5 W → 120.5 W over 4 s
    assert.deepEqual(await read(), { gpu0: 402 });
    assert.deepEqual(fake.calls(), [FULL, POWER, POWER]);
  });

  it('a counter reset (driver reload): the reading after it counts from 0', async () => {
    const { read } = await open({
      answers: { [FULL]: ['reset-1.csv', 'reset-2.csv', 'reset-3.csv', 'reset-4.csv'] },
    });
    assert.deepEqual(await read(), { gpu0: 100 });
    assert.deepEqual(await read(), { gpu0: 120 }); // 20 000 mJ since the reload
    assert.deepEqual(await read(), { gpu0: 150 });
  });

  it('says why there is no meter when nvidia-smi is missing or fails', async () => {
    const missing = await NvmlMeter.open({ binary: '/nonexistent/nvidia-smi' });
    assert.ok(!('meter' in missing));
    assert.match(missing.why, /^\/nonexistent\/nvidia-smi failed: .*ENOENT/);
    const failing = await open({ answers: {} });
    assert.ok(!('meter' in failing.opened));
    assert.equal(failing.opened.why, `nvidia-smi failed: fake nvidia-smi: no answer recorded for ${FULL}`);
  });

  it('parses csv,noheader,nounits rows for the fields asked', () => {
    assert.deepEqual(parseNvidiaSmi('0, GPU-x, [N/A], 12.5\n\n1, GPU-y, 77, [Not Supported]\n'), [
      { index: '0', uuid: 'GPU-x', powerW: 12.5 },
      { index: '1', uuid: 'GPU-y', energyMj: 77 },
    ]);
    assert.deepEqual(parseNvidiaSmi('3, GPU-z, 99.5', ['index', 'uuid', 'power.draw']), [
      { index: '3', uuid: 'GPU-z', powerW: 99.5 },
    ]);
    const rows = parseNvidiaSmi('0, GPU-a, 1, 1\n1, GPU-b, 1, 1\n2, GPU-c, 1, 1');
    // CUDA stops at the first entry that names no GPU.
    assert.deepEqual(
      visibleGpus(rows, '2,0,7,1').map((r) => r.index),
      ['2', '0'],
    );
    assert.deepEqual(visibleGpus(rows, '-1'), []);
  });
});
