export { SAMPLE_PRUNER, SAMPLE_TREES, ensureSampleTree, pruneAndPermute, type SampleTreeSpec } from './sample-tree.js';
export { BASELINE_KERNEL, KNOWN_KERNELS, mapKernel, orientedShape, pairATensor, selectTensor } from './plan.js';
export { runPipeline } from './run-pipeline.js';
export { runSweep, parseDensities, parseSizes, type SweepParams, type SweepSize, type SweepSummary } from './run-sweep.js';
export type { PipelineDeps, PipelineParams, PipelineSummary, StageTimes } from './types.js';
export { planTreePoints, planSyntheticPoints, type Plan, type PlannedSource } from './plan-points.js';
export { shardPlan, parseShard, type Shard } from './shard-plan.js';
export { executePlan } from './execute-plan.js';
