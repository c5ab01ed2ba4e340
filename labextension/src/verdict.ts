/**
 * The panel's verdict, taken from the report and never recomputed: the server's
 * `nb2feast.proof.report` decides each view's `status` and the report's `ok` and `summary`,
 * so a badge, the headline, the JSON's `ok` and the CLI's exit code cannot disagree.
 * Pure functions, no JupyterLab imports: jest specs cover them (`jlpm test`).
 */
import type { CellStatus, IParityReport, IViewParity, ViewStatus } from './request';

export type Tone = 'good' | 'bad' | 'neutral';

/** Green only for parity proven; red for anything that must not ship. */
export function badgeTone(status: CellStatus): Tone {
  switch (status) {
    case 'parity ok':
      return 'good';
    case 'mismatch':
    case 'hazards':
    case 'stale':
    case 'error':
      return 'bad';
    default:
      return 'neutral';
  }
}

/** A view's status as the report says; reports from before `status` fall back on `ok`. */
export function viewStatus(view: IViewParity): ViewStatus {
  if (view.status) {
    return view.status;
  }
  const ok = view.ok ?? view.checks.every(c => c.ok ?? !c.error);
  return ok ? 'ok' : 'mismatch';
}

export interface IVerdict {
  ok: boolean;
  headline: string;
  lines: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line per thing that keeps a view from parity ok, in the report's words. */
export function problemLines(report: IParityReport): string[] {
  const lines: string[] = [];
  for (const view of report.views) {
    const status = viewStatus(view);
    for (const reason of view.stale ?? []) {
      lines.push(`${view.name} (stale): ${reason}`);
    }
    if (view.error) {
      lines.push(`${view.name} (${view.error.phase} failed): ${view.error.message}`);
    }
    for (const check of view.checks) {
      const where = check.mode ? `${check.path}, ${check.mode}` : check.path;
      const name = check.feast_view ?? view.name;
      if (check.error) {
        lines.push(`${name} (${where}): ${check.error}`);
        continue;
      }
      if (check.rows_expected !== check.rows_returned) {
        lines.push(
          `${name} (${where}): ${check.rows_returned} rows returned, ${check.rows_expected} expected`
        );
      }
      for (const feature of check.features.filter(f => !f.ok)) {
        lines.push(
          `${name}.${feature.name} (${where}): ${feature.mismatches} mismatches, ` +
            `${feature.null_mismatches} null mismatches, max error ${feature.max_abs_err}`
        );
      }
    }
    if (status === 'hazard') {
      for (const h of report.hazards.filter(
        h => h.view === view.name && h.severity === 'error'
      )) {
        lines.push(`${view.name} (hazard ${h.code}): ${h.message}`);
      }
    }
  }
  return lines;
}

/** The headline and its tone: the report's `ok` and `summary`, never a count of lines. */
export function reportVerdict(report: IParityReport): IVerdict {
  const lines = problemLines(report);
  const ok = report.ok === true && report.views.every(v => viewStatus(v) === 'ok');
  let headline = report.summary;
  if (!headline) {
    const checks = report.views.reduce((n, v) => n + v.checks.length, 0);
    headline = ok
      ? `Parity ok: ${plural(report.views.length, 'view')}, ${plural(checks, 'check')}`
      : `Not ok: ${plural(Math.max(lines.length, 1), 'problem')}`;
  }
  if (!ok && headline.startsWith('Parity ok')) {
    headline = `Not ok: ${plural(Math.max(lines.length, 1), 'problem')}`;
  }
  return { ok, headline, lines };
}
