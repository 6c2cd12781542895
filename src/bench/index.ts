export { SAMPLE_PRUNER, SAMPLE_TREES, ensureSampleTree, pruneAndPermute, type SampleTreeSpec } from './sample-tree.js';
export { DEFAULT_KERNELS, KNOWN_KERNELS, mapKernel, orientedShape, pairATensor, selectTensor } from './plan.js';
export { callKernels, kernelRoles, type KernelRoles } from './kernel-roles.js';
export { pairActivations, type ActivationPairing, type PairActivationsParams, type PlannedPair } from './pair-activations.js';
export { shuffleWithinTiles } from './shuffle-within-tiles.js';
