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
export { DEFAULT_VERIFY_TOLERANCE, VERIFY_TOLERANCE } from './result-rows.js';
export { mergeResults, type MergeSummary } from './merge-results.js';
export { openRunRecord, peakRssBytes, type RunRecord } from './run-record.js';
