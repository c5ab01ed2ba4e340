"""The parity report, three ways: JSON (SPEC section 3), a terminal table, and HTML.

All three render the same `ParityReport`. The verdict (`view_status`, `report_ok`,
`headline`) lives here and only here: the CLI's exit code, the JSON's `ok` and
`status`, the terminal and HTML headlines and the lab panel's badges all come from it.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence

from nb2feast.model import (
    PHASES,
    Hazard,
    ParityCheck,
    ParityFeature,
    ParityReport,
    ViewParity,
    ViewStatus,
)

# Feast's offline join returns Int64 features as float64 where it leaves nulls: said once.
FEAST_NULL_WIDENING = ("int64", "float64")
NULL_WIDENING_NOTE = (
    "Feast's offline retrieval returns Int64 features as float64 when the point-in-time join "
    "leaves nulls (Feast's null handling, not drift); values are compared as numbers."
)


def view_status(view: ViewParity, hazards: Sequence[Hazard]) -> ViewStatus:
    """The one verdict on a view, most pressing first: stale, error, mismatch, hazard, ok.

    A view with an error-severity hazard (static, or NB2F310 from time travel) is never ok.
    """
    if view.stale:
        return "stale"
    if view.error is not None or any(c.error for c in view.checks):
        return "error"
    if not all(c.ok for c in view.checks):
        return "mismatch"
    if any(h.severity == "error" and h.view == view.name for h in hazards):
        return "hazard"
    return "ok"


def report_ok(report: ParityReport) -> bool:
    """Every view ok and no error hazard anywhere: exit 0."""
    return all(view_status(v, report.hazards) == "ok" for v in report.views) and not any(
        h.severity == "error" for h in report.hazards
    )


def headline(report: ParityReport) -> str:
    """One line for the terminal, the HTML and the panel: `Parity ok: N views` or what is not."""
    statuses = [view_status(v, report.hazards) for v in report.views]
    if report_ok(report):
        return f"Parity ok: {len(statuses)} view{'s' if len(statuses) != 1 else ''}"
    counts = [(s, statuses.count(s)) for s in ("stale", "error", "mismatch", "hazard")]
    parts = [f"{n} {s}" for s, n in counts if n]
    loose = [
        h
        for h in report.hazards
        if h.severity == "error" and h.view not in {v.name for v in report.views}
    ]
    if loose:
        parts.append(f"{len(loose)} error hazard{'s' if len(loose) != 1 else ''}")
    return f"Not ok: {', '.join(parts)} of {len(statuses)} view{'s' if len(statuses) != 1 else ''}"


def format_error(value: float) -> str:
    """A max abs error as people read it: `inf` and `nan` spelled out, else 3 digits."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"


def is_null_widening(feature: ParityFeature) -> bool:
    return (feature.dtype_notebook.lower(), feature.dtype_feast.lower()) == FEAST_NULL_WIDENING


def _dtype_cell(feature: ParityFeature) -> str:
    if is_null_widening(feature):
        return feature.dtype_notebook
    return f"{feature.dtype_notebook} -> {feature.dtype_feast}"


def report_notes(report: ParityReport) -> list[str]:
    """The report's notes, each view's notes named by view, and the null-widening note once."""
    notes = list(report.notes)
    notes += [f"{v.name}: {n}" for v in report.views for n in v.notes]
    if any(is_null_widening(f) for v in report.views for c in v.checks for f in c.features):
        notes.append(NULL_WIDENING_NOTE)
    return notes


def render_json(report: ParityReport) -> str:
    """The report as SPEC section 3 JSON (what `verify --format json` prints)."""
    return json.dumps(report.to_dict(), indent=2, default=str)


def render_text(report: ParityReport) -> str:
    """A table a person reads in a terminal: one line per feature, offenders spelled out."""
    lines = [
        f"nb2feast verify: {headline(report)}",
        f"  {report.notebook} against {report.repo}",
        "",
    ]
    header = (
        "view",
        "path",
        "mode",
        "feature",
        "ok",
        "rows",
        "mism",
        "nulls",
        "max_abs_err",
        "dtype nb -> feast",
    )
    table = [header]
    for view in report.views:
        status = view_status(view, report.hazards)
        if not view.checks:
            table.append((view.name, "-", "", "-", status.upper(), "", "", "", "", ""))
        for check in view.checks:
            rows = f"{check.rows_returned}/{check.rows_expected}"
            name = check.feast_view or view.name
            if check.error is not None:
                table.append(
                    (name, check.path, check.mode or "", "-", "ERROR", rows, "", "", "", "")
                )
                continue
            for feature in check.features:
                table.append(_feature_row(name, check, feature, rows))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    problems = _problems(report)
    if problems:
        lines += ["", "Problems:"] + problems
    notes = report_notes(report)
    if notes:
        lines += ["", "Notes:"] + [f"  {n}" for n in notes]
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


def _feature_row(
    view: str, check: ParityCheck, feature: ParityFeature, rows: str
) -> tuple[str, ...]:
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
        format_error(feature.max_abs_err),
        _dtype_cell(feature) + drift,
    )


def _problems(report: ParityReport) -> list[str]:
    """One paragraph per failing check or feature, with its first offending rows."""
    out: list[str] = []
    for view in report.views:
        out += [f"  {view.name} [stale]: {reason}" for reason in view.stale]
        if view.error is not None:
            out.append(f"  {view.name} [{view.error.phase}]: {view.error.message}")
        for check in view.checks:
            where = (
                f"{check.feast_view or view.name} "
                f"[{check.path}{'/' + check.mode if check.mode else ''}]"
            )
            if check.error is not None:
                out.append(f"  {where}: {check.error}")
                continue
            if check.rows_expected != check.rows_returned:
                out.append(
                    f"  {where}: Feast returned {check.rows_returned} rows for "
                    f"{check.rows_expected} requested"
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
            f"max abs error {format_error(feature.max_abs_err)}"
        )
    if (
        feature.feast_type
        and feature.feast_type_notebook
        and feature.feast_type != feature.feast_type_notebook
    ):
        reasons.append(
            f"type drift: the notebook's {feature.dtype_notebook} is "
            f"{feature.feast_type_notebook}, "
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
    known = [(k, report.timings[k]) for k in PHASES if k in report.timings]
    rest = [(k, v) for k, v in report.timings.items() if k not in PHASES]
    return known + rest


_CSS = """
.nb2f-report { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; }
.nb2f-report table { border-collapse: collapse; margin: 4px 0; }
.nb2f-report th, .nb2f-report td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; }
.nb2f-report td.num { text-align: right; font-variant-numeric: tabular-nums; }
.nb2f-ok { color: #1a7f37; font-weight: 600; }
.nb2f-fail { color: #cf222e; font-weight: 600; }
.nb2f-report details { margin-left: 1em; }
""".strip()  # noqa: E501 - CSS rules, one a line; the string is served as is


def render_html(report: ParityReport) -> str:
    """A self-contained HTML fragment for the `%feature_verify` magic and the lab panel."""
    e = html.escape
    status = _badge(report.ok, e(headline(report)), e(headline(report)))
    parts = [
        f"<div class='nb2f-report'><style>{_CSS}</style>",
        (
            f"<p><b>nb2feast verify</b> {status}: <code>{e(report.notebook)}</code> "
            f"against <code>{e(report.repo)}</code></p>"
        ),
        "<table><thead><tr>"
        + "".join(
            f"<th>{h}</th>"
            for h in (
                "view",
                "path",
                "mode",
                "feature",
                "",
                "rows",
                "mismatches",
                "nulls",
                "max abs err",
                "dtype",
            )
        )
        + "</tr></thead><tbody>",
    ]
    for view in report.views:
        status = view_status(view, report.hazards)
        if not view.checks:
            parts.append(
                f"<tr><td>{e(view.name)}</td>"
                f"<td colspan='9'>{_badge(False, '', e(status))}</td></tr>"
            )
        for check in view.checks:
            rows = f"{check.rows_returned}/{check.rows_expected}"
            head = (
                f"<td>{e(check.feast_view or view.name)}</td><td>{check.path}</td>"
                f"<td>{e(check.mode or '')}</td>"
            )
            if check.error is not None:
                parts.append(
                    f"<tr>{head}<td colspan='7'>{_badge(False, '', 'error')} "
                    f"{e(check.error)}</td></tr>"
                )
                continue
            for f in check.features:
                parts.append(
                    f"<tr>{head}<td>{e(f.name)}</td><td>{_badge(f.ok, 'ok', 'fail')}</td>"
                    f"<td class='num'>{rows}</td><td class='num'>{f.mismatches}</td>"
                    f"<td class='num'>{f.null_mismatches}</td>"
                    f"<td class='num'>{format_error(f.max_abs_err)}</td>"
                    f"<td>{e(_dtype_cell(f)).replace('-&gt;', '&rarr;')}</td></tr>"
                )
    parts.append("</tbody></table>")
    problems = _problems(report)
    if problems:
        parts.append(
            "<details open><summary>Problems</summary><pre>"
            + e("\n".join(p.strip() for p in problems))
            + "</pre></details>"
        )
    notes = report_notes(report)
    if notes:
        items = "".join(f"<li>{e(n)}</li>" for n in notes)
        parts.append(f"<details><summary>Notes</summary><ul>{items}</ul></details>")
    if report.hazards:
        items = "".join(
            f"<li><b>{e(h.severity)}</b> {e(h.code)} {e(h.category)}: cell {h.cell_index}, "
            f"line {h.line}: {e(h.message)}"
            + (f"<br><i>fix:</i> {e(h.fix)}" if h.fix else "")
            + "</li>"
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


# CI formats ----------------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, file: str = "", line: int | None = None, title: str = ""
) -> str:
    """One GitHub Actions workflow command (`::error file=NB,line=L::message`)."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if line:
        props.append(f"line={int(line)}")
    if title:
        props.append(f"title={_escape_property(title)}")
    return (
        f"::{level} {','.join(props)}::{_escape_data(message)}"
        if props
        else f"::{level}::{_escape_data(message)}"
    )


_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def hazard_annotations(
    hazards: Sequence[Hazard], notebook: str, lines: Mapping[tuple[int, int], int]
) -> list[str]:
    """Hazards as annotations at the notebook line of their cell line.

    `lines` maps (cell, line) -> line of the notebook file.
    """
    return [
        annotation(
            _LEVELS.get(h.severity, "warning"),
            f"{h.code} {h.category} in cell {h.cell_index} (id {h.cell_id}), line "
            f"{h.line}: {h.message}" + (f" Fix: {h.fix}" if h.fix else ""),
            file=notebook,
            line=lines.get((h.cell_index, h.line)),
            title=f"nb2feast {h.code}",
        )
        for h in hazards
    ]


def render_github(report: ParityReport, lines: Mapping[tuple[int, int], int] | None = None) -> str:
    """The report as GitHub Actions annotations: stale views, errors, mismatches, hazards."""
    lines = lines or {}
    cells = dict(report.cells)
    out = []
    for view in report.views:
        status = view_status(view, report.hazards)
        if status in ("ok", "hazard"):
            continue
        where = lines.get((cells.get(view.name, -1), 1))
        reasons = list(view.stale)
        if view.error is not None:
            reasons.append(f"{view.error.phase} failed: {view.error.message}")
        for check in view.checks:
            label = f"{check.path}{'/' + check.mode if check.mode else ''}"
            if check.error:
                reasons.append(f"{label}: {check.error}")
            elif check.rows_expected != check.rows_returned:
                reasons.append(
                    f"{label}: Feast returned {check.rows_returned} rows for {check.rows_expected}"
                )
            reasons += [f"{label} {f.name}: {_why(f)}" for f in check.features if not f.ok]
        for reason in reasons:
            out.append(
                annotation(
                    "error",
                    f"view {view.name} is {status}: {reason}",
                    report.notebook,
                    where,
                    f"nb2feast verify: {view.name}",
                )
            )
    out += hazard_annotations(report.hazards, report.notebook, lines)
    out.append(
        annotation("notice" if report.ok else "error", headline(report), title="nb2feast verify")
    )
    return "\n".join(out) + "\n"


def render_junit(report: ParityReport) -> str:
    """JUnit XML: one test case per view and check (freshness, each retrieval, time travel)."""
    from xml.etree import ElementTree as ET

    suite = ET.Element("testsuite", name="nb2feast verify")
    counts = {"tests": 0, "failures": 0, "errors": 0}

    def case(view: str, name: str, failure: str | None = None, error: str | None = None) -> None:
        element = ET.SubElement(suite, "testcase", classname=f"nb2feast.{view}", name=name)
        counts["tests"] += 1
        if error is not None:
            ET.SubElement(element, "error", message=error.splitlines()[0][:200]).text = error
            counts["errors"] += 1
        elif failure is not None:
            ET.SubElement(element, "failure", message=failure.splitlines()[0][:200]).text = failure
            counts["failures"] += 1

    for view in report.views:
        case(view.name, "fresh", failure="\n".join(view.stale) or None)
        if view.error is not None:
            case(view.name, view.error.phase, error=view.error.message)
        for check in view.checks:
            label = f"{check.path}{'[' + check.mode + ']' if check.mode else ''}"
            problems = [f"{f.name}: {_why(f)}" for f in check.features if not f.ok]
            if check.rows_expected != check.rows_returned and check.error is None:
                problems.insert(
                    0, f"Feast returned {check.rows_returned} rows for {check.rows_expected}"
                )
            case(view.name, label, failure="\n".join(problems) or None, error=check.error)
        if view.kind == "batch":
            leaks = [h for h in report.hazards if h.view == view.name and h.severity == "error"]
            case(
                view.name,
                "hazards",
                failure="\n".join(f"{h.code}: {h.message}" for h in leaks) or None,
            )
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="nb2feast", **{k: str(v) for k, v in counts.items()})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
