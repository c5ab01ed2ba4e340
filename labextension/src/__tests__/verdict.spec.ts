import type { IParityReport, IViewParity } from '../request';
import { badgeTone, problemLines, reportVerdict, viewStatus } from '../verdict';

function view(name: string, extra: Partial<IViewParity> = {}): IViewParity {
  return {
    name,
    kind: 'batch',
    checks: [
      {
        path: 'offline',
        ok: true,
        rows_expected: 10,
        rows_returned: 10,
        features: [
          {
            name: 'spend',
            ok: true,
            mismatches: 0,
            null_mismatches: 0,
            max_abs_err: 0,
            dtype_notebook: 'float64',
            dtype_feast: 'float64'
          }
        ]
      }
    ],
    ...extra
  };
}

function report(extra: Partial<IParityReport> = {}): IParityReport {
  return {
    ok: true,
    summary: 'Parity ok: 2 views',
    notebook: 'nb.ipynb',
    repo: 'feature_repo',
    views: [view('daily_spend', { ok: true, status: 'ok' }), view('profile', { ok: true, status: 'ok' })],
    hazards: [],
    ...extra
  };
}

describe('badgeTone', () => {
  it('is green only for parity ok', () => {
    expect(badgeTone('parity ok')).toBe('good');
    for (const status of ['mismatch', 'hazards', 'stale', 'error'] as const) {
      expect(badgeTone(status)).toBe('bad');
    }
    expect(badgeTone('exported')).toBe('neutral');
    expect(badgeTone('not exported')).toBe('neutral');
  });
});

describe('reportVerdict', () => {
  it('shows the report summary when every view is ok', () => {
    const verdict = reportVerdict(report());
    expect(verdict).toEqual({ ok: true, headline: 'Parity ok: 2 views', lines: [] });
  });

  it('is never green for a view with a time-travel leak, though all its checks pass', () => {
    // Given the report's verdict: daily_spend has NB2F310 (error), so status hazard
    const leaking = report({
      ok: false,
      summary: 'Not ok: 1 hazard of 2 views',
      views: [
        view('daily_spend', { ok: false, status: 'hazard' }),
        view('profile', { ok: true, status: 'ok' })
      ],
      hazards: [
        {
          code: 'NB2F310',
          category: 'time_travel',
          severity: 'error',
          cell_index: 3,
          cell_id: 'c3',
          line: 2,
          col: 0,
          message: 'value changes when the data is cut',
          fix: 'stamp at the end of the window',
          view: 'daily_spend'
        }
      ]
    });
    // When the panel takes its verdict
    const verdict = reportVerdict(leaking);
    // Then it is not ok, the headline does not say parity ok, and the leak is listed
    expect(verdict.ok).toBe(false);
    expect(verdict.headline).toBe('Not ok: 1 hazard of 2 views');
    expect(verdict.lines).toEqual([
      'daily_spend (hazard NB2F310): value changes when the data is cut'
    ]);
  });

  it('never says parity ok when the report is not ok, whatever its summary', () => {
    const verdict = reportVerdict(report({ ok: false, summary: 'Parity ok: 2 views' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.headline.startsWith('Parity ok')).toBe(false);
  });

  it('names stale reasons and failed phases', () => {
    const lines = problemLines(
      report({
        ok: false,
        views: [
          view('a', { status: 'stale', stale: ['definitions.py changed: run nb2feast materialize'] }),
          view('b', { status: 'error', checks: [], error: { phase: 'materialize', message: 'ValueError: x' } })
        ]
      })
    );
    expect(lines).toEqual([
      'a (stale): definitions.py changed: run nb2feast materialize',
      'b (materialize failed): ValueError: x'
    ]);
  });
});

describe('viewStatus', () => {
  it('takes the report status, else falls back on ok for older reports', () => {
    expect(viewStatus(view('a', { status: 'stale', ok: false }))).toBe('stale');
    expect(viewStatus(view('a', { ok: false }))).toBe('mismatch');
    expect(viewStatus(view('a', { ok: true }))).toBe('ok');
  });
});
