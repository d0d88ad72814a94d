/**
 * CPU energy from RAPL through the powercap sysfs: `/sys/class/powercap/intel-rapl:N/energy_uj`,
 * one microjoule counter per package, wrapping to 0 past `max_energy_range_uj`. Intel and AMD
 * (Zen, kernel 5.8+) both register under the `intel-rapl` control type; a package zone is named
 * `package-N`, and a `dram` sub-zone, where there is one, counts memory, outside the package.
 * `psys` (the whole platform, packages included) and the `core`/`uncore` sub-zones (inside the
 * package) are left out so nothing is counted twice.
 *
 * Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694, the PLATYPUS power side
 * channel): `deploy/systemd/greentrainer-rapl.tmpfiles.conf` (or `99-greentrainer-rapl.rules`)
 * opens it to the service's group.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnergyMeter, EnergySample } from './meter.js';

interface Zone {
  readonly device: string;
  readonly file: string;
  readonly rangeUj: number;
  lastUj: number;
  totalUj: number;
}

export type RaplOpen = { readonly meter: RaplMeter; readonly why: string } | { readonly why: string };

/** What to do about a counter only root can read. */
export const RAPL_PERMISSION_HINT =
  'energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694); install ' +
  'deploy/systemd/greentrainer-rapl.tmpfiles.conf (or 99-greentrainer-rapl.rules) so the ' +
  "daemon's group can read it";

export class RaplMeter implements EnergyMeter {
  readonly method = 'rapl' as const;

  private constructor(private readonly zones: Zone[]) {}

  /** The package (and dram) zones under `root`, or why there are none to read. */
  static open(root = '/sys/class/powercap'): RaplOpen {
    if (!existsSync(root)) return { why: `${root} does not exist (no powercap: not Linux, or a container)` };
    const zones: Zone[] = [];
    const denied: string[] = [];
    for (const name of readdirSync(root).sort()) {
      const m = /^intel-rapl:(\d+)(?::(\d+))?$/.exec(name);
      if (!m) continue;
      const dir = join(root, name);
      const label = readText(join(dir, 'name'));
      const wanted = m[2] === undefined ? label?.startsWith('package-') : label === 'dram';
      if (!label || !wanted) continue;
      const file = join(dir, 'energy_uj');
      try {
        const lastUj = readCounter(file);
        const rangeUj = readCounter(join(dir, 'max_energy_range_uj'));
        const device = m[2] === undefined ? label : `package-${m[1]}-dram`;
        zones.push({ device, file, rangeUj, lastUj, totalUj: 0 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EACCES') denied.push(file);
        else throw error;
      }
    }
    if (zones.length > 0)
      return { meter: new RaplMeter(zones), why: `${zones.map((z) => z.device).join(', ')} under ${root}` };
    if (denied.length > 0) return { why: `cannot read ${denied[0]}: ${RAPL_PERMISSION_HINT}` };
    return { why: `no RAPL package zone under ${root}` };
  }

  async read(): Promise<EnergySample> {
    const joules = new Map<string, number>();
    for (const z of this.zones) {
      const now = readCounter(z.file);
      // Past max_energy_range_uj the counter starts again from 0.
      z.totalUj += now >= z.lastUj ? now - z.lastUj : z.rangeUj - z.lastUj + now;
      z.lastUj = now;
      joules.set(z.device, z.totalUj / 1e6);
    }
    return { joules };
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readCounter(file: string): number {
  const text = readFileSync(file, 'utf8').trim();
  if (!/^\d+$/.test(text)) throw new Error(`${file}: expected a microjoule count, got '${text}'`);
  return Number(text);
}
