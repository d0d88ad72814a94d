import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectMeter } from '../../src/energy/select.js';
import { fakeNvidiaSmi, withPath } from '../helpers/fake-nvidia-smi.js';

const FULL = 'index,uuid,total_energy_consumption,power.draw';

function raplTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'gt-powercap-'));
  mkdirSync(join(root, 'intel-rapl:0'));
  writeFileSync(join(root, 'intel-rapl:0', 'name'), 'package-0\n');
  writeFileSync(join(root, 'intel-rapl:0', 'energy_uj'), '1000\n');
  writeFileSync(join(root, 'intel-rapl:0', 'max_energy_range_uj'), '262143328850\n');
  return root;
}

describe('energy/select: auto picks NVML on a GPU backend, else RAPL, else the estimate', () => {
  const gpu = fakeNvidiaSmi({ answers: { [FULL]: ['one-gpu-1.csv'] } });
  const noPowercap = '/nonexistent/powercap';

  it('a GPU backend with nvidia-smi answering: nvml', async () => {
    const c = await withPath(gpu.dir, () => selectMeter({ method: 'auto', powercap: raplTree() }, true));
    assert.equal(c.meter.method, 'nvml');
    assert.equal(c.why, 'nvml: gpu0: energy counter');
  });

  it('no GPU backend (the trainer has not reported one yet): RAPL, and why not NVML', async () => {
    const root = raplTree();
    const c = await withPath(gpu.dir, () => selectMeter({ method: 'auto', powercap: root }, false));
    assert.equal(c.meter.method, 'rapl');
    assert.equal(c.why, `rapl: package-0 under ${root}; nvml: the trainer has no GPU backend (yet)`);
  });

  it('a GPU backend without nvidia-smi and no RAPL: the estimate, with every reason', async () => {
    const c = await selectMeter(
      { method: 'auto', nvidiaSmi: '/nonexistent/nvidia-smi', powercap: noPowercap },
      true,
    );
    assert.equal(c.meter.method, 'estimate');
    assert.match(
      c.why,
      /^estimate \(modelled: executed FLOPs × joules per FLOP\); nvml: \/nonexistent\/nvidia-smi failed: .*ENOENT.*; rapl: \/nonexistent\/powercap does not exist/,
    );
  });

  it('a forced method that is unavailable fails with the reason', async () => {
    await assert.rejects(
      selectMeter({ method: 'rapl', powercap: noPowercap }, false),
      /^EnergyMeterError: energy.method rapl: \/nonexistent\/powercap does not exist/,
    );
    await assert.rejects(
      selectMeter({ method: 'nvml', nvidiaSmi: '/nonexistent/nvidia-smi' }, false),
      /^EnergyMeterError: energy.method nvml: \/nonexistent\/nvidia-smi failed/,
    );
    const forced = await withPath(gpu.dir, () => selectMeter({ method: 'nvml' }, false));
    assert.equal(forced.meter.method, 'nvml');
  });
});
