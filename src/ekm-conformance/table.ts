// The conformance report as a table for a terminal: one aligned line per
// case (id, result, milliseconds, detail), printed as each case ends, and a
// summary line. Details are already redacted by the runner.
import type { CaseResult, ConformanceReport } from './runner';

const MS_WIDTH = 7;
const RESULT_WIDTH = 6;

/** A table printer for cases whose longest id is idWidth characters. */
export interface TablePrinter {
  header(): string;
  row(result: CaseResult): string;
}

export function tablePrinter(ids: readonly string[]): TablePrinter {
  const idWidth = Math.max(4, ...ids.map((id) => id.length));
  const line = (id: string, result: string, ms: string, detail: string) =>
    `${id.padEnd(idWidth)}  ${result.padEnd(RESULT_WIDTH)}${ms.padStart(MS_WIDTH)}  ${detail}`.trimEnd();
  return {
    header: () => `${line('CASE', 'RESULT', 'MS', 'DETAIL')}\n`,
    row: (r) => `${line(r.id, r.status, String(r.ms), r.detail ?? '')}\n`,
  };
}

/** The whole table of a finished report. */
export function formatTable(report: ConformanceReport): string {
  const printer = tablePrinter(report.cases.map((c) => c.id));
  return printer.header() + report.cases.map((c) => printer.row(c)).join('');
}

export function formatSummary(report: ConformanceReport): string {
  const failed = report.cases.filter((c) => c.status === 'fail').map((c) => c.id);
  const more = failed.length > 10 ? `, and ${failed.length - 10} more` : '';
  const verdict = failed.length === 0 ? 'PASS' : `FAIL (${failed.slice(0, 10).join(', ')}${more})`;
  return `${report.cases.length} cases against ${report.target}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped: ${verdict}\n`;
}
