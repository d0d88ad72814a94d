/**
 * Picks the energy meter: NVML when the trainer runs on a GPU and `nvidia-smi` answers, RAPL
 * when its counters are readable, else the FLOPs-based estimate. A configured `method` forces
 * one (and fails clearly when it is unavailable).
 */
import { EstimateMeter, type EstimateOptions } from './estimate.js';
import type { EnergyMeter, EnergyMethod } from './meter.js';
import { NvmlMeter } from './nvml.js';
import { RaplMeter } from './rapl.js';

export interface EnergyConfig extends EstimateOptions {
  readonly method?: EnergyMethod | 'auto';
  readonly nvidiaSmi?: string;
  readonly powercap?: string;
}

export async function selectMeter(c: EnergyConfig, gpu: boolean): Promise<EnergyMeter> {
  const method = c.method ?? 'auto';
  if (method === 'nvml' || (method === 'auto' && gpu)) {
    const m = await NvmlMeter.open(c.nvidiaSmi);
    if (m) return m;
    if (method === 'nvml')
      throw new Error(`energy.method nvml: ${c.nvidiaSmi ?? 'nvidia-smi'} reports no GPU energy or power`);
  }
  if (method === 'rapl' || method === 'auto') {
    const m = RaplMeter.open(c.powercap);
    if (m) return m;
    if (method === 'rapl')
      throw new Error(
        `energy.method rapl: no readable RAPL counters under ${c.powercap ?? '/sys/class/powercap'}`,
      );
  }
  return new EstimateMeter(c);
}
