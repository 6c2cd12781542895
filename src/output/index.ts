export { CSV_COLUMNS, CSV_COLUMN_DOCS, SWEEP_COLUMNS, LABEL_COLUMNS, labelColumns, type CsvColumn, type ResultRow, type RowStatus } from './columns.js';
export { AppendFile, dropPartialLastLine } from './append-file.js';
export { ResultCsvWriter, formatRows, headerLine, openResultCsv, readResultCsv, type CsvRecord, type OpenedCsv } from './result-csv.js';
export {
  gitCommit,
  nextRunNumber,
  queryNvidiaSmi,
  samplesPath,
  sha256File,
  sidecarPath,
  type NvmlReading,
} from './run-metadata.js';
export { removeRunOutputs } from './remove-run-outputs.js';
export { buildReport, type Report, type ReportGroup } from './build-report.js';
export { renderPlots, type Plot } from './render-plots.js';
export { writeReport, type WrittenReport } from './write-report.js';
export { measureKernel, verificationFailure } from './result-rows.js';
export { DEFAULT_COMPARE_THRESHOLD, median, noiseVerdict, relativeStdev, samplesVerdict, type NoiseVerdict, type Verdict } from './noise-verdict.js';
export { compareResults, POINT_FIELDS, type ComparedRow, type ComparedSide, type Comparison, type CsvKind, type RowVerdict } from './compare-results.js';
export { comparisonCsv, comparisonMarkdown, formatComparisonTable } from './format-comparison.js';
export { ENVIRONMENT_FIELDS, environmentDifferences, runEnvironment, type RunEnvironment } from './run-environment.js';
export { paybackCalls } from './payback-calls.js';
export { breakEven, BEST_DENSE_COLUMN, type BreakEvenPoint, type BreakEvenResult, type LayerBreakEven, type ProjectionRow } from './break-even.js';
export { formatBreakEven } from './format-break-even.js';
export { writeBreakEvenReport } from './write-break-even-report.js';
export { mergeResults, type MergeSummary } from './merge-results.js';
export { openRunRecord, peakRssBytes, type RunRecord } from './run-record.js';
