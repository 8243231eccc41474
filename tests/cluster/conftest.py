"""A real kube-apiserver (+ etcd, controller-manager) for the live-cluster tests, one per test session.

The binaries come from ``scripts/ktest/build.sh`` (built on first use: about 15 minutes, cached in
``$KTEST_HOME``, default ``~/.cache/ktest``). ``start.sh`` runs them on free ports in a temporary run directory,
so a developer's own server is never touched; ``stop.sh`` stops exactly what was started, also when the
session fails. Under pytest-xdist each worker runs its own server.

Tests using the ``ktest`` fixture carry the ``cluster`` marker (run by default; ``-m "not cluster"`` skips them).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.findings import ScanResult

ROOT = Path(__file__).resolve().parents[2]
KTEST = ROOT / "scripts" / "ktest"
HOME = Path(os.environ.get("KTEST_HOME", Path.home() / ".cache" / "ktest"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: runs against a real kube-apiserver started by tests/cluster")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "ktest" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


@dataclass(frozen=True, slots=True)
class KTest:
    run: Path
    admin: Path  # kubeconfig of a system:masters user
    auditor: Path  # kubeconfig of a user with only the grants seed.py gives it
    now: datetime  # the audits' clock: 120 days after seeding, so every seeded key is "old"
    before_stores: ScanResult  # the admin audit taken before the secret-store CRDs were installed
    uids: dict[str, str]


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports() -> tuple[int, int]:
    rng = random.Random()
    for _ in range(200):
        api, etcd = rng.randrange(21000, 29000), rng.randrange(31000, 39000)
        if _free(api) and _free(etcd) and _free(etcd + 10):
            return api, etcd
    raise RuntimeError("no free ports for the test API server")


def _built() -> bool:
    return (HOME / "bin" / "kube-apiserver").is_file() and (HOME / "root" / "usr" / "bin" / "etcd").is_file()


def _build() -> None:
    """Run build.sh once, even when several xdist workers (or bench runs) ask at the same time."""
    if _built():
        return
    import fcntl

    HOME.mkdir(parents=True, exist_ok=True)
    with (HOME / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _built():
            return
        sys.stderr.write("tests/cluster: building kube-apiserver with scripts/ktest/build.sh (once, ~15 min)...\n")
        subprocess.run(["bash", str(KTEST / "build.sh")], check=True, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def ktest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KTest]:
    from auditor.cluster.audit import AuditOptions, audit
    from auditor.cluster.source import LiveSource

    from .kapi import Kube
    from .seed import phase_one, phase_two

    _build()
    run = tmp_path_factory.mktemp("ktest-run")
    env = {**os.environ, "KTEST_RUN": str(run), "KTEST_HOME": str(HOME)}
    started = False
    kube: Kube | None = None
    try:
        for attempt in range(3):  # a port may be taken between the check and the start
            api, etcd = _ports()
            env.update(KTEST_PORT=str(api), KTEST_ETCD_PORT=str(etcd))
            proc = subprocess.run(["bash", str(KTEST / "start.sh")], env=env, capture_output=True, text=True,
                                  timeout=120, check=False)
            started = True
            if proc.returncode == 0:
                break
            if attempt == 2:
                raise RuntimeError(f"scripts/ktest/start.sh failed ({proc.returncode}): {proc.stderr.strip()}")
        admin, auditor = run / "kubeconfig-admin", run / "kubeconfig-auditor"
        kube = Kube(str(admin))
        seeded = phase_one(kube)
        now = datetime.now(UTC) + timedelta(days=120)
        before = audit([LiveSource(str(admin)).connect()], AuditOptions(now=now))
        phase_two(kube, seeded)
        yield KTest(run, admin, auditor, now, before, dict(seeded.uids))
    finally:
        if kube is not None:
            kube.close()
        if started:
            subprocess.run(["bash", str(KTEST / "stop.sh")], env=env, capture_output=True, timeout=60, check=False)
