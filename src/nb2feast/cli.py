"""The `nb2feast` command: a thin shell over the pipeline's export, materialize and verify.

Exit codes: 0 all good; 1 parity mismatch, stale repository (--check) or an error-severity
hazard; 2 bad input or usage, with a message naming notebook, cell and line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from nb2feast import __version__
from nb2feast.errors import UserError
from nb2feast.model import ExportResult, Hazard
from nb2feast.names import escape_text
from nb2feast.repo.child import DEFAULT_TIMEOUT

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def format_hazard(hazard: Hazard, notebook: str = "") -> str:
    where = f"{notebook}: " if notebook else ""
    return (
        f"{where}cell {hazard.cell_index} (id {hazard.cell_id}), line {hazard.line}, "
        f"col {hazard.col}: {hazard.code} {hazard.severity} [{hazard.category}] {hazard.message}\n"
        f"    fix: {hazard.fix}"
    )


DESCRIPTION = """\
Turn a Jupyter notebook's %%feature cells into a Feast feature repository, and prove
on sample data that Feast serves exactly what the notebook computes."""

EPILOG = """\
exit codes:
  0  all good
  1  a parity mismatch, a stale repository or view, or a hazard of severity error
  2  bad input or usage (unreadable notebook, syntax error in a cell, unknown flag)

when your code runs:
  export and export --check run none of the notebook's code when its types are recorded
  fresh beside it (NB.nb2feast.json, written whenever the notebook runs); otherwise they
  say so and run the cells in a child process under --timeout, or exit 2 with --no-exec.
  materialize and verify run the notebook's code.

example:
  nb2feast export churn.ipynb --out feature_repo      # write the Feast repository
  nb2feast materialize feature_repo                   # build its tables, feast apply
  nb2feast verify churn.ipynb --repo feature_repo     # prove Feast serves the notebook
  nb2feast export churn.ipynb --out feature_repo --check --no-exec --format github   # in CI"""


def notebook_lines(notebook: Path) -> dict[tuple[int, int], int]:
    """(cell index, line in the cell) -> line in the .ipynb file, for CI annotations.

    nbformat writes each cell's `"source": [` and then one source line per file line.
    """
    try:
        text = Path(notebook).read_text(encoding="utf-8")
    except OSError:
        return {}
    found: dict[tuple[int, int], int] = {}
    cell = -1
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith('"source":'):
            cell += 1
            first = number + 1 if stripped.endswith("[") else number
            for offset in range(1, 1 + max(1, _source_length(lines, number))):
                found[(cell, offset)] = first + offset - 1
    return found


def _source_length(lines: list[str], start: int) -> int:
    count = 0
    for line in lines[start:]:
        if line.strip().startswith("]"):
            break
        count += 1
    return count


def _print_export_github(result: ExportResult, notebooks: Sequence[str], check: bool) -> None:
    from nb2feast.proof.report import annotation, hazard_annotations

    notebook = notebooks[0] if notebooks else ""
    out = hazard_annotations(
        result.hazards, notebook, notebook_lines(Path(notebook)) if notebook else {}
    )
    for path in result.stale:
        out.append(
            annotation(
                "error",
                f"{path} is stale: it differs from what export writes from the notebook now. "
                f"Run: nb2feast export {' '.join(notebooks)} --out {result.out}",
                file=str(Path(result.out) / path),
                title="nb2feast export --check",
            )
        )
    if not out:
        verb = "is up to date" if check else "was written"
        out.append(
            annotation(
                "notice", f"{result.out} {verb} ({len(result.files)} files)", title="nb2feast"
            )
        )
    print("\n".join(out))


def _print_export(result: ExportResult, fmt: str, check: bool) -> None:
    if fmt == "json":
        print(json.dumps(result.to_dict(), indent=2))
        return
    if check:
        if result.stale:
            print(f"{result.out} is stale; would change:")
            print("\n".join(f"  {path}" for path in result.stale))
        else:
            print(f"{result.out} is up to date ({len(result.files)} files)")
    else:
        print(f"wrote {len(result.files)} files to {result.out}:")
        print("\n".join(f"  {path}" for path in result.files))
    for view in result.views:
        features = ", ".join(f"{f['name']}:{f['feast_type']}" for f in view["features"])
        print(f"  view {view['name']} ({view['kind']}): {features}")
        served = next((v for v in view.get("views", []) if v["name"] == view["name"]), None)
        if served is not None:
            why = f" ({served['reason']})" if served.get("reason") else ""
            print(
                f"    served online in mode={served['mode']}{why}; twin "
                f"{view['name']}_pandas for batch"
            )
    for hazard in result.hazards:
        print(format_hazard(hazard))


def _export(args: argparse.Namespace) -> int:
    from nb2feast.repo.export import export_notebooks

    result = export_notebooks(
        [Path(p) for p in args.notebooks],
        Path(args.out),
        project=args.project,
        check=args.check,
        force=args.force,
        freeze=args.freeze,
        execute=not args.no_exec,
        timeout=args.timeout,
        say=lambda message: print(f"nb2feast: {message}", file=sys.stderr),
        target=args.target,
    )
    if args.format == "github":
        _print_export_github(result, args.notebooks, args.check)
    else:
        _print_export(result, args.format, args.check)
    return EXIT_OK if result.ok else EXIT_FAIL


def _verify(args: argparse.Namespace) -> int:
    from nb2feast.proof.report import render_github, render_json, render_junit, render_text
    from nb2feast.proof.verify import verify_notebook

    repo = Path(args.repo)
    if not repo.is_dir():
        raise UserError(
            f"repository {repo} does not exist",
            fix="run `nb2feast export NOTEBOOK --out DIR` first",
        )

    def progress(message: str) -> None:
        print(f"… {message}", file=sys.stderr)

    # stdout is the report's alone: the notebook's and Feast's prints go to stderr.
    with stdout_to_stderr():
        report = verify_notebook(
            Path(args.notebook), repo, sample=args.sample, seed=args.seed, progress=progress
        )
    payload = render_json(report)
    if args.report:
        Path(args.report).write_text(payload + "\n")
    if args.junit:
        Path(args.junit).write_text(render_junit(report))
    if args.format == "json":
        print(payload)
    elif args.format == "github":
        print(render_github(report, notebook_lines(Path(args.notebook))), end="")
    else:
        print(render_text(report))
    return EXIT_OK if report.ok else EXIT_FAIL


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Everything written to stdout inside (Python prints, C libraries, child processes
    inheriting the descriptor) goes to stderr instead."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _materialize(args: argparse.Namespace) -> int:
    from nb2feast.repo.materialize import apply_repo, materialize_online

    repo = Path(args.repo)
    tables = apply_repo(repo, progress=lambda m: print(f"… {m}", file=sys.stderr))
    for name, path in tables.items():
        print(f"  {name}: {path}")
    if args.online:
        materialize_online(repo)
        print("loaded the online store")
    return EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError("give between 0 and 86400 seconds")
    return value


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, width=88)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nb2feast",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nb2feast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export",
        help="write a Feast repository from the notebooks' %%%%feature cells",
        description=_wrap(
            "Write a Feast feature repository (definitions, sources, transforms) from the "
            "%%feature cells of one or more notebooks. Needs no running kernel."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument(
        "notebooks", nargs="+", metavar="NOTEBOOK", help="the notebook(s) (.ipynb) to export"
    )
    export.add_argument(
        "--out", required=True, metavar="DIR", help="the feature repository to write"
    )
    export.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if DIR differs from what export would write now (like "
        "black --check); runs the cells' code only where export would (see --no-exec)",
    )
    export.add_argument("--project", help="Feast project name (default: the first notebook's name)")
    export.add_argument(
        "--force", action="store_true", help="overwrite generated files that were edited by hand"
    )
    export.add_argument(
        "--freeze",
        action="store_true",
        help="inline whole-frame statistics of on-demand cells as constants, with "
        "where they came from",
    )
    export.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text for people, json for tools, github for GitHub Actions "
        "annotations (default: text)",
    )
    export.add_argument(
        "--target",
        choices=("local", "redis", "spark", "snowflake"),
        help="the stack the repository is for (default: the one DIR was exported for, else local);"
        " connection settings come from environment variables",
    )
    export.add_argument(
        "--no-exec",
        action="store_true",
        help="never run the notebook's code: exit 2 where types are not recorded fresh "
        "beside the notebook (for CI on untrusted changes)",
    )
    export.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="time budget for running the cells' code in a child process, which export does "
        "only where no fresh types are recorded beside the notebook (default: %(default)g)",
    )
    export.set_defaults(run=_export)

    verify = commands.add_parser(
        "verify",
        help="prove that Feast serves what the notebook computes",
        description=_wrap(
            "Check that the repository is what export writes from the notebook now and that "
            "Feast serves those files; run the notebook in a fresh kernel from its own folder; "
            "recompute every feature through Feast (offline, online, every on-demand mode) on "
            "sample rows and compare with the cells' own output; time-travel batch "
            "views for leakage."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "notebook", metavar="NOTEBOOK", help="the notebook (.ipynb) the repository came from"
    )
    verify.add_argument(
        "--repo", required=True, metavar="DIR", help="the feature repository export wrote"
    )
    verify.add_argument(
        "--sample",
        type=int,
        default=1000,
        metavar="N",
        help="entity rows to sample per view: every entity and rows with missing inputs "
        "first (default: 1000)",
    )
    verify.add_argument(
        "--seed", type=int, default=0, metavar="S", help="random seed of the sample (default: 0)"
    )
    verify.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text: a table; json: the parity report alone on stdout; github: GitHub "
        "Actions annotations",
    )
    verify.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    verify.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML to FILE: one test case per view and check",
    )
    verify.set_defaults(run=_verify)

    materialize = commands.add_parser(
        "materialize",
        help="rebuild the feature tables with the generated transforms, then feast apply",
        description="Rebuild every batch view's feature table by running the "
        "generated transforms on "
        "the notebook's sources, then run feast apply. What a scheduler calls.",
    )
    materialize.add_argument("repo", metavar="DIR", help="the feature repository export wrote")
    materialize.add_argument(
        "--online", action="store_true", help="then load the tables into the online store"
    )
    materialize.set_defaults(run=_materialize)
    return parser


def _skip_iri_grammar() -> None:
    """nbformat imports jsonschema, whose optional IRI format checker compiles a grammar
    at import (about 0.9 s here). Notebook validation never uses IRI formats, so this
    short-lived process skips that optional import."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except OSError as exc:  # a folder that cannot be written, a name too long, a full disk
        where = escape_text(str(exc.filename or ""))
        return _refuse(UserError(escape_text(exc.strerror or str(exc)), where=where), args)
    except UserError as error:
        return _refuse(error, args)


def _refuse(error: UserError, args: argparse.Namespace) -> int:
    """Bad input: one line (and a fix) on stderr; the error as JSON or a GitHub annotation
    with --format json/github."""
    fmt = getattr(args, "format", "text")
    if fmt == "json":
        print(json.dumps({"ok": False, "error": error.to_dict()}, indent=2))
    elif fmt == "github":
        from nb2feast.proof.report import annotation

        info = error.to_dict()
        notebook = str(info.get("notebook") or "")
        line = info.get("line")
        if notebook and info.get("cell_index") is not None:
            line = notebook_lines(Path(notebook)).get((info["cell_index"], line or 1), line)
        print(annotation("error", str(error), notebook, line))
    print(f"nb2feast: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def run() -> None:
    """The console script: a short-lived process, so it may skip the optional import."""
    _skip_iri_grammar()
    sys.exit(main())


if __name__ == "__main__":
    run()
