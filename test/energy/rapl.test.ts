import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RAPL_PERMISSION_HINT, RaplMeter } from '../../src/energy/rapl.js';

const MAX_UJ = 262_143_328_850; // a real package's max_energy_range_uj

/** A powercap tree: zone folder → name, energy_uj (and max_energy_range_uj). */
function powercap(zones: Record<string, { name: string; uj: number }>): {
  root: string;
  set: (zone: string, uj: number) => void;
} {
  const root = mkdtempSync(join(tmpdir(), 'gt-powercap-'));
  chmodSync(root, 0o755);
  for (const [zone, z] of Object.entries(zones)) {
    const dir = join(root, zone);
    mkdirSync(dir);
    writeFileSync(join(dir, 'name'), `${z.name}\n`);
    writeFileSync(join(dir, 'energy_uj'), `${z.uj}\n`);
    writeFileSync(join(dir, 'max_energy_range_uj'), `${MAX_UJ}\n`);
  }
  return { root, set: (zone, uj) => writeFileSync(join(root, zone, 'energy_uj'), `${uj}\n`) };
}

const joules = async (m: RaplMeter) => Object.fromEntries((await m.read()).joules);

describe('energy/rapl: the powercap sysfs', () => {
  it('Intel: package and dram zones, not psys or core (no double counting)', async () => {
    const t = powercap({
      'intel-rapl:0': { name: 'package-0', uj: 1_000_000 },
      'intel-rapl:0:0': { name: 'core', uj: 500_000 },
      'intel-rapl:0:1': { name: 'dram', uj: 100_000 },
      'intel-rapl:1': { name: 'package-1', uj: 7_000_000 },
      'intel-rapl:2': { name: 'psys', uj: 9_000_000 },
      'intel-rapl-mmio:0': { name: 'package-0', uj: 1_000_000 },
    });
    const r = RaplMeter.open(t.root);
    assert.ok('meter' in r, r.why);
    assert.equal(r.why, `package-0, package-0-dram, package-1 under ${t.root}`);
    t.set('intel-rapl:0', 31_000_000);
    t.set('intel-rapl:0:0', 20_000_000);
    t.set('intel-rapl:0:1', 2_100_000);
    t.set('intel-rapl:1', 12_000_000);
    t.set('intel-rapl:2', 99_000_000);
    assert.deepEqual(await joules(r.meter), { 'package-0': 30, 'package-0-dram': 2, 'package-1': 5 });
  });

  it('AMD (Zen): the package zone the kernel registers under intel-rapl, with no dram zone', async () => {
    const t = powercap({ 'intel-rapl:0': { name: 'package-0', uj: 42 } });
    const r = RaplMeter.open(t.root);
    assert.ok('meter' in r, r.why);
    t.set('intel-rapl:0', 1_500_042);
    assert.deepEqual(await joules(r.meter), { 'package-0': 1.5 });
  });

  it('wraps around at max_energy_range_uj', async () => {
    const t = powercap({ 'intel-rapl:0': { name: 'package-0', uj: MAX_UJ - 1_000_000 } });
    const r = RaplMeter.open(t.root);
    assert.ok('meter' in r);
    t.set('intel-rapl:0', 3_000_000);
    assert.deepEqual(await joules(r.meter), { 'package-0': 4 });
    t.set('intel-rapl:0', 5_000_000);
    assert.deepEqual(await joules(r.meter), { 'package-0': 6 });
  });

  it('a root-only energy_uj: no meter, and a message that says how to open it', function () {
    const t = powercap({ 'intel-rapl:0': { name: 'package-0', uj: 1 } });
    const file = join(t.root, 'intel-rapl:0', 'energy_uj');
    chmodSync(file, 0o400);
    let why: string;
    if (process.getuid?.() !== 0) {
      const r = RaplMeter.open(t.root);
      assert.ok(!('meter' in r));
      why = r.why;
    } else {
      // Root reads anything: open the tree as `nobody`, as the service user would.
      const rapl = new URL('../../src/energy/rapl.ts', import.meta.url).pathname;
      const code = `import { RaplMeter } from ${JSON.stringify(rapl)}; console.log(JSON.stringify(RaplMeter.open(${JSON.stringify(t.root)})));`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        cwd: new URL('../..', import.meta.url).pathname,
      });
      if (child.status !== 0) {
        console.log(`      skipped: cannot run as nobody (uid 65534): ${child.error ?? child.stderr}`);
        this.skip();
      }
      const r = JSON.parse(child.stdout) as { why: string; meter?: unknown };
      assert.equal(r.meter, undefined);
      why = r.why;
    }
    assert.equal(why, `cannot read ${file}: ${RAPL_PERMISSION_HINT}`);
  });

  it('says why when there is no powercap tree or no package zone', () => {
    assert.deepEqual(RaplMeter.open('/nonexistent/powercap'), {
      why: '/nonexistent/powercap does not exist (no powercap: not Linux, or a container)',
    });
    const t = powercap({ 'intel-rapl:0': { name: 'psys', uj: 1 } });
    assert.deepEqual(RaplMeter.open(t.root), { why: `no RAPL package zone under ${t.root}` });
  });
});
