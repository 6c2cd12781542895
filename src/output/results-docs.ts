/** Documents whose result tables are rendered from committed CSVs (paths from the package root). */
export const RESULTS_DOCS = ['README.md', 'docs/performance.md'] as const;
