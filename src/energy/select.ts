/**
 * Picks the energy meter and says why: NVML when the trainer runs on a GPU and `nvidia-smi`
 * answers, RAPL when its counters are readable, else the modelled estimate. A configured
 * `method` forces one and fails with the reason when it is unavailable.
 */
import { EstimateMeter, type EstimateOptions } from './estimate.js';
import type { EnergyMeter, EnergyMethod } from './meter.js';
import { NvmlMeter } from './nvml.js';
import { RaplMeter } from './rapl.js';

export interface EnergyConfig extends EstimateOptions {
  readonly method?: EnergyMethod | 'auto';
  readonly nvidiaSmi?: string;
  readonly powercap?: string;
  /** The trainer's CUDA_VISIBLE_DEVICES (undefined: unset, every GPU). */
  readonly cudaVisibleDevices?: string;
}

export interface MeterChoice {
  readonly meter: EnergyMeter;
  /** Why this meter: what was found, and what was passed over. */
  readonly why: string;
}

export class EnergyMeterError extends Error {
  override readonly name = 'EnergyMeterError';
  constructor(method: EnergyMethod, why: string) {
    super(`energy.method ${method}: ${why}`);
  }
}

/** The meter for a trainer on a GPU (`gpu`) or not. */
export async function selectMeter(c: EnergyConfig, gpu: boolean): Promise<MeterChoice> {
  const method = c.method ?? 'auto';
  const passed: string[] = [];
  if (method === 'nvml' || (method === 'auto' && gpu)) {
    const n = await NvmlMeter.open({
      ...(c.nvidiaSmi ? { binary: c.nvidiaSmi } : {}),
      ...(c.cudaVisibleDevices !== undefined ? { cudaVisibleDevices: c.cudaVisibleDevices } : {}),
    });
    if ('meter' in n) return { meter: n.meter, why: `nvml: ${n.why}` };
    if (method === 'nvml') throw new EnergyMeterError('nvml', n.why);
    passed.push(`nvml: ${n.why}`);
  } else if (method === 'auto') passed.push('nvml: the trainer has no GPU backend (yet)');
  if (method === 'rapl' || method === 'auto') {
    const r = RaplMeter.open(c.powercap);
    if ('meter' in r) return { meter: r.meter, why: [`rapl: ${r.why}`, ...passed].join('; ') };
    if (method === 'rapl') throw new EnergyMeterError('rapl', r.why);
    passed.push(`rapl: ${r.why}`);
  }
  const model = c.watts !== undefined ? `${c.watts} W × work time` : 'executed FLOPs × joules per FLOP';
  return { meter: new EstimateMeter(c), why: [`estimate (modelled: ${model})`, ...passed].join('; ') };
}
