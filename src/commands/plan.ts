/**
 * `greentrainer plan`: what one training step of each scheme costs for a model, and, given
 * importance scores, which tensors GreenTrainer would train at ρ.
 */

import { readJsonFile } from '../config/json-file.js';
import { InputFileError } from '../config/text-file.js';
import { contextLength } from '../greentrainer/architectures/hf-config.js';
import { buildArchitecture } from '../greentrainer/architectures/index.js';
import { type FlopsProfile, profileFlops, tensorOrder } from '../greentrainer/flops.js';
import type { ModelSpec, Workload } from '../greentrainer/graph.js';
import { backwardBudget, earlyStopDepth, rhoFloor, toRhoBp } from '../greentrainer/rho.js';
import {
  fullFineTuning,
  lora,
  maskFlops,
  maxLoraRank,
  prefixTuning,
  type SchemeFlops,
  top2,
} from '../greentrainer/schemes.js';
import { type Selection, selectTensors } from '../greentrainer/selector.js';
import { loadModelSource, type ModelSource } from './model-source.js';
import { formatFlops, formatTable, percent } from './table.js';

export interface PlanOptions {
  readonly model: string;
  readonly rho: number;
  readonly batch: number;
  readonly inputLength: number;
  readonly outputLength: number;
  readonly loraRank: number;
  readonly prefixLength: number;
  readonly resolution: number;
  readonly importance?: string;
  readonly tensors: boolean;
  readonly json: boolean;
}

interface GreenTrainerPlan extends SchemeFlops {
  readonly rho: number;
  readonly rho_bp: number;
  readonly status: Selection['status'];
  readonly importance: number;
  readonly selected: string[];
}

export interface PlanReport {
  readonly model: string;
  readonly model_type: string;
  readonly workload: Workload;
  readonly tensors: number;
  readonly flops: { readonly forward: number; readonly backward_full: number };
  readonly rho: {
    readonly value: number;
    readonly rho_bp: number;
    readonly floor: number;
    readonly early_stop_depth: number;
  };
  readonly schemes: {
    readonly full: SchemeFlops;
    readonly top2: SchemeFlops;
    readonly lora: SchemeFlops & { readonly rank: number };
    readonly prefix: SchemeFlops & { readonly length: number };
    readonly greentrainer?: GreenTrainerPlan;
  };
  readonly tensor_flops?: ReadonlyArray<{
    name: string;
    shape: readonly number[];
    layer: string;
    t_dy: number;
    t_dw: number;
  }>;
}

export function runPlan(o: PlanOptions): string {
  const source = loadModelSource(o.model);
  const spec = buildArchitecture(source.config, source.file);
  checkWorkload(source, spec, o);
  const workload = { batch: o.batch, inputLength: o.inputLength, outputLength: o.outputLength };
  const names = tensorOrder(spec).map((t) => t.name);
  const scores = o.importance ? readImportance(o.importance, names) : undefined;
  const report = buildPlan(source.name, spec, workload, o, scores);
  return o.json ? JSON.stringify(report, null, 2) : formatPlan(report);
}

/** Assembles the plan; pure apart from the inputs it is given. */
export function buildPlan(
  name: string,
  spec: ModelSpec,
  workload: Workload,
  o: Pick<PlanOptions, 'rho' | 'loraRank' | 'prefixLength' | 'resolution' | 'tensors'>,
  importance?: Float64Array,
): PlanReport {
  const profile = profileFlops(spec, workload);
  const budget = backwardBudget(o.rho, profile.forward, profile.backward);
  const tDy = profile.tensors.map((t) => t.tDy);
  return {
    model: name,
    model_type: spec.modelType,
    workload,
    tensors: profile.tensors.length,
    flops: { forward: profile.forward, backward_full: profile.backward },
    rho: {
      value: o.rho,
      rho_bp: toRhoBp(o.rho, profile.forward, profile.backward),
      floor: rhoFloor(profile.forward, profile.backward),
      early_stop_depth: earlyStopDepth(tDy, budget),
    },
    schemes: {
      full: fullFineTuning(profile),
      top2: top2(spec, profile),
      lora: { ...lora(spec, profile, o.loraRank), rank: o.loraRank },
      prefix: { ...prefixTuning(spec, profile, o.prefixLength), length: o.prefixLength },
      ...(importance ? { greentrainer: greenTrainer(profile, importance, o.rho, budget, o.resolution) } : {}),
    },
    ...(o.tensors
      ? {
          tensor_flops: profile.tensors.map((t) => ({
            name: t.name,
            shape: t.shape,
            layer: t.layer,
            t_dy: t.tDy,
            t_dw: t.tDw,
          })),
        }
      : {}),
  };
}

/** Refuses a workload the model cannot run: no tokens, more than its positions, a LoRA rank past its width. */
function checkWorkload(source: ModelSource, spec: ModelSpec, o: PlanOptions): void {
  const tokens = o.inputLength + o.outputLength;
  const problems: string[] = [];
  if (tokens === 0) problems.push('--input-length + --output-length is 0 tokens: a step needs at least one');
  const context = contextLength(source.config);
  if (context && tokens > context.tokens)
    problems.push(
      `--input-length + --output-length = ${tokens} tokens exceed the model's ${context.tokens} positions (${context.field} in ${source.file})`,
    );
  const maxRank = maxLoraRank(spec);
  if (o.loraRank > maxRank)
    problems.push(
      `--lora-rank ${o.loraRank} exceeds ${maxRank}, the smallest dimension of the LoRA target weights`,
    );
  if (problems.length > 0)
    throw new InputFileError(`plan for ${source.name}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

function greenTrainer(
  profile: FlopsProfile,
  importance: Float64Array,
  rho: number,
  budget: number,
  resolution: number,
): GreenTrainerPlan {
  const selection = selectTensors({
    tDy: profile.tensors.map((t) => t.tDy),
    tDw: profile.tensors.map((t) => t.tDw),
    importance,
    budget,
    resolution,
  });
  return {
    rho,
    rho_bp: toRhoBp(rho, profile.forward, profile.backward),
    ...maskFlops(profile, selection.mask),
    status: selection.status,
    importance: selection.importance,
    selected: profile.tensors.filter((_, k) => selection.mask[k]).map((t) => t.name),
  };
}

/**
 * Importance scores from a file: a JSON object tensor name → score, covering every tensor, or an
 * array of scores in backpropagation order.
 */
export function readImportance(file: string, names: readonly string[]): Float64Array {
  const raw = readJsonFile(file);
  const fail = (why: string) => {
    throw new InputFileError(`importance file ${file}: ${why}`);
  };
  const score = (v: unknown, where: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(`${where}: expected a finite number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  if (Array.isArray(raw)) {
    if (raw.length !== names.length) {
      fail(`expected ${names.length} scores (one per tensor, in backpropagation order), got ${raw.length}`);
    }
    return Float64Array.from(raw, (v, k) => score(v, `[${k}]`));
  }
  if (typeof raw !== 'object' || raw === null)
    return fail('expected an object name → score or an array of scores');
  const entries = raw as Record<string, unknown>;
  const known = new Set(names);
  const unknown = Object.keys(entries).filter((n) => !known.has(n));
  if (unknown.length > 0)
    fail(`unknown tensor names: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
  const missing = names.filter((n) => !(n in entries));
  if (missing.length > 0)
    fail(`no score for ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(', ')}`);
  return Float64Array.from(names, (n) => score(entries[n], n));
}

export function formatPlan(r: PlanReport): string {
  const w = r.workload;
  const s = r.schemes;
  const rows = [
    ['full fine-tuning', formatFlops(s.full.flops), percent(s.full.reduction), ''],
    ['FT-Top2', formatFlops(s.top2.flops), percent(s.top2.reduction), 'output embedding + final layer'],
    [`LoRA (r=${s.lora.rank})`, formatFlops(s.lora.flops), percent(s.lora.reduction), 'W_Q, W_V'],
    [`prefix tuning (p=${s.prefix.length})`, formatFlops(s.prefix.flops), percent(s.prefix.reduction), ''],
  ];
  const gt = s.greentrainer;
  if (gt) {
    const note = gt.status === 'selected' ? `${gt.selected.length} tensors` : gt.status;
    rows.push([`GreenTrainer (ρ=${gt.rho})`, formatFlops(gt.flops), percent(gt.reduction), note]);
  }
  const lines = [
    `${r.model} (${r.model_type}, ${r.tensors} trainable tensors): batch ${w.batch}, input ${w.inputLength}, output ${w.outputLength} tokens`,
    `forward ${formatFlops(r.flops.forward)}, full backward ${formatFlops(r.flops.backward_full)} per step (a multiply-add counts 2 FLOPs)`,
    `ρ = ${r.rho.value}: ρ_bp = ${r.rho.rho_bp.toFixed(4)}, floor ρ_min = ${r.rho.floor.toFixed(4)}, ` +
      `importance needed for the top ${r.rho.early_stop_depth} tensors (Eq. 12)`,
    '',
    formatTable(['scheme', 'FLOPs/step', 'reduction', 'trains'], rows, ['left', 'right', 'right', 'left']),
  ];
  if (!gt)
    lines.push(
      '',
      'GreenTrainer needs importance scores: pass --importance FILE (name → score, or an array).',
    );
  if (r.tensor_flops) {
    lines.push(
      '',
      formatTable(
        ['#', 'tensor', 'shape', 't_dy', 't_dw'],
        r.tensor_flops.map((t, k) => [
          String(k),
          t.name,
          `[${t.shape.join(', ')}]`,
          formatFlops(t.t_dy),
          formatFlops(t.t_dw),
        ]),
        ['right', 'left', 'left', 'right', 'right'],
      ),
    );
  }
  return lines.join('\n');
}
