export { SAMPLE_PRUNER, SAMPLE_TREES, ensureSampleTree, pruneAndPermute, type SampleTreeSpec } from './sample-tree.js';
export { BASELINE_KERNEL, KNOWN_KERNELS, mapKernel, orientedShape, pairATensor, selectTensor } from './plan.js';
export { pairActivations, type ActivationPairing, type PairActivationsParams, type PlannedPair } from './pair-activations.js';
export { shuffleWithinTiles } from './shuffle-within-tiles.js';
