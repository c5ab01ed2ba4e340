"""The `nb2feast` command: a thin shell over `export_notebooks` and `verify_notebook`.

Exit codes: 0 all good; 1 parity mismatch, stale repository (--check) or an error-severity
hazard; 2 bad input or usage, with a message naming notebook, cell and line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from nb2feast import __version__
from nb2feast.child import DEFAULT_TIMEOUT
from nb2feast.errors import UserError
from nb2feast.model import ExportResult, Hazard
from nb2feast.names import escape_text

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def format_hazard(hazard: Hazard, notebook: str = "") -> str:
    where = f"{notebook}: " if notebook else ""
    return (
        f"{where}cell {hazard.cell_index} (id {hazard.cell_id}), line {hazard.line}, col {hazard.col}: "
        f"{hazard.code} {hazard.severity} [{hazard.category}] {hazard.message}\n    fix: {hazard.fix}"
    )


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
            print(f"    served online in mode={served['mode']}{why}; twin {view['name']}_pandas for batch")
    for hazard in result.hazards:
        print(format_hazard(hazard))


def _export(args: argparse.Namespace) -> int:
    from nb2feast.export import export_notebooks

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
    )
    _print_export(result, args.format, args.check)
    return EXIT_OK if result.ok else EXIT_FAIL


def _verify(args: argparse.Namespace) -> int:
    from nb2feast.report import render_json, render_text
    from nb2feast.verify import verify_notebook

    repo = Path(args.repo)
    if not repo.is_dir():
        raise UserError(f"repository {repo} does not exist", fix="run `nb2feast export NOTEBOOK --out DIR` first")
    progress = None if args.format == "json" else (lambda message: print(f"… {message}", file=sys.stderr))
    report = verify_notebook(Path(args.notebook), repo, sample=args.sample, seed=args.seed, progress=progress)
    payload = render_json(report)
    if args.report:
        Path(args.report).write_text(payload + "\n")
    print(payload if args.format == "json" else render_text(report))
    return EXIT_OK if report.ok else EXIT_FAIL


def _materialize(args: argparse.Namespace) -> int:
    from nb2feast.materialize import apply_repo, materialize_online

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nb2feast", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"nb2feast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="write a Feast repository from the notebooks' %%feature cells")
    export.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    export.add_argument("--out", required=True, metavar="DIR")
    export.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if DIR is stale (runs cells' code only as export would)",
    )
    export.add_argument("--project", help="Feast project name (default: the notebook's name)")
    export.add_argument("--force", action="store_true", help="overwrite generated files edited by hand")
    export.add_argument(
        "--freeze", action="store_true", help="inline whole-frame statistics of on-demand cells as constants"
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
        "only where no fresh types are recorded (default %(default)g)",
    )
    export.add_argument("--format", choices=("text", "json"), default="text")
    export.set_defaults(run=_export)

    verify = commands.add_parser("verify", help="recompute every feature both ways and compare")
    verify.add_argument("notebook", metavar="NOTEBOOK")
    verify.add_argument("--repo", required=True, metavar="DIR")
    verify.add_argument("--sample", type=int, default=1000, metavar="N")
    verify.add_argument("--seed", type=int, default=0, metavar="S")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--report", metavar="FILE", help="also write the JSON report here")
    verify.set_defaults(run=_verify)

    materialize = commands.add_parser(
        "materialize", help="rebuild the feature tables with the generated transforms, then feast apply"
    )
    materialize.add_argument("repo", metavar="DIR")
    materialize.add_argument("--online", action="store_true", help="then load them into the online store")
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
    """Bad input: one line (and a fix) on stderr, the error as JSON with --format json."""
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"ok": False, "error": error.to_dict()}, indent=2))
    print(f"nb2feast: error: {error}", file=sys.stderr)
    return EXIT_USAGE


def run() -> None:
    """The console script: a short-lived process, so it may skip the optional import."""
    _skip_iri_grammar()
    sys.exit(main())


if __name__ == "__main__":
    run()
