"""Run a corpus notebook through nb2feast as a user would, and judge it against its verdict.

Each corpus notebook lives in `tests/corpus/<name>/`: `notebook.py` (the cells, in the
percent format: `# %%` starts a code cell, `# %% [markdown]` a markdown cell),
`<name>.ipynb` built from it by `build.py`, `make_data.py` (seeded generator of the
small files committed under `data/`) and `expected.json` (the verdict a reviewer gave
before running; see `EXPECTED.md`).

`run_notebook` copies the folder aside and runs the steps a user runs, each as a child
process with this checkout's `src` first on `PYTHONPATH` (the product under test is the
current code): `jupyter nbconvert --execute --inplace`, `nb2feast export --format json`,
`export --check`, `nb2feast materialize --online`, `nb2feast verify --format json`.
`judge` turns an outcome and a verdict into one failure list per step.

`python tests/corpus/harness.py [NAME ...]` runs the notebooks and rewrites
`tests/corpus/STATUS.md`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parents[1]
BIN = Path(sys.executable).parent
STEPS = ("run", "records", "export", "check", "materialize", "verify", "python_mode")
TRACEBACK = "Traceback (most recent call last)"
FEATURE_IN_MESSAGE = re.compile(r"feature '([^']+)'")
ERROR_LINE = re.compile(r"^(\x1b\[[0-9;]*m)?(nb2feast: error|[A-Za-z_.]*(Error|Exception))\b")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def notebook_names() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/expected.json"))


def expected_verdict(name: str) -> dict:
    return json.loads((CORPUS / name / "expected.json").read_text())


@dataclass(frozen=True)
class Step:
    """One command of the run: its exit code, output, and seconds taken."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    def line(self) -> str:
        """The last meaningful line of output: what a user would read first."""
        for text in (self.stderr, self.stdout):
            errors = [ln.strip() for ln in text.splitlines() if ERROR_LINE.match(ln.strip())]
            if errors:
                return ANSI.sub("", errors[-1])[:300]
            lines = [
                ln.strip()
                for ln in text.splitlines()
                if ln.strip()
                and "Kernel is running over TCP" not in ln
                and "[NbConvertApp]" not in ln
            ]
            if lines:
                return lines[-1][:300]
        return ""

    def json(self) -> dict | None:
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


@dataclass
class Outcome:
    """What each step of one notebook's run did (absent: the step was not reached)."""

    name: str
    steps: dict[str, Step] = field(default_factory=dict)
    sidecar: bool = False
    manifest: dict | None = None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env.pop("NB2FEAST_CAPTURE_DIR", None)
    env.pop("NB2FEAST_NOTEBOOK", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _call(cwd: Path, *args: str, timeout: float = 300) -> Step:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -9, str(exc.stdout or ""), f"timed out after {timeout}s"
    return Step(tuple(args), code, out, err, time.perf_counter() - start)


def copy_notebook(name: str, into: Path) -> Path:
    """The notebook's folder (notebook, data, helper modules) copied to `into`, no sidecar."""
    shutil.copytree(
        CORPUS / name,
        into,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(
            "__pycache__",
            "*.nb2feast.json",
            "feature_repo",
            "notebook.py",
            "make_data.py",
            "expected.json",
        ),
    )
    return into / f"{name}.ipynb"


def run_notebook(name: str, workdir: Path) -> Outcome:
    """Every step a user runs, stopping where the verdict says the pipeline stops."""
    verdict = expected_verdict(name)
    notebook = copy_notebook(name, workdir)
    outcome = Outcome(name)
    nb2feast = str(BIN / "nb2feast")
    outcome.steps["run"] = _call(
        workdir,
        str(BIN / "jupyter"),
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        "--ExecutePreprocessor.timeout=120",
        notebook.name,
    )
    outcome.sidecar = notebook.with_suffix(".nb2feast.json").exists()
    export = _call(
        workdir, nb2feast, "export", notebook.name, "--out", "feature_repo", "--format", "json"
    )
    outcome.steps["export"] = export
    if export.code == 2 or verdict["export"]["exit"] == 2:
        return outcome
    manifest = workdir / "feature_repo" / "nb2feast.json"
    outcome.manifest = json.loads(manifest.read_text()) if manifest.exists() else None
    outcome.steps["check"] = _call(
        workdir, nb2feast, "export", notebook.name, "--out", "feature_repo", "--check"
    )
    outcome.steps["materialize"] = _call(
        workdir, nb2feast, "materialize", "feature_repo", "--online"
    )
    outcome.steps["verify"] = _call(
        workdir, nb2feast, "verify", notebook.name, "--repo", "feature_repo", "--format", "json"
    )
    return outcome


def _hazards(step: Step | None) -> list[dict]:
    report = step.json() if step else None
    return list(report.get("hazards", [])) if isinstance(report, dict) else []


def _matches(hazard: dict, want: dict) -> bool:
    """A found hazard matches an expected one on every key the expectation gives."""
    for key, value in want.items():
        if key == "feature":
            found = FEATURE_IN_MESSAGE.search(hazard.get("message", ""))
            if not found or found.group(1) != value:
                return False
        elif key == "category" and isinstance(value, list):
            if hazard.get("category") not in value:
                return False
        elif hazard.get(key) != value:
            return False
    return True


def _leaks(hazards: list[dict]) -> set[tuple[str, str]]:
    """(view, feature) pairs that time travel reported as computed from the future (NB2F310;
    an arrival-time cut reports its leaks so too)."""
    found = set()
    for h in hazards:
        timetravel = h.get("category") in ("future_leakage", "late_arrival") and (
            "time travel" in h.get("message", "")
        )
        if (h.get("code") == "NB2F310" or timetravel) and _feature(h) != "?":
            found.add((h.get("view", ""), _feature(h)))  # a finding about no feature is no leak
    return found


def _after_cut(message: str) -> str:
    """The part of a time-travel message that says what changed ('n of m rows ... e.g. ...')."""
    at = message.find(" rows stamped")
    return message[max(0, message.rfind(",", 0, at) + 2) :][:220] if at >= 0 else message[:220]


def _feature(hazard: dict) -> str:
    found = FEATURE_IN_MESSAGE.search(hazard.get("message", ""))
    return found.group(1) if found else "?"


def _no_traceback(step: Step) -> list[str]:
    text = step.stdout + step.stderr
    return [f"a raw traceback reached the user: {step.line()}"] if TRACEBACK in text else []


def served_modes(manifest: dict | None) -> dict[str, tuple[str, str]]:
    """On-demand view -> (mode Feast serves it in, reason when pandas)."""
    modes = {}
    for view in (manifest or {}).get("views", []):
        if view.get("kind") == "on_demand":
            served = next((v for v in view.get("views", []) if v["name"] == view["name"]), {})
            modes[view["name"]] = (served.get("mode", "?"), served.get("reason", ""))
    return modes


def judge(outcome: Outcome, verdict: dict) -> dict[str, list[str]]:
    """Per step, what differs from the reviewer's verdict (empty: as expected; None: n/a)."""
    problems: dict[str, list[str]] = {}
    run = outcome.steps["run"]
    problems["run"] = (
        [f"the notebook does not run headless (exit {run.code}): {run.line()}"]
        if run.code and not verdict.get("run_may_fail")
        else []
    )
    if not run.code:
        problems["records"] = (
            []
            if outcome.sidecar
            else ["a headless run recorded no types (no <notebook>.nb2feast.json)"]
        )
    export = outcome.steps["export"]
    want = verdict["export"]
    exits = want["exit"] if isinstance(want["exit"], list) else [want["exit"]]
    found: list[str] = []
    if export.code not in exits:
        found.append(f"export exit {export.code}, expected {exits}: {export.line()}")
    said = export.json()
    said = (
        json.dumps({k: v for k, v in said.items() if k not in ("views", "files", "out")})
        if isinstance(said, dict)
        else export.stdout
    )
    text = said + export.stderr  # what export says, not the names it lists
    found += [
        f"export output does not mention {m!r}" for m in want.get("mentions", []) if m not in text
    ]
    if want.get("mentions_any") and not any(m in text for m in want["mentions_any"]):
        found.append(f"export output mentions none of {want['mentions_any']}")
    found += _no_traceback(export)
    if export.code != 2:
        static = _hazards(export)
        found += [
            f"export reports no hazard like {h}"
            for h in verdict.get("static_hazards", [])
            if not any(_matches(s, h) for s in static)
        ]
        errors = [h for h in static if h.get("severity") == "error"]
        allowed = verdict.get("static_hazards", [])
        found += [
            f"export reports an error hazard no reviewer expects: {h['code']} {h['message'][:160]}"
            for h in errors
            if not any(_matches(h, a) for a in allowed)
        ]
    problems["export"] = found
    if "check" not in outcome.steps:
        return problems
    check = outcome.steps["check"]
    # --check exits as export did: 1 for an error hazard (SPEC 2), on a fresh repository too
    problems["check"] = (
        [f"export --check exit {check.code}: {check.line()}"]
        if check.code not in (0, outcome.steps["export"].code)
        else []
    )
    mat = outcome.steps["materialize"]
    problems["materialize"] = (
        [f"materialize exit {mat.code}: {mat.line()}"] if mat.code else []
    ) + _no_traceback(mat)
    problems["verify"] = _judge_verify(outcome.steps["verify"], verdict["verify"])
    report = outcome.steps["verify"].json()
    if isinstance(report, dict) and outcome.manifest:
        checked = {v["name"] for v in report.get("views", []) if v.get("checks")}
        problems["verify"] += [
            f"verify did not check view {v['name']!r}"
            for v in outcome.manifest.get("views", [])
            if v["name"] not in checked
        ]
    modes = served_modes(outcome.manifest)
    if not verdict.get("python_mode"):
        return problems
    problems["python_mode"] = [
        f"on-demand view {view!r} served in mode={modes.get(view, ('absent', ''))[0]}, expected "
        f"{'python' if python else 'pandas'}"
        + (f" ({modes[view][1]})" if view in modes and modes[view][1] else "")
        for view, python in verdict.get("python_mode", {}).items()
        if modes.get(view, ("absent", ""))[0] != ("python" if python else "pandas")
    ]
    return problems


def _judge_verify(step: Step, want: dict) -> list[str]:
    found = _no_traceback(step)
    report = step.json()
    if not isinstance(report, dict):
        return found + [f"verify printed no JSON report (exit {step.code}): {step.line()}"]
    if step.code != want["exit"]:
        found.append(f"verify exit {step.code}, expected {want['exit']}")
    for view in report.get("views", []):
        if view.get("status") == "error" or any(
            c.get("error") for c in view.get("checks", []) if isinstance(c, dict)
        ):
            found.append(f"view {view['name']} errored: {json.dumps(view)[:240]}")
        for check in view.get("checks", []):
            bad = [f["name"] for f in check.get("features", []) if not f.get("ok")]
            if bad or check.get("rows_expected") != check.get("rows_returned"):
                mode = "/" + check["mode"] if check.get("mode") else ""
                rows = f"{check.get('rows_returned')}/{check.get('rows_expected')}"
                found.append(
                    f"{view['name']} {check.get('path')}{mode}: mismatch on {bad}, rows {rows}"
                )
    hazards = report.get("hazards", [])
    leaks = _leaks(hazards)
    expected_leaks = {(v, f) for v, feats in want.get("leaks", {}).items() for f in feats}
    found += [f"time travel misses the leak of {v}.{f}" for v, f in sorted(expected_leaks - leaks)]
    tolerated = {(v, f) for v, feats in want.get("may_leak", {}).items() for f in feats}
    messages = {(h.get("view", ""), _feature(h)): h.get("message", "") for h in hazards}
    found += [
        f"time travel reports a leak no reviewer sees: {v}.{f} ({_after_cut(messages[v, f])})"
        for v, f in sorted(leaks - expected_leaks - tolerated)
    ]
    found += [
        f"verify reports no hazard like {h}"
        for h in want.get("hazards", [])
        if not any(_matches(s, h) for s in hazards)
    ]
    allowed = want.get("hazards", [])
    found += [
        f"verify reports an error hazard no reviewer expects: {h['code']} ({h.get('view')}) "
        f"{h['message'][:160]}"
        for h in hazards
        if h.get("severity") == "error"
        and (h.get("view", ""), _feature(h)) not in leaks
        and not any(_matches(h, a) for a in allowed)
    ]
    if report.get("ok") != (want["exit"] == 0):
        found.append(f"report ok={report.get('ok')} but expected exit {want['exit']}")
    return found


def _status_table(results: dict[str, tuple[Outcome, dict[str, list[str]]]]) -> str:
    lines = ["| notebook | " + " | ".join(STEPS) + " |", "|---" * (len(STEPS) + 1) + "|"]
    for name, (_, problems) in results.items():
        cells = []
        for step in STEPS:
            if step not in problems:
                cells.append("n/a")
            else:
                cells.append("pass" if not problems[step] else "**FAIL**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_status(results: dict[str, tuple[Outcome, dict[str, list[str]]]], path: Path) -> None:
    total = passed = 0
    for outcome, _ in results.values():
        for mode, _reason in served_modes(outcome.manifest).values():
            total += 1
            passed += mode == "python"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit, branch = _git("rev-parse", "--short", "HEAD"), _git("branch", "--show-current")
    rate = (
        f"Python-mode compile rate: {passed}/{total} on-demand views exported are served in "
        '`mode="python"` (notebooks whose export stops before a repository are not counted).'
    )
    out = [
        "# Corpus status",
        "",
        f"Generated by `python tests/corpus/harness.py` at {when} on `{commit}`"
        f" (branch `{branch}`).",
        "Expected verdicts: `tests/corpus/EXPECTED.md`. A failing step is the product disagreeing",
        "with the reviewer's verdict; the known ones are `xfail(strict=True)` in"
        " `tests/test_corpus.py`.",
        "",
        _status_table(results),
        "",
        rate,
        "",
        "## Failures, per notebook and step",
    ]
    for name, (outcome, problems) in results.items():
        failing = {s: p for s, p in problems.items() if p}
        timing = ", ".join(f"{s} {st.seconds:.1f}s" for s, st in outcome.steps.items())
        out += ["", f"### {name}", f"Times: {timing}."]
        for mode_view, (mode, reason) in served_modes(outcome.manifest).items():
            out.append(
                f"- on-demand `{mode_view}`: mode={mode}" + (f" ({reason})" if reason else "")
            )
        if not failing:
            out.append("- every step as the reviewer expects")
        for step, items in failing.items():
            out += [f"- **{step}**: {item}" for item in items]
    path.write_text("\n".join(out) + "\n")


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def main(names: list[str]) -> None:
    results = {}
    for name in names or notebook_names():
        with tempfile.TemporaryDirectory(prefix=f"corpus-{name}-") as tmp:
            outcome = run_notebook(name, Path(tmp))
            results[name] = (outcome, judge(outcome, expected_verdict(name)))
            print(
                name, {s: ("ok" if not p else p) for s, p in results[name][1].items()}, flush=True
            )
    if not names:
        write_status(results, ROOT / "tests" / "corpus" / "STATUS.md")


if __name__ == "__main__":
    main(sys.argv[1:])
