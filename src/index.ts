/** greentrainer's public library surface. */
export { buildArchitecture, knownModelTypes } from './greentrainer/architectures/index.js';
export { type Issue, ModelConfigError, RhoError, SelectionInputError } from './greentrainer/errors.js';
export { ELEMENTWISE, type FlopsProfile, profileFlops, type TensorFlops } from './greentrainer/flops.js';
export type { ModelSpec, TensorSpec, Workload } from './greentrainer/graph.js';
export { backwardBudget, earlyStopDepth, rhoFloor, toRhoBp } from './greentrainer/rho.js';
export {
  DEFAULT_LORA_RANK,
  DEFAULT_PREFIX_LENGTH,
  fullFineTuning,
  lora,
  maskFlops,
  prefixTuning,
  type SchemeFlops,
  top2,
  top2Mask,
} from './greentrainer/schemes.js';
export {
  DEFAULT_RESOLUTION,
  type Selection,
  type SelectionProblem,
  selectionCost,
  selectTensors,
} from './greentrainer/selector.js';
