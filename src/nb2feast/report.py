"""The parity report, three ways: JSON (SPEC section 3), a terminal table, and HTML.

All three render the same `ParityReport`; nothing here computes anything.
"""

from __future__ import annotations

import html
import json

from nb2feast.model import ParityCheck, ParityFeature, ParityReport

_TIMING_ORDER = (
    "run_notebook", "open_store", "sample", "offline", "materialize", "online", "compare", "time_travel"
)


def render_json(report: ParityReport) -> str:
    """The report as SPEC section 3 JSON (what `verify --format json` prints)."""
    return json.dumps(report.to_dict(), indent=2, default=str)


def render_text(report: ParityReport) -> str:
    """A table a person reads in a terminal: one line per feature, offenders spelled out."""
    lines = [
        f"nb2feast verify: {report.notebook} against {report.repo}: "
        + ("OK" if report.ok else "MISMATCH"),
        "",
    ]
    header = ("view", "path", "mode", "feature", "ok", "rows", "mism", "nulls", "max_abs_err", "dtype nb -> feast")
    table = [header]
    for view in report.views:
        for check in view.checks:
            rows = f"{check.rows_returned}/{check.rows_expected}"
            name = check.feast_view or view.name
            if check.error is not None:
                table.append((name, check.path, check.mode or "", "-", "ERROR", rows, "", "", "", ""))
                continue
            for feature in check.features:
                table.append(_feature_row(name, check, feature, rows))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    problems = _problems(report)
    if problems:
        lines += ["", "Problems:"] + problems
    if report.hazards:
        lines += ["", "Hazards:"]
        lines += [
            f"  {h.severity:<7} {h.code} {h.category}: cell {h.cell_index} (id {h.cell_id}), "
            f"line {h.line}: {h.message}" + (f"\n          fix: {h.fix}" if h.fix else "")
            for h in report.hazards
        ]
    if report.timings:
        lines += ["", "Timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in _ordered_timings(report))]
    return "\n".join(lines) + "\n"


def _feature_row(view: str, check: ParityCheck, feature: ParityFeature, rows: str) -> tuple[str, ...]:
    drift = " (!)" if feature.feast_type != feature.feast_type_notebook else ""
    return (
        view,
        check.path,
        check.mode or "",
        feature.name,
        "ok" if feature.ok else "FAIL",
        rows,
        str(feature.mismatches),
        str(feature.null_mismatches),
        f"{feature.max_abs_err:.3g}",
        f"{feature.dtype_notebook} -> {feature.dtype_feast}{drift}",
    )


def _problems(report: ParityReport) -> list[str]:
    """One paragraph per failing check or feature, with its first offending rows."""
    out: list[str] = []
    for view in report.views:
        for check in view.checks:
            where = f"{check.feast_view or view.name} [{check.path}{'/' + check.mode if check.mode else ''}]"
            if check.error is not None:
                out.append(f"  {where}: {check.error}")
                continue
            if check.rows_expected != check.rows_returned:
                out.append(
                    f"  {where}: Feast returned {check.rows_returned} rows for {check.rows_expected} requested"
                )
            for feature in check.features:
                if feature.ok:
                    continue
                out.append(f"  {where} {feature.name}: {_why(feature)}")
                out += [f"      {_describe_example(e)}" for e in feature.examples]
    return out


def _why(feature: ParityFeature) -> str:
    reasons = []
    if feature.mismatches:
        reasons.append(
            f"{feature.mismatches} mismatching rows ({feature.null_mismatches} null on one side), "
            f"max abs error {feature.max_abs_err:.3g}"
        )
    if feature.feast_type and feature.feast_type_notebook and feature.feast_type != feature.feast_type_notebook:
        reasons.append(
            f"type drift: the notebook's {feature.dtype_notebook} is {feature.feast_type_notebook}, "
            f"Feast declares {feature.feast_type}"
        )
    return "; ".join(reasons) or "not ok"


def _describe_example(example: dict) -> str:
    context = ", ".join(
        f"{k}={v}" for k, v in example.items() if k not in {"row", "notebook", "feast", "issue"}
    )
    return (
        f"row {example.get('row')} ({context}): notebook {example.get('notebook')!r}, "
        f"feast {example.get('feast')!r} - {example.get('issue', '')}"
    )


def _ordered_timings(report: ParityReport) -> list[tuple[str, float]]:
    known = [(k, report.timings[k]) for k in _TIMING_ORDER if k in report.timings]
    rest = [(k, v) for k, v in report.timings.items() if k not in _TIMING_ORDER]
    return known + rest


_CSS = """
.nb2f-report { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; }
.nb2f-report table { border-collapse: collapse; margin: 4px 0; }
.nb2f-report th, .nb2f-report td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
.nb2f-report td.num { text-align: right; font-variant-numeric: tabular-nums; }
.nb2f-ok { color: #1a7f37; font-weight: 600; }
.nb2f-fail { color: #cf222e; font-weight: 600; }
.nb2f-report details { margin-left: 1em; }
""".strip()


def render_html(report: ParityReport) -> str:
    """A self-contained HTML fragment for the `%feature_verify` magic and the lab panel."""
    e = html.escape
    status = _badge(report.ok, "parity ok", "mismatch")
    parts = [
        f"<div class='nb2f-report'><style>{_CSS}</style>",
        (
            f"<p><b>nb2feast verify</b> {status}: <code>{e(report.notebook)}</code> "
            f"against <code>{e(report.repo)}</code></p>"
        ),
        "<table><thead><tr>"
        + "".join(
            f"<th>{h}</th>"
            for h in ("view", "path", "mode", "feature", "", "rows", "mismatches", "nulls", "max abs err", "dtype")
        )
        + "</tr></thead><tbody>",
    ]
    for view in report.views:
        for check in view.checks:
            rows = f"{check.rows_returned}/{check.rows_expected}"
            head = f"<td>{e(check.feast_view or view.name)}</td><td>{check.path}</td><td>{e(check.mode or '')}</td>"
            if check.error is not None:
                parts.append(
                    f"<tr>{head}<td colspan='7'>{_badge(False, '', 'error')} {e(check.error)}</td></tr>"
                )
                continue
            for f in check.features:
                parts.append(
                    f"<tr>{head}<td>{e(f.name)}</td><td>{_badge(f.ok, 'ok', 'fail')}</td>"
                    f"<td class='num'>{rows}</td><td class='num'>{f.mismatches}</td>"
                    f"<td class='num'>{f.null_mismatches}</td><td class='num'>{f.max_abs_err:.3g}</td>"
                    f"<td>{e(f.dtype_notebook)} &rarr; {e(f.dtype_feast)}</td></tr>"
                )
    parts.append("</tbody></table>")
    problems = _problems(report)
    if problems:
        parts.append(
            "<details open><summary>Problems</summary><pre>"
            + e("\n".join(p.strip() for p in problems))
            + "</pre></details>"
        )
    if report.hazards:
        items = "".join(
            f"<li><b>{e(h.severity)}</b> {e(h.code)} {e(h.category)}: cell {h.cell_index}, "
            f"line {h.line}: {e(h.message)}" + (f"<br><i>fix:</i> {e(h.fix)}" if h.fix else "") + "</li>"
            for h in report.hazards
        )
        parts.append(f"<details open><summary>Hazards</summary><ul>{items}</ul></details>")
    if report.timings:
        timing = ", ".join(f"{k} {v:.2f}s" for k, v in _ordered_timings(report))
        parts.append(f"<p><small>{e(timing)}</small></p>")
    parts.append("</div>")
    return "".join(parts)


def _badge(ok: bool, good: str, bad: str) -> str:
    return f"<span class='nb2f-ok'>{good}</span>" if ok else f"<span class='nb2f-fail'>{bad}</span>"
