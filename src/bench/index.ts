export { runPipeline } from './run-pipeline.js';
export { runSweep, parseDensities, parseSizes, type SweepParams, type SweepSize, type SweepSummary } from './run-sweep.js';
export { SAMPLE_PRUNER, SAMPLE_TREES, ensureSampleTree, pruneAndPermute, type SampleTreeSpec } from './sample-tree.js';
export { BASELINE_KERNEL, KNOWN_KERNELS, mapKernel, orientedShape, pairATensor, selectTensor } from './plan.js';
export { DEFAULT_VERIFY_TOLERANCE, VERIFY_TOLERANCE } from './result-rows.js';
export type { PipelineDeps, PipelineParams, PipelineSummary, StageTimes } from './types.js';
