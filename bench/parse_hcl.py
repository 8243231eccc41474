"""Parse cost of HCL: python-hcl2 against tree-sitter-hcl (and keyaudit's full Terraform parser).

Usage: python bench/parse_hcl.py [DIR ...] [--repeat N]
Default input: every .tf file of ../shared/corpora/realworld-sample/terraform-aws-modules__*.
Reports CPU time (time.process_time) per parser over the same files, text already in memory, best of N.
python-hcl2 is only needed here (``pip install python-hcl2``); it is not a runtime dependency.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = sorted(glob.glob(str(ROOT.parent / "shared" / "corpora" / "realworld-sample" / "terraform-aws-modules__*")))


def files_in(dirs: list[str]) -> list[tuple[str, str]]:
    out = []
    for d in dirs:
        for path in sorted(Path(d).rglob("*.tf")):
            out.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    return out


def timed(label: str, parse: Callable[[str], object], texts: list[tuple[str, str]], repeat: int) -> float:
    best = float("inf")
    failures = 0
    for _ in range(repeat):
        failures = 0
        start = time.process_time()
        for _path, text in texts:
            try:
                parse(text)
            except Exception:
                failures += 1
        best = min(best, time.process_time() - start)
    print(f"{label:<34} {best:8.3f} s CPU  ({failures} files failed)")
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = files_in(args.dirs)
    if not texts:
        print("no .tf files found", file=sys.stderr)
        return 2
    size = sum(len(t.encode()) for _p, t in texts)
    print(f"{len(texts)} .tf files, {size / 1e6:.2f} MB, best of {args.repeat}")

    import tree_sitter_hcl
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_hcl.language()))
    ts = timed("tree-sitter-hcl (parse only)", lambda t: parser.parse(t.encode()), texts, args.repeat)

    sys.path.insert(0, str(ROOT))
    from auditor.model import DocKind, Document
    from auditor.parsers import terraform

    def full(text: str) -> None:
        terraform.parse(Document("main.tf", DocKind.TERRAFORM), text)

    kt = timed("keyaudit terraform.parse (model+sites)", full, texts, args.repeat)
    try:
        import hcl2
    except ImportError:
        print("python-hcl2 not installed: skipped")
        return 0
    h2 = timed("python-hcl2 hcl2.loads", hcl2.loads, texts, args.repeat)
    print(f"python-hcl2 / tree-sitter parse: {h2 / ts:.0f}x;  python-hcl2 / keyaudit full parse: {h2 / kt:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
