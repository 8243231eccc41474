"""Bad input gets a diagnostic naming file (and line) and loses nothing else; nothing crashes."""

from __future__ import annotations

import os
from pathlib import Path

from auditor.config import Config
from auditor.scan import ScanOptions, scan

KEY = "sk-proj-" + "Qm9vZ2xlU2VhcmNoVGVzdEtleUZvclJvYnVzdG5lc3M" + "T3BlbkFJ" + "x7Rk2PzLw9Yq4Nv8Bs3Jd6Hf1Tg5Mc0We2Ua7Oi4Kp9Xr3Zl"


def _tree(root: Path) -> None:
    (root / "app").mkdir()
    (root / "app" / "client.py").write_text(f'OPENAI = "{KEY}"\n')  # the one real finding, must survive
    (root / "docker-compose.yml").write_text("services:\n  web:\n    image: [unclosed\n    environment:\n")
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]")
    (root / "compose.yaml").write_text("\n".join(bomb) + "\nservices: {}\n")
    (root / "Dockerfile").write_text("FROM alpine\nRUN <<EOF\necho never closed\n")
    (root / "api.Dockerfile").write_bytes(b"FROM alpine\n\x00\x01\x02binary")
    (root / ".env").write_bytes(b"GREETING=caf\xe9\nPORT=8080\n")
    (root / "big.txt").write_bytes(b"a" * 2_100_000)
    (root / "deep.json").write_text("[" * 5000 + "]" * 5000)
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("/etc", root / "outside")
    (root / "dirloop").mkdir()
    os.symlink("..", root / "dirloop" / "up")


def test_bad_inputs_give_diagnostics_and_the_rest_is_scanned(tmp_path: Path) -> None:
    _tree(tmp_path)
    result = scan(tmp_path, ScanOptions(config=Config(max_file_size_mb=2), jobs=1))
    by_path = {}
    for d in result.diagnostics:
        by_path.setdefault(d.path, []).append(d)
    assert not [d for d in result.diagnostics if "internal error" in d.message], result.diagnostics
    assert any(d.line == 3 for d in by_path["docker-compose.yml"]), by_path.get("docker-compose.yml")
    assert by_path["compose.yaml"], "alias bomb must be reported"
    assert any(d.line == 2 for d in by_path["Dockerfile"]), by_path.get("Dockerfile")
    assert "binary" in by_path["api.Dockerfile"][0].message
    assert by_path[".env"][0].line == 1 and "UTF-8" in by_path[".env"][0].message
    assert "limit" in by_path["big.txt"][0].message
    assert "loop" in by_path["loop-a"][0].message
    assert "outside" in by_path["outside"][0].message
    keys = [f for f in result.findings if f.rule_id == "HCK-01"]
    assert [(f.location.path, f.location.line) for f in keys] == [("app/client.py", 1)]


def test_parallel_and_serial_scans_agree(tmp_path: Path) -> None:
    for i in range(120):
        (tmp_path / f"f{i}.py").write_text(f'K{i} = "{KEY}"\n' if i % 10 == 0 else "x = 1\n")
    serial = scan(tmp_path, ScanOptions(jobs=1))
    parallel = scan(tmp_path, ScanOptions(jobs=2))
    assert [(f.rule_id, f.location) for f in serial.findings] == [(f.rule_id, f.location) for f in parallel.findings]
    assert len([f for f in parallel.findings if f.rule_id == "HCK-01"]) == 12


def test_parent_gitignore_governs_a_scanned_subdirectory(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(".env\n.env*.local\n")
    service = tmp_path / "services" / "api"
    service.mkdir(parents=True)
    (service / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    (service / "app.py").write_text("import os\n")
    inner = scan(service, ScanOptions(jobs=1))
    assert not [f for f in inner.findings if f.rule_id in ("IGN-01", "IGN-02", "HCK-01")], inner.findings
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    exposed = scan(service, ScanOptions(jobs=1))
    assert {"IGN-01", "IGN-02"} <= {f.rule_id for f in exposed.findings}
