/** The stages wired together: a weight tree or a synthetic sweep in, result CSVs and run records out. */
export { runPipeline } from './run-pipeline.js';
export { runSweep, parseDensities, parseSizes, type SweepParams, type SweepSize, type SweepSummary } from './run-sweep.js';
export type { PipelineDeps, PipelineParams, PipelineSummary, StageTimes } from './types.js';
