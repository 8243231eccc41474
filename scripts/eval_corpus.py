#!/usr/bin/env python3
"""Recall and false positives of keyaudit on the labeled corpus of other tools' test cases.

    .venv/bin/python scripts/eval_corpus.py                      # ../shared/corpora/labeled/MANIFEST.json
    .venv/bin/python scripts/eval_corpus.py --source moby/buildkit --misses
    .venv/bin/python scripts/eval_corpus.py --select HCK-01,HCK-02 --json > eval.json

Each case (one file labeled positive or negative by its source tool's own tests) is copied into a fresh
temporary directory and scanned on its own with the library API. A positive counts as *caught* when keyaudit
reports any active finding in that directory ("any-line"); when the source gives the lines it expects,
"on-line" recall also requires a finding on the case file at one of them. A negative with any finding is a
false positive. Tools disagree about what is a problem, so the figures are per source and per source rule id,
never pooled into one score: read them next to the keyaudit rule ids that fired.

Placement: the file keeps its basename where keyaudit recognises that name as the case's kind; otherwise it
gets the canonical name (``Dockerfile``, ``.gitlab-ci.yml``, ``docker-compose.yaml``). Ignore-file cases are
always named ``.gitignore`` / ``.dockerignore`` (``x.dockerignore`` would only apply to ``x.Dockerfile``), and
GitHub workflows go under ``.github/workflows/``. Support files named in the manifest
(top-level ``support_files``, matched by folder, or a case's own ``support_files``) are copied beside it.
Ignore-file cases also get a small neutral context, since an ignore file only matters relative to the files it
should hide: ``.gitignore`` cases get a ``.env`` without secret names plus a ``package.json`` that loads dotenv;
``.dockerignore`` cases get a Dockerfile doing ``COPY . .``, that ``.env``, a ``.gitignore`` hiding env files from git,
and an ``app.py`` (``--no-context`` turns this off). Kinds keyaudit does not parse yet still run and count as
missed; a scan that raises is reported as an error and counts as missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO.parent / "shared" / "corpora" / "labeled" / "MANIFEST.json"

_NEUTRAL_ENV = "PORT=8080\nLOG_LEVEL=info\n"
CONTEXT: dict[str, dict[str, str]] = {
    "gitignore": {
        ".env": _NEUTRAL_ENV,
        "package.json": '{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {"dotenv": "^16.4.5"}\n}\n',
    },
    "dockerignore": {
        "Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n',
        ".env": _NEUTRAL_ENV,
        ".gitignore": ".env\n.env*.local\n",
        "app.py": "print('hello')\n",
    },
}
# the DocKind value keyaudit must see for a case kind, and the name to use when the basename does not give it
CANONICAL: dict[str, tuple[str, str]] = {
    "dockerfile": ("dockerfile", "Dockerfile"),
    "gitignore": ("gitignore", ".gitignore"),
    "dockerignore": ("dockerignore", ".dockerignore"),
    "gitlab": ("gitlab-ci", ".gitlab-ci.yml"),
    "docker-compose": ("compose", "docker-compose.yaml"),
}
SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(slots=True)
class CaseResult:
    id: str
    source: str
    rule_id: str
    kind: str
    label: str
    placed: str  # path of the case file inside its scan directory
    expected_lines: list[int] | None
    fired: list[tuple[str, str, int]] = field(default_factory=list)  # (keyaudit rule id, path, line)
    caught_any: bool = False
    caught_on_line: bool | None = None  # None: the source gives no line (or the case is negative)
    error: str | None = None

    @property
    def positive(self) -> bool:
        return self.label == "positive"


@dataclass(slots=True)
class Tally:
    positives: int = 0
    caught_any: int = 0
    with_lines: int = 0
    caught_on_line: int = 0
    negatives: int = 0
    false_positives: int = 0
    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    fired_pos: Counter[str] = field(default_factory=Counter)
    fired_neg: Counter[str] = field(default_factory=Counter)

    def add(self, r: CaseResult) -> None:
        self.kinds[r.kind] += 1
        self.errors += r.error is not None
        rules = Counter(rule for rule, _path, _line in r.fired)
        if r.positive:
            self.positives += 1
            self.caught_any += r.caught_any
            if r.caught_on_line is not None:
                self.with_lines += 1
                self.caught_on_line += r.caught_on_line
            self.fired_pos.update(rules)
        else:
            self.negatives += 1
            self.false_positives += r.caught_any
            self.fired_neg.update(rules)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("kinds", "fired_pos", "fired_neg"):
            d[key] = dict(sorted(getattr(self, key).items()))
        return d


# -- preparing a case ---------------------------------------------------------------------------------

def case_kind(case: dict[str, Any]) -> str:
    kind = str(case.get("kind", "generic"))
    sub = case.get("subkind")
    return f"{kind}/{sub}" if sub else kind


def placed_path(case: dict[str, Any]) -> str:
    from auditor.parsers import kind_of

    base = PurePosixPath(str(case["local_path"])).name
    kind, sub = str(case.get("kind")), case.get("subkind")
    if kind == "gha":
        return f".github/workflows/{base}"
    if kind in ("gitignore", "dockerignore"):  # the stored name is the upstream repo's; the role needs the real one
        return CANONICAL[kind][1]
    wanted = CANONICAL.get(str(sub)) or CANONICAL.get(kind)
    if wanted and kind_of(base).value != wanted[0]:
        return wanted[1]
    return base


def support_files(case: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """Manifest-relative paths of the files to copy beside the case (basename kept)."""
    out: list[str] = []
    local = str(case["local_path"])
    for entry in manifest.get("support_files") or ():
        path = str(entry["local_path"] if isinstance(entry, dict) else entry)
        group = PurePosixPath(path).parent.parent
        if str(group) not in ("", ".") and local.startswith(f"{group}/"):
            out.append(path)
    for entry in case.get("support_files") or ():
        out.append(str(entry["local_path"] if isinstance(entry, dict) else entry))
    return out


def prepare(case: dict[str, Any], manifest: dict[str, Any], base: Path, into: Path, context: bool) -> str:
    placed = placed_path(case)
    if context:
        for name, text in CONTEXT.get(str(case.get("kind")), {}).items():
            (into / name).write_text(text)
    for rel in support_files(case, manifest):
        src = base / rel
        if src.is_file():
            shutil.copyfile(src, into / src.name)
    target = into / placed
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base / str(case["local_path"]), target)
    return placed


# -- running ------------------------------------------------------------------------------------------

def run_case(case: dict[str, Any], manifest: dict[str, Any], base: Path, options: Any, *, min_rank: int,
             context: bool) -> CaseResult:
    from auditor.scan import scan

    expected = case.get("expected_lines")
    result = CaseResult(
        id=str(case.get("id", case["local_path"])), source=str(case.get("source", "?")),
        rule_id=str(case.get("rule_id", "?")), kind=case_kind(case), label=str(case.get("label")), placed="",
        expected_lines=[int(n) for n in expected] if isinstance(expected, list) else None,
    )
    with tempfile.TemporaryDirectory(prefix="keyaudit-eval-") as tmp:
        root = Path(tmp) / "case"
        root.mkdir()
        try:
            result.placed = prepare(case, manifest, base, root, context)
            scanned = scan(root, options)
        except Exception as exc:  # a rule or parser in progress must not stop the evaluation
            result.error = f"{type(exc).__name__}: {exc}"
            return result
    findings = [f for f in scanned.active if f.severity.rank >= min_rank]
    result.fired = sorted((f.rule_id, f.location.path, f.location.line) for f in findings)
    result.caught_any = bool(findings)
    if result.positive and result.expected_lines:
        lines = set(result.expected_lines)
        result.caught_on_line = any(path == result.placed and line in lines for _rule, path, line in result.fired)
    return result


def evaluate(manifest_path: Path, *, select: Sequence[str] = (), ignore: Sequence[str] = (),
             sources: Sequence[str] = (), kinds: Sequence[str] = (), min_severity: str = "info",
             context: bool = True) -> tuple[list[CaseResult], float]:
    from auditor.config import Config
    from auditor.model import Severity
    from auditor.scan import ScanOptions

    manifest = json.loads(manifest_path.read_text())
    base = manifest_path.parent
    options = ScanOptions(config=Config(select=tuple(select), ignore=tuple(ignore)), jobs=1)
    min_rank = Severity(min_severity).rank
    started = time.perf_counter()
    results = []
    for case in manifest.get("cases", []):
        if sources and case.get("source") not in sources:
            continue
        if kinds and case.get("kind") not in kinds and case_kind(case) not in kinds:
            continue
        results.append(run_case(case, manifest, base, options, min_rank=min_rank, context=context))
    return results, time.perf_counter() - started


def tally(results: Iterable[CaseResult]) -> tuple[dict[tuple[str, str], Tally], dict[str, Tally], Tally]:
    groups: dict[tuple[str, str], Tally] = defaultdict(Tally)
    per_source: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for r in results:
        groups[(r.source, r.rule_id)].add(r)
        per_source[r.source].add(r)
        total.add(r)
    return dict(sorted(groups.items())), dict(sorted(per_source.items())), total


# -- output -------------------------------------------------------------------------------------------

def frac(num: int, den: int) -> str:
    return f"{num}/{den} ({100 * num / den:.0f}%)" if den else "-"


def rules_text(counter: Counter[str]) -> str:
    return " ".join(f"{rule}x{n}" for rule, n in sorted(counter.items())) or "-"


def table(results: list[CaseResult], seconds: float) -> str:
    groups, per_source, total = tally(results)
    header = ("source", "source rule id", "kind", "recall any-line", "recall on-line", "false pos.",
              "keyaudit rules on positives | on negatives")
    rows: list[tuple[str, ...]] = []

    def row(source: str, rule: str, t: Tally) -> tuple[str, ...]:
        kinds = ",".join(sorted(t.kinds))
        if len(kinds) > 26:
            kinds = f"{len(t.kinds)} kinds"
        errors = f" [{t.errors} errors]" if t.errors else ""
        return (source, rule, kinds, frac(t.caught_any, t.positives), frac(t.caught_on_line, t.with_lines),
                frac(t.false_positives, t.negatives), f"{rules_text(t.fired_pos)} | {rules_text(t.fired_neg)}{errors}")

    for source, t in per_source.items():
        for (src, rule), g in groups.items():
            if src == source:
                rows.append(row(source, rule, g))
        rows.append(row(source, "(all)", t))
        rows.append(("",) * len(header))
    rows.append(row("TOTAL", f"{len(results)} cases", total))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header[:-1])]
    out = []
    for r in (header, (*("-" * w for w in widths), "-" * 20), *rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    out.append("")
    out.append(f"{len(results)} cases in {seconds:.1f} s. Recall is per source rule id: the sources disagree about "
               "what is a problem, so do not pool them.")
    return "\n".join(line.rstrip() for line in out)


def misses(results: list[CaseResult]) -> str:
    out = []
    for r in results:
        if r.error:
            out.append(f"ERROR   {r.id}: {r.error}")
        elif r.positive and not r.caught_any:
            out.append(f"MISSED  {r.id} (as {r.placed}; expected lines {r.expected_lines})")
        elif r.positive and r.caught_on_line is False:
            got = ", ".join(f"{rule}@{path}:{line}" for rule, path, line in r.fired)
            out.append(f"OFFLINE {r.id} (expected lines {r.expected_lines}; got {got})")
        elif not r.positive and r.caught_any:
            got = ", ".join(f"{rule}@{path}:{line}" for rule, path, line in r.fired)
            out.append(f"FALSEPOS {r.id}: {got}")
    return "\n".join(out)


def as_json(results: list[CaseResult], seconds: float, manifest: Path) -> dict[str, Any]:
    from auditor import __version__

    groups, per_source, total = tally(results)
    return {
        "manifest": str(manifest),
        "keyaudit_version": __version__,
        "seconds": round(seconds, 3),
        "total": total.as_dict(),
        "sources": {s: t.as_dict() for s, t in per_source.items()},
        "groups": [{"source": s, "rule_id": r, **t.as_dict()} for (s, r), t in groups.items()],
        "cases": [asdict(r) for r in results],
    }


REPOSITORY_LEVEL_RULES = ("LOG-07",)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0].strip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help=f"default: {DEFAULT_MANIFEST}")
    p.add_argument("--select", action="append", default=[], help="run only these keyaudit rules (comma-separated)")
    p.add_argument("--ignore", action="append", default=[],
                   help="skip these keyaudit rules (comma-separated); LOG-07 is always skipped: it judges a "
                        "repository's set-up (no secret scanner runs), not a case's content")
    p.add_argument("--source", action="append", default=[], help="only cases of this source (e.g. moby/buildkit)")
    p.add_argument("--kind", action="append", default=[], help="only cases of this kind (dockerfile, k8s, gha...)")
    p.add_argument("--min-severity", choices=SEVERITIES, default="info",
                   help="count only findings at or above this severity (default: all)")
    p.add_argument("--no-context", action="store_true", help="do not add the neutral context to ignore-file cases")
    p.add_argument("--misses", action="store_true", help="also list missed positives, off-line catches and FPs")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    return p.parse_args(argv)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.manifest.is_file():
        print(f"eval_corpus: no manifest at {args.manifest}; nothing to evaluate")
        return 0
    select, ignore = _split(args.select), [*_split(args.ignore), *REPOSITORY_LEVEL_RULES]
    if select or ignore:
        from auditor.policies import load_policies

        known = {p.id for p in load_policies()} | {p.name for p in load_policies()}
        unknown = sorted(set(select + ignore) - known)
        if unknown:
            print(f"eval_corpus: unknown keyaudit rule: {', '.join(unknown)}", file=sys.stderr)
            return 2
    results, seconds = evaluate(args.manifest, select=select, ignore=ignore, sources=_split(args.source),
                                kinds=_split(args.kind), min_severity=args.min_severity,
                                context=not args.no_context)
    if args.json:
        print(json.dumps(as_json(results, seconds, args.manifest), indent=2))
        return 0
    print(table(results, seconds))
    if args.misses:
        print()
        print(misses(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
