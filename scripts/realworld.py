#!/usr/bin/env python3
"""Run keyaudit over each repository of the real-world sample and list every finding for false-positive review.

    .venv/bin/python scripts/realworld.py                         # ../shared/corpora/realworld-sample
    .venv/bin/python scripts/realworld.py --repo docker__awesome-compose --select HCK-02
    .venv/bin/python scripts/realworld.py --json > realworld.json

The sample is public repositories that hold no real credentials to speak of, so nearly every finding is a
candidate false positive (or a real hygiene issue such as a hardcoded demo password): read each one. Findings
are grouped per repository and rule, with file:line, the key name and the redacted evidence (never a value),
followed by the parser diagnostics and the timing of each scan (in-process, ``auditor.scan.scan``; the first
repository also pays for the lazy imports).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO.parent / "shared" / "corpora" / "realworld-sample"


def sources(root: Path) -> dict[str, dict[str, str]]:
    """SOURCES.tsv rows keyed by folder name (``owner__name``)."""
    path = root / "SOURCES.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {row["repo"].replace("/", "__"): row for row in rows if row.get("repo")}


def scan_repo(path: Path, select: list[str], ignore: list[str], jobs: int) -> tuple[Any, float]:
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    started = time.perf_counter()
    result = scan(path, ScanOptions(config=Config(select=tuple(select), ignore=tuple(ignore)), jobs=jobs))
    return result, time.perf_counter() - started


def finding_row(f: Any) -> dict[str, Any]:
    return {"rule_id": f.rule_id, "rule_name": f.rule_name, "severity": f.severity.value,
            "confidence": f.confidence.value, "path": f.location.path, "line": f.location.line,
            "name": f.name, "evidence": f.evidence, "message": f.message}


def render(name: str, meta: dict[str, str], result: Any, seconds: float, max_per_rule: int) -> list[str]:
    st = result.stats
    active = sorted(result.active, key=lambda f: (f.rule_id, f.location.path, f.location.line))
    upstream = f" {meta.get('repo')}@{meta.get('commit', '')[:10]}" if meta else ""
    out = [f"== {name}{upstream}: {st.files_seen} files, scanned {st.files_scanned}, parsed {st.documents_parsed}; "
           f"{len(active)} findings, {len(result.suppressed)} suppressed, {len(result.diagnostics)} diagnostics; "
           f"{seconds:.2f} s"]
    by_rule: dict[str, list[Any]] = defaultdict(list)
    for f in active:
        by_rule[f.rule_id].append(f)
    for rule, items in by_rule.items():
        sev = Counter(f.severity.value for f in items)
        out.append(f"  {rule} {items[0].rule_name} x{len(items)} ({', '.join(f'{s} {n}' for s, n in sev.items())})")
        shown = items if max_per_rule <= 0 else items[:max_per_rule]
        for f in shown:
            extra = "".join(part for part in (f"  name={f.name}" if f.name else "",
                                              f"  evidence={f.evidence}" if f.evidence else ""))
            out.append(f"    {f.location.path}:{f.location.line}{extra}  {f.message}")
        if len(items) > len(shown):
            out.append(f"    ... {len(items) - len(shown)} more (--max-per-rule 0 shows all)")
    for d in sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0)):
        out.append(f"  diagnostic [{d.level}] {d}")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0].strip())
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"default: {DEFAULT_ROOT}")
    p.add_argument("--repo", action="append", default=[], help="only this folder of the sample (repeatable)")
    p.add_argument("--select", action="append", default=[], help="run only these keyaudit rules (comma-separated)")
    p.add_argument("--ignore", action="append", default=[], help="skip these keyaudit rules (comma-separated)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes per scan (default 1; 0 = one per CPU)")
    p.add_argument("--max-per-rule", type=int, default=0, help="list at most N findings per rule and repo (0: all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the review listing")
    return p.parse_args(argv)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.root.is_dir():
        print(f"realworld: no sample at {args.root}; nothing to scan")
        return 0
    meta = sources(args.root)
    repos = sorted(p for p in args.root.iterdir() if p.is_dir() and (not args.repo or p.name in args.repo))
    missing = sorted(set(args.repo) - {p.name for p in repos})
    if missing:
        print(f"realworld: no such repository folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    select, ignore = _split(args.select), _split(args.ignore)
    lines: list[str] = []
    report: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    files = 0
    seconds_total = 0.0
    for repo in repos:
        result, seconds = scan_repo(repo, select, ignore, args.jobs)
        seconds_total += seconds
        files += result.stats.files_seen
        totals.update(f.rule_id for f in result.active)
        lines += render(repo.name, meta.get(repo.name, {}), result, seconds, args.max_per_rule)
        lines.append("")
        report.append({
            "repo": repo.name, "upstream": meta.get(repo.name, {}).get("repo"),
            "commit": meta.get(repo.name, {}).get("commit"), "seconds": round(seconds, 3),
            "files_seen": result.stats.files_seen, "files_scanned": result.stats.files_scanned,
            "documents_parsed": result.stats.documents_parsed,
            "findings": [finding_row(f) for f in sorted(result.active, key=lambda f: (f.rule_id, f.location))],
            "suppressed": len(result.suppressed),
            "diagnostics": [{"path": d.path, "line": d.line, "level": d.level, "message": d.message}
                            for d in result.diagnostics],
        })
    rate = files / seconds_total if seconds_total else 0.0
    summary = (f"{len(repos)} repositories, {files} files, {sum(totals.values())} findings in {seconds_total:.2f} s "
               f"({rate:,.0f} files/s); by rule: "
               + (", ".join(f"{r} {n}" for r, n in sorted(totals.items())) or "none"))
    if args.json:
        print(json.dumps({"root": str(args.root), "seconds": round(seconds_total, 3), "files": files,
                          "by_rule": dict(sorted(totals.items())), "repos": report}, indent=2))
    else:
        print("\n".join([*lines, summary]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
