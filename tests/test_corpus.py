"""The real-notebook corpus: each notebook run as a user runs it, judged by its reviewer verdict.

Given a notebook of `tests/corpus/` (written in the style of public feature-engineering code,
with small seeded data) and the verdict a reviewer recorded before running it
(`expected.json`, explained in `tests/corpus/EXPECTED.md`),
when it is run headless (`jupyter nbconvert --execute --inplace`), exported, checked,
materialized and verified with this checkout's code,
then each step ends as the verdict says: the notebook runs and records its types, export
writes a repository (or refuses with exit 2 and the message the verdict names),
`--check` finds it fresh, materialize builds it, and verify's exit code, leaks (by view and
feature) and hazards (by view and category) are the reviewer's.

The notebook runs once per module (all its steps); each step is its own test, so a step
that waits for a fix is `xfail(strict=True)` with the issue it waits for (from the
verdict's `known`), and the others still guard what works.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corpus import build
from corpus.harness import (
    Outcome,
    expected_verdict,
    judge,
    notebook_names,
    run_notebook,
    write_status,
)

pytestmark = pytest.mark.corpus

_RUNS: dict[str, tuple[Outcome, dict[str, list[str]]]] = {}


def _steps(verdict: dict) -> list[str]:
    if verdict["export"]["exit"] == 2:
        return ["run", "records", "export"]
    steps = ["run", "records", "export", "check", "materialize", "verify"]
    return steps + (["python_mode"] if verdict.get("python_mode") else [])


def _cases() -> list:
    cases = []
    for name in notebook_names():
        verdict = expected_verdict(name)
        for step in _steps(verdict):
            reason = verdict.get("known", {}).get(step)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(name, step, marks=marks, id=f"{name}-{step}"))
    return cases


@pytest.fixture(scope="module", autouse=True)
def status_file():
    """With NB2FEAST_CORPUS_STATUS=FILE, the run's outcomes are also written there."""
    yield
    if os.environ.get("NB2FEAST_CORPUS_STATUS") and _RUNS:
        write_status(_RUNS, Path(os.environ["NB2FEAST_CORPUS_STATUS"]))


@pytest.fixture
def judged(tmp_path_factory: pytest.TempPathFactory):
    def run(name: str) -> tuple[Outcome, dict[str, list[str]]]:
        if name not in _RUNS:
            outcome = run_notebook(name, tmp_path_factory.mktemp(name))
            _RUNS[name] = (outcome, judge(outcome, expected_verdict(name)))
        return _RUNS[name]

    return run


@pytest.mark.parametrize(("name", "step"), _cases())
def test_step_ends_as_the_reviewer_says(judged, name: str, step: str) -> None:
    # Given the notebook and its verdict; When it has been run through every step
    outcome, problems = judged(name)
    # Then this step ends as the verdict says
    if step not in problems:
        pytest.skip(f"{step} not reached: {outcome.steps['run'].line()}")
    assert problems[step] == [], "\n".join(problems[step])


def test_committed_notebooks_are_built_from_their_sources() -> None:
    # Given each corpus notebook's percent-format source; When its .ipynb is rebuilt
    # Then it is the committed one (run `python tests/corpus/build.py` after editing)
    assert build.stale() == []


def test_every_notebook_has_a_verdict_and_small_data() -> None:
    # Given the corpus folders; Then each has a verdict, a seeded generator and data < 200 KB
    corpus = Path(build.CORPUS)
    for name in build.names():
        assert (corpus / name / "expected.json").exists(), name
        assert (corpus / name / "make_data.py").exists(), name
        for data in (corpus / name / "data").iterdir():
            assert data.stat().st_size < 200_000, data
