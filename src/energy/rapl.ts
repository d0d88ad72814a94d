/**
 * Intel/AMD RAPL through the powercap sysfs (`/sys/class/powercap/intel-rapl:N/energy_uj`): one
 * counter per CPU package, in microjoules, wrapping at `max_energy_range_uj`. Since 2020 kernels
 * make `energy_uj` readable by root only; the daemon then falls back to another meter.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnergyMeter, EnergySample } from './meter.js';

interface Zone {
  readonly device: string;
  readonly file: string;
  readonly rangeUj: number;
  last: number;
  totalUj: number;
}

export class RaplMeter implements EnergyMeter {
  readonly method = 'rapl' as const;

  private constructor(private readonly zones: Zone[]) {}

  /** The package zones under `root`, or undefined when there are none or they cannot be read. */
  static open(root = '/sys/class/powercap'): RaplMeter | undefined {
    if (!existsSync(root)) return undefined;
    const zones: Zone[] = [];
    for (const name of readdirSync(root).filter((n) => /^intel-rapl:\d+$/.test(n))) {
      const dir = join(root, name);
      try {
        const label = readFileSync(join(dir, 'name'), 'utf8').trim();
        const file = join(dir, 'energy_uj');
        const last = Number(readFileSync(file, 'utf8'));
        const rangeUj = Number(readFileSync(join(dir, 'max_energy_range_uj'), 'utf8'));
        if (!Number.isFinite(last) || !Number.isFinite(rangeUj)) continue;
        zones.push({ device: `${label}-${name.split(':')[1]}`, file, rangeUj, last, totalUj: 0 });
      } catch {
        // unreadable (root-only energy_uj): not usable
      }
    }
    return zones.length > 0 ? new RaplMeter(zones) : undefined;
  }

  async sample(): Promise<EnergySample> {
    const joules = new Map<string, number>();
    for (const z of this.zones) {
      const now = Number(readFileSync(z.file, 'utf8'));
      z.totalUj += now >= z.last ? now - z.last : now + z.rangeUj - z.last;
      z.last = now;
      joules.set(z.device, z.totalUj / 1e6);
    }
    return { joules };
  }
}
