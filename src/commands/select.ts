/**
 * `greentrainer select`: solves one selection problem given as JSON
 * `{"t_dy": [...], "t_dw": [...], "importance": [...], "budget": B, "resolution"?: T_q}`
 * (index 0 nearest the output) and prints the optimal mask.
 */
import { z } from 'zod';
import { readJsonFile } from '../config/json-file.js';
import { SelectionInputError, toIssues } from '../greentrainer/errors.js';
import { type Selection, selectTensors } from '../greentrainer/selector.js';
import { formatFlops } from './table.js';

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const SelectInput = z.strictObject({
  t_dy: z.array(finite),
  t_dw: z.array(finite),
  importance: z.array(finite),
  budget: finite,
  resolution: z.number().int().positive().optional(),
});

export interface SelectOptions {
  readonly input: string;
  readonly resolution?: number;
  readonly json: boolean;
}

export function runSelect(o: SelectOptions): string {
  const parsed = SelectInput.safeParse(readJsonFile(o.input));
  if (!parsed.success) throw new SelectionInputError(o.input, toIssues(parsed.error));
  const p = parsed.data;
  const resolution = o.resolution ?? p.resolution;
  const s = selectTensors(
    {
      tDy: p.t_dy,
      tDw: p.t_dw,
      importance: p.importance,
      budget: p.budget,
      ...(resolution ? { resolution } : {}),
    },
    o.input,
  );
  return o.json ? JSON.stringify(toJson(s)) : format(s, p.budget);
}

function toJson(s: Selection) {
  return {
    mask: Array.from(s.mask),
    importance: s.importance,
    cost: s.cost,
    status: s.status,
    deepest: s.deepest,
    exact: s.exact,
  };
}

function format(s: Selection, budget: number): string {
  const chosen = Array.from(s.mask.entries())
    .filter(([, m]) => m)
    .map(([k]) => k);
  const status = {
    selected: `selected ${chosen.length} of ${s.mask.length} tensors: ${chosen.join(', ')}`,
    'nothing-worth-training': 'nothing worth training: no tensor has a positive importance',
    'nothing-fits': 'nothing fits: no tensor with positive importance can be trained within the budget',
  }[s.status];
  return [
    status,
    `importance ${s.importance}`,
    `cost ${s.cost} of budget ${budget} (${formatFlops(s.cost)})`,
    s.exact ? 'exact optimum (integer FLOPs within the resolution)' : 'optimum at the quantised resolution',
  ].join('\n');
}
