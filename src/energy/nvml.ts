/**
 * NVIDIA GPUs through `nvidia-smi` (NVML): `total_energy_consumption` (mJ since the driver
 * loaded, Volta and newer) where the GPU reports it, else `power.draw` (W) integrated over the
 * time between samples (trapezoid rule).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EnergyMeter, EnergySample } from './meter.js';

const run = promisify(execFile);
const QUERY = ['--query-gpu=index,total_energy_consumption,power.draw', '--format=csv,noheader,nounits'];

interface GpuReading {
  readonly index: string;
  readonly energyMj?: number;
  readonly powerW?: number;
}

export function parseNvidiaSmi(csv: string): GpuReading[] {
  return csv
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line) => {
      const [index, energy, power] = line.split(',').map((f) => f.trim());
      const num = (f: string | undefined) => (f !== undefined && /^[\d.]+$/.test(f) ? Number(f) : undefined);
      const energyMj = num(energy);
      const powerW = num(power);
      return {
        index: index ?? '0',
        ...(energyMj !== undefined ? { energyMj } : {}),
        ...(powerW !== undefined ? { powerW } : {}),
      };
    });
}

export class NvmlMeter implements EnergyMeter {
  readonly method = 'nvml' as const;
  private readonly start = new Map<string, number>();
  private readonly integrated = new Map<string, { joules: number; powerW: number; at: number }>();

  private constructor(
    private readonly binary: string,
    private readonly now: () => number,
  ) {}

  /** A meter if `nvidia-smi` runs and lists at least one GPU with energy or power. */
  static async open(
    binary = 'nvidia-smi',
    now: () => number = () => performance.now(),
  ): Promise<NvmlMeter | undefined> {
    const meter = new NvmlMeter(binary, now);
    try {
      const gpus = await meter.query();
      if (gpus.length === 0 || gpus.every((g) => g.energyMj === undefined && g.powerW === undefined))
        return undefined;
      for (const g of gpus) {
        if (g.energyMj !== undefined) meter.start.set(g.index, g.energyMj);
        else meter.integrated.set(g.index, { joules: 0, powerW: g.powerW!, at: now() });
      }
      return meter;
    } catch {
      return undefined;
    }
  }

  async sample(): Promise<EnergySample> {
    const joules = new Map<string, number>();
    const t = this.now();
    for (const g of await this.query()) {
      const device = `gpu${g.index}`;
      const start = this.start.get(g.index);
      if (start !== undefined && g.energyMj !== undefined) {
        joules.set(device, (g.energyMj - start) / 1000);
        continue;
      }
      const acc = this.integrated.get(g.index);
      if (acc && g.powerW !== undefined) {
        acc.joules += ((acc.powerW + g.powerW) / 2) * ((t - acc.at) / 1000);
        acc.powerW = g.powerW;
        acc.at = t;
        joules.set(device, acc.joules);
      }
    }
    return { joules };
  }

  private async query(): Promise<GpuReading[]> {
    const { stdout } = await run(this.binary, QUERY, { timeout: 5000 });
    return parseNvidiaSmi(stdout);
  }
}
