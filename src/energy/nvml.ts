/**
 * NVIDIA GPUs through `nvidia-smi` (NVML): the cumulative energy counter where the GPU has one,
 * else `power.draw` integrated between reads (trapezoid rule; the daemon reads on a timer), for
 * each GPU the trainer can see (`CUDA_VISIBLE_DEVICES`, by index or UUID prefix).
 *
 * Query fields, as documented (checked 2026-11-30):
 * - `power.draw`: "the last measured power draw for the entire board, in watts" (nvidia-smi(1),
 *   `nvidia-smi --help-query-gpu`, every driver since Fermi); `[N/A]` or `[Not Supported]` on
 *   boards without a sensor.
 * - `total_energy_consumption`: NVML's nvmlDeviceGetTotalEnergyConsumption, "total energy
 *   consumption for this GPU in millijoules (mJ) since the driver was last reloaded", Volta and
 *   newer (NVIDIA cuda-python NVML reference, `device_get_total_energy_consumption`). Its reset
 *   on a driver reload is handled: a reading below the last one counts from 0. A driver whose
 *   nvidia-smi does not know the field rejects the whole query ("Field "…" is not a valid field
 *   to query.", exit status 2, as reported for other fields in influxdata/telegraf#6573): the
 *   meter then asks for `power.draw` alone rather than giving up.
 * - `index`, `uuid`: which GPU a row is, matched against CUDA_VISIBLE_DEVICES.
 * Units are stripped with `--format=csv,noheader,nounits`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EnergyMeter, EnergySample } from './meter.js';

const run = promisify(execFile);
const TIMEOUT_MS = 5000;
const WITH_ENERGY = ['index', 'uuid', 'total_energy_consumption', 'power.draw'] as const;
const POWER_ONLY = ['index', 'uuid', 'power.draw'] as const;

export interface GpuRow {
  readonly index: string;
  readonly uuid: string;
  /** mJ since the driver loaded; undefined when not asked for, `[N/A]` or `[Not Supported]`. */
  readonly energyMj?: number;
  readonly powerW?: number;
}

/** Rows of `--format=csv,noheader,nounits` for `fields`; a value that is not a number is absent. */
export function parseNvidiaSmi(csv: string, fields: readonly string[] = WITH_ENERGY): GpuRow[] {
  return csv
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line) => {
      const cells = line.split(',').map((f) => f.trim());
      const cell = (name: string) => cells[fields.indexOf(name)];
      const num = (name: string) => {
        const f = cell(name);
        return f !== undefined && /^\d+(\.\d+)?$/.test(f) ? Number(f) : undefined;
      };
      const energyMj = fields.includes('total_energy_consumption')
        ? num('total_energy_consumption')
        : undefined;
      const powerW = num('power.draw');
      return {
        index: cell('index') ?? '',
        uuid: cell('uuid') ?? '',
        ...(energyMj !== undefined ? { energyMj } : {}),
        ...(powerW !== undefined ? { powerW } : {}),
      };
    });
}

/**
 * The GPUs CUDA lets the trainer use: every one when CUDA_VISIBLE_DEVICES is unset, else those
 * it lists by index or by (a prefix of) UUID, in its order; CUDA stops at the first entry that
 * names no GPU, and so does this.
 */
export function visibleGpus(rows: readonly GpuRow[], cudaVisibleDevices: string | undefined): GpuRow[] {
  if (cudaVisibleDevices === undefined) return [...rows];
  const out: GpuRow[] = [];
  for (const token of cudaVisibleDevices.split(',').map((t) => t.trim())) {
    const row = /^\d+$/.test(token)
      ? rows.find((r) => r.index === token)
      : token.startsWith('GPU-')
        ? rows.find((r) => r.uuid.startsWith(token))
        : undefined;
    if (!row) break;
    if (!out.includes(row)) out.push(row);
  }
  return out;
}

interface Gpu {
  readonly uuid: string;
  readonly device: string;
  readonly source: 'energy' | 'power';
  joules: number;
  /** The last counter value (mJ) or the last power reading (W) and when it was taken (ms). */
  lastMj?: number;
  lastPower?: { watts: number; at: number };
}

export interface NvmlOptions {
  readonly binary?: string;
  /** The trainer's CUDA_VISIBLE_DEVICES (undefined: unset). */
  readonly cudaVisibleDevices?: string;
  readonly now?: () => number;
}

export type NvmlOpen = { readonly meter: NvmlMeter; readonly why: string } | { readonly why: string };

export class NvmlMeter implements EnergyMeter {
  readonly method = 'nvml' as const;

  private constructor(
    private readonly binary: string,
    private readonly fields: readonly string[],
    private readonly gpus: Gpu[],
    private readonly now: () => number,
  ) {}

  /** A meter over the visible GPUs that report energy or power, or why there is none. */
  static async open(o: NvmlOptions = {}): Promise<NvmlOpen> {
    const binary = o.binary ?? 'nvidia-smi';
    const now = o.now ?? (() => performance.now());
    let fields: readonly string[] = WITH_ENERGY;
    let rows: GpuRow[];
    let rejected = '';
    try {
      try {
        rows = await query(binary, fields);
      } catch (error) {
        if (!/is not a valid field/i.test(firstLine(error))) throw error;
        rejected = '; this nvidia-smi rejects total_energy_consumption, so power.draw is integrated';
        fields = POWER_ONLY;
        rows = await query(binary, fields);
      }
    } catch (error) {
      return { why: `${binary} failed: ${firstLine(error)}` };
    }
    const visible = visibleGpus(rows, o.cudaVisibleDevices);
    const cvd = o.cudaVisibleDevices === undefined ? '' : ` (CUDA_VISIBLE_DEVICES=${o.cudaVisibleDevices})`;
    if (visible.length === 0) return { why: `${binary} lists no GPU the trainer can see${cvd}` };
    const t = now();
    const gpus: Gpu[] = visible.flatMap((r): Gpu[] => {
      const device = `gpu${r.index}`;
      if (r.energyMj !== undefined)
        return [{ uuid: r.uuid, device, source: 'energy', joules: 0, lastMj: r.energyMj }];
      if (r.powerW !== undefined)
        return [{ uuid: r.uuid, device, source: 'power', joules: 0, lastPower: { watts: r.powerW, at: t } }];
      return [];
    });
    if (gpus.length === 0)
      return { why: `${binary} reports neither energy nor power.draw for the GPUs${cvd}` };
    const how = gpus.map((g) => `${g.device}: ${g.source === 'energy' ? 'energy counter' : 'power.draw'}`);
    return { meter: new NvmlMeter(binary, fields, gpus, now), why: `${how.join(', ')}${cvd}${rejected}` };
  }

  async read(): Promise<EnergySample> {
    const rows = await query(this.binary, this.fields);
    const t = this.now();
    for (const g of this.gpus) {
      const r = rows.find((x) => x.uuid === g.uuid);
      if (g.source === 'energy') {
        const mj = r?.energyMj;
        if (mj === undefined) continue;
        // Below the last reading: the driver reloaded and the counter restarted from 0.
        g.joules += (mj >= g.lastMj! ? mj - g.lastMj! : mj) / 1000;
        g.lastMj = mj;
        continue;
      }
      const watts = r?.powerW;
      if (watts === undefined) {
        // A gap in the readings is not integrated: nothing is known of it.
        delete g.lastPower;
        continue;
      }
      if (g.lastPower) g.joules += ((g.lastPower.watts + watts) / 2) * ((t - g.lastPower.at) / 1000);
      g.lastPower = { watts, at: t };
    }
    return { joules: new Map(this.gpus.map((g) => [g.device, g.joules])) };
  }
}

async function query(binary: string, fields: readonly string[]): Promise<GpuRow[]> {
  const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
  const { stdout } = await run(binary, args, { timeout: TIMEOUT_MS });
  return parseNvidiaSmi(stdout, fields);
}

function firstLine(error: unknown): string {
  const e = error as { stderr?: string; stdout?: string; code?: unknown; message?: string };
  const text =
    [e.stderr, e.stdout].find((s) => typeof s === 'string' && s.trim() !== '') ?? e.message ?? String(error);
  return text.trim().split('\n')[0]!;
}
