"""The labeled-corpus evaluation computes recall and false positives correctly on a hand-made manifest."""

from __future__ import annotations

import importlib.util
import json
import random
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "eval_corpus.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_corpus", SCRIPT)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _fake_openai_key(seed: int) -> str:
    """Random characters in the OpenAI key shape, built at run time so no key-like literal sits in the repo."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    body = "".join(rng.choice(alphabet) for _ in range(48))
    tail = "".join(rng.choice(alphabet) for _ in range(48))
    return "sk-" + "proj-" + body + "T3Blbk" + "FJ" + tail


def _manifest(tmp_path: Path) -> Path:
    base = tmp_path / "labeled"
    files = {
        # positive, key on line 3, expected on line 3: caught any-line and on-line
        "src/a/positive/settings.py": (f'"""Settings."""\nimport os\nOPENAI_API_KEY = "{_fake_openai_key(1)}"\n',
                                       "positive", [3]),
        # positive, key on line 2 but the source expects line 1: caught any-line, missed on-line
        "src/a/positive/client.py": (f'import os\nKEY = "{_fake_openai_key(2)}"\n', "positive", [1]),
        # positive that keyaudit cannot see: missed
        "src/b/positive/notes.py": ("def add(a, b):\n    return a + b\n", "positive", [1]),
        # negatives: one clean (no FP), one holding a key (a false positive for this source)
        "src/a/negative/clean.py": ("print('hello')\n", "negative", []),
        "src/b/negative/vendored.py": (f'TOKEN = "{_fake_openai_key(3)}"\n', "negative", []),
    }
    cases = []
    for rel, (text, label, lines) in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        rule = rel.split("/")[1]
        cases.append({"id": rel, "local_path": rel, "label": label, "kind": "generic", "subkind": "source",
                      "source": "example/tool", "rule_id": f"RULE-{rule.upper()}", "expected_lines": lines})
    manifest = base / "MANIFEST.json"
    manifest.write_text(json.dumps({"cases": cases, "support_files": [], "total": len(cases)}))
    return manifest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_recall_and_false_positives_on_a_tiny_manifest(tmp_path: Path) -> None:
    proc = _run("--manifest", str(_manifest(tmp_path)), "--select", "HCK-01", "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    total = data["total"]
    assert total["positives"] == 3
    assert total["caught_any"] == 2
    assert total["with_lines"] == 3
    assert total["caught_on_line"] == 1
    assert total["negatives"] == 2
    assert total["false_positives"] == 1
    assert total["errors"] == 0
    assert total["fired_pos"] == {"HCK-01": 2}
    assert total["fired_neg"] == {"HCK-01": 1}
    groups = {g["rule_id"]: g for g in data["groups"]}
    assert groups["RULE-A"]["positives"] == 2
    assert groups["RULE-A"]["caught_any"] == 2
    assert groups["RULE-A"]["caught_on_line"] == 1
    assert groups["RULE-A"]["false_positives"] == 0
    assert groups["RULE-B"]["caught_any"] == 0
    assert groups["RULE-B"]["false_positives"] == 1
    by_id = {c["id"]: c for c in data["cases"]}
    assert by_id["src/a/positive/client.py"]["caught_on_line"] is False
    assert by_id["src/a/positive/settings.py"]["fired"] == [["HCK-01", "settings.py", 3]]


def test_table_output_and_missing_manifest(tmp_path: Path) -> None:
    proc = _run("--manifest", str(_manifest(tmp_path)), "--select", "HCK-01", "--misses")
    assert proc.returncode == 0, proc.stderr
    assert "2/3 (67%)" in proc.stdout  # any-line recall over all positives
    assert "1/3 (33%)" in proc.stdout  # on-line recall
    assert "1/2 (50%)" in proc.stdout  # false positives over negatives
    assert "MISSED  src/b/positive/notes.py" in proc.stdout
    assert "FALSEPOS src/b/negative/vendored.py" in proc.stdout
    absent = _run("--manifest", str(tmp_path / "nope" / "MANIFEST.json"))
    assert absent.returncode == 0
    assert "no manifest" in absent.stdout


def test_placement_and_support_files() -> None:
    ev = _load()
    assert ev.placed_path({"kind": "dockerfile", "local_path": "x/positive/simple"}) == "Dockerfile"
    assert ev.placed_path({"kind": "dockerfile", "local_path": "x/positive/line04.Dockerfile"}) == "line04.Dockerfile"
    assert ev.placed_path({"kind": "gitignore", "local_path": "g/negative/Dart.gitignore"}) == ".gitignore"
    assert ev.placed_path({"kind": "dockerignore", "local_path": "r/p/kics.dockerignore"}) == ".dockerignore"
    assert ev.placed_path({"kind": "gha", "local_path": "z/positive/w.yml"}) == ".github/workflows/w.yml"
    assert ev.placed_path({"kind": "terraform", "local_path": "k/positive/positive1.tf"}) == "positive1.tf"
    manifest = {"support_files": [{"local_path": "kics/rule-x/_support/terraform.tfvars"}]}
    assert ev.support_files({"local_path": "kics/rule-x/positive/p1.tf"}, manifest) == [
        "kics/rule-x/_support/terraform.tfvars"]
    assert ev.support_files({"local_path": "kics/rule-xy/positive/p1.tf"}, manifest) == []
