/**
 * `report.svg` in a run folder, drawn from its whole run log (`timeline.jsonl`: every trainer
 * the folder saw). Written to a temporary file and renamed, so a crash never leaves half a chart;
 * a failure costs the report, never the run (it is reported through `onError`).
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunHistory } from './history.js';
import { runReportSvg } from './run-report.js';

export const REPORT_SVG = 'report.svg';

export function writeRunReport(
  folder: string,
  title: string,
  onError: (message: string) => void,
): string | undefined {
  const file = join(folder, REPORT_SVG);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, runReportSvg(RunHistory.fromFolder(folder, onError), { title }));
    renameSync(tmp, file);
    return file;
  } catch (error) {
    rmSync(tmp, { force: true });
    onError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
}
