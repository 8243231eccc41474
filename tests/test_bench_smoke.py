"""Smoke tests of the benchmark: the generator, the measuring harness and one small end-to-end run."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402
from measure import run_measured  # noqa: E402

SHAPES = {
    "openai": re.compile(r"sk-proj-[A-Za-z0-9_-]{74}T3BlbkFJ[A-Za-z0-9_-]{74}"),
    "aws": re.compile(r"\bAKIA[A-Z2-7]{16}\b"),
    "github": re.compile(r"\bghp_[A-Za-z0-9]{36}\b"),
    "anthropic": re.compile(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA"),
    "slack": re.compile(r"https://hooks\.slack\.com/services/T[A-Z2-7]{8}/B[A-Z2-7]{8}/[A-Za-z0-9]{24}"),
    "dburl": re.compile(r"postgres://app:[A-Za-z0-9]{20}@"),
    "generic": re.compile(r"\b[A-Za-z0-9]{40}\b"),
}


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_generator_is_deterministic_and_covers_every_kind(tmp_path: Path) -> None:
    a = synth.generate(tmp_path / "a", 400, seed=3)
    synth.generate(tmp_path / "b", 400, seed=3)
    synth.generate(tmp_path / "c", 400, seed=4)
    assert a.files == 400
    assert sum(1 for p in (tmp_path / "a").rglob("*") if p.is_file()) == 401  # + the marker
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert set(a.by_kind) == set(synth.KIND_WEIGHTS)
    assert (tmp_path / "a" / ".gitignore").is_file()
    assert any(p.name == "Dockerfile" for p in (tmp_path / "a").rglob("*"))
    assert any(p.suffix == ".tf" for p in (tmp_path / "a").rglob("*"))
    assert list((tmp_path / "a" / ".github" / "workflows").iterdir())
    manifest = next((tmp_path / "a" / "k8s").rglob("*.yaml")).read_text()
    assert manifest.count("\n---\n") >= 1  # multi-document


def test_planted_records_point_at_the_planted_line(tmp_path: Path) -> None:
    tree = synth.generate(tmp_path / "t", 150, seed=9, secret_share=1.0)
    plantable = sum(n for kind, n in tree.by_kind.items() if kind in synth.PLANTABLE)
    # every file of a plantable kind gets one, except env templates and Terraform outputs
    exempt = sum(1 for p in (tmp_path / "t").rglob("*") if p.name in (".env.example", "outputs.tf"))
    assert len(tree.planted) == plantable - exempt
    assert {p.shape for p in tree.planted} == set(SHAPES)
    for p in tree.planted:
        line = (tmp_path / "t" / p.path).read_text().splitlines()[p.line - 1]
        assert SHAPES[p.shape].search(line), (p, line)
        assert p.ignored == p.path.endswith(".env.local")
    assert any(p.ignored for p in tree.planted)


def test_measure_counts_the_largest_child_and_kills_on_timeout(tmp_path: Path) -> None:
    # the parent stays small; a child it waits for touches ~120 MB: ru_maxrss must see the child
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'b = b\"x\" * (120 * 1024 * 1024); import time; time.sleep(0.3)'], check=True)")
    m = run_measured([sys.executable, "-c", code], tmp_path / "o", tmp_path / "e", interval=0.02)
    assert m.returncode == 0
    assert m.max_rss_kb > 110 * 1024
    assert m.tree_pss_kb > 100 * 1024
    assert m.max_procs >= 2
    assert m.cpu > 0
    assert m.wall >= 0.3

    slow = run_measured([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "o2", tmp_path / "e2",
                        timeout=0.5)
    assert slow.timed_out
    assert slow.wall < 10
    assert slow.returncode != 0


def test_bench_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench.py"), "--files", "60", "--startup-runs", "1", "--json-out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for needle in ("files/s", "peak memory: largest process", "PSS sum", "findings", "--version",
                   "modules imported by --version"):
        assert needle in text, needle
    data = json.loads(out.read_text())
    assert data["files"] == 61
    ka = data["keyaudit"]
    assert ka["wall_s"] > 0
    assert ka["max_rss_kb"] > 1024
    assert ka["files_per_s"] > 0
    assert ka["findings"] == sum(ka["by_rule"].values())
    assert data["startup"]["modules"] > data["startup"]["modules_bare_python"]
    assert data["planted"]["located"] <= data["planted"]["total"]
    assert data["planted"]["in_ignored_files_reported"] == 0
    assert not Path(data["tree"]).exists()  # the generated tree is deleted without --keep


def test_bench_refuses_to_wipe_a_foreign_directory(tmp_path: Path) -> None:
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    proc = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--files", "5", "--out", str(foreign)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert (foreign / "keep.txt").read_text() == "mine"


def test_bench_explains_a_missing_checkov(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--files", "5", "--checkov",
                           "--checkov-bin", str(tmp_path / "no-checkov")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "checkov not found" in proc.stderr
    assert "--checkov-bin" in proc.stderr
