"""Benchmark of ``keyaudit cluster`` against a real kube-apiserver seeded with a large namespace set.

    .venv/bin/python bench/cluster_bench.py [--pods 5000] [--secrets 2000] [--namespaces 50] [--workers 16]

Starts its own server (scripts/ktest/start.sh, without the controller-manager so nothing reconciles or
garbage-collects the seeded objects) on free ports in a temporary directory; seeds, through the API and with
``--workers`` concurrent requests, namespaces of two environments, Deployments each owning a ReplicaSet that
owns ten Pods (Pending: there is no scheduler), Secrets (some values shared between a dev and a prod namespace)
and a few RBAC objects; then runs the audit as a separate process (``keyaudit cluster``, JSON to /dev/null),
once reading Secret values and once metadata-only, and prints wall time and peak RSS of each. Stops the server.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.cluster.conftest import HOME, KTEST, _build, _ports  # noqa: E402
from tests.cluster.kapi import Kube  # noqa: E402

Obj = dict[str, Any]
SHIM = ("import sys; from auditor.cli import main; from auditor.cluster.cli import cluster; "
        "'cluster' in main.commands or main.add_command(cluster); sys.argv[0] = 'keyaudit'; main()")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def token(rng: random.Random, n: int = 32) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def pod_spec(rng: random.Random, literal: bool) -> Obj:
    env: list[Obj] = [{"name": "LOG_LEVEL", "value": "info"},
                      {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]
    if literal:
        env.append({"name": "API_TOKEN", "value": token(rng)})
    return {"containers": [{"name": "app", "image": "registry.example.com/app:1.0.0", "env": env}]}


def objects(namespaces: int, pods: int, secrets: int, seed: int = 1) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """(namespaces, controllers, everything else): controllers first so pods can name their owners' uids."""
    rng = random.Random(seed)
    names = [f"team{i:03d}-{'prod' if i % 2 else 'dev'}" for i in range(namespaces)]
    ns_objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
    deployments = max(1, pods // 10)
    controllers: list[Obj] = []
    for d in range(deployments):
        ns = names[d % namespaces]
        spec = pod_spec(rng, literal=d % 7 == 0)
        controllers.append({"apiVersion": "apps/v1", "kind": "Deployment",
                            "metadata": {"name": f"svc{d}", "namespace": ns},
                            "spec": {"replicas": 10, "selector": {"matchLabels": {"app": f"svc{d}"}},
                                     "template": {"metadata": {"labels": {"app": f"svc{d}"}}, "spec": spec}}})
    shared = [token(rng, 40) for _ in range(20)]
    rest: list[Obj] = []
    for s in range(secrets):
        ns = names[s % namespaces]
        # every fifth round, namespace 2i (dev) and 2i+1 (prod) get the same value: ENV-04 material
        shared_round = (s // namespaces) % 5 == 0
        value = shared[(s % namespaces // 2) % len(shared)] if shared_round else token(rng, 40)
        rest.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"app{s}", "namespace": ns},
                     "type": "Opaque", "data": {"API_KEY": b64(value), "REGION": b64("eu-west-1")}})
    rest.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
                 "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]})
    return ns_objs, controllers, rest


def seed(kube: Kube, namespaces: int, pods: int, secrets: int, workers: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    ns_objs, controllers, rest = objects(namespaces, pods, secrets)
    t = time.perf_counter()
    kube.create_all(ns_objs, workers)
    deployments = kube.create_all(controllers, workers)
    replicasets = kube.create_all([{
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{d['metadata']['name']}-5d9f", "namespace": d["metadata"]["namespace"],
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": d["metadata"]["name"], "uid": d["metadata"]["uid"],
                                          "controller": True}]},
        "spec": {**d["spec"], "replicas": 10},
    } for d in deployments], workers)
    timings["seed controllers"] = time.perf_counter() - t
    t = time.perf_counter()
    pod_objs = []
    for rs in replicasets:
        template = rs["spec"]["template"]
        for i in range(10):
            if len(pod_objs) >= pods:
                break
            pod_objs.append({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": f"{rs['metadata']['name']}-{i}",
                                          "namespace": rs["metadata"]["namespace"],
                                          "labels": template["metadata"]["labels"],
                                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                               "name": rs["metadata"]["name"],
                                                               "uid": rs["metadata"]["uid"], "controller": True}]},
                             "spec": template["spec"]})
    kube.create_all(pod_objs, workers)
    timings[f"seed {len(pod_objs)} pods"] = time.perf_counter() - t
    t = time.perf_counter()
    kube.create_all(rest, workers)
    timings[f"seed {secrets} secrets"] = time.perf_counter() - t
    return timings


def measure(kubeconfig: Path, *extra: str) -> tuple[float, dict[str, Any], int]:
    """Wall seconds, the JSON report's summary and the exit code of one `keyaudit cluster` run."""
    import json

    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", SHIM, "cluster", "--kubeconfig", str(kubeconfig), "-f", "json",
                               "-o", report.name, *extra], cwd=ROOT, capture_output=True, text=True, check=False,
                              env={**os.environ, "KUBECONFIG": "/nonexistent"})
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            sys.stderr.write(proc.stderr)
            return wall, {}, proc.returncode
        summary: dict[str, Any] = json.loads(Path(report.name).read_text())["summary"]
    return wall, summary, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--secrets", type=int, default=2000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    _build()
    run = Path(tempfile.mkdtemp(prefix="keyaudit-cluster-bench-"))
    api, etcd = _ports()
    env = {**os.environ, "KTEST_RUN": str(run), "KTEST_HOME": str(HOME), "KTEST_PORT": str(api),
           "KTEST_ETCD_PORT": str(etcd), "NO_KCM": "1"}
    started = time.perf_counter()
    subprocess.run(["bash", str(KTEST / "start.sh")], env=env, check=True, capture_output=True)
    print(f"server ready in {time.perf_counter() - started:.1f}s (kube-apiserver v1.20.2, etcd 3.4, no controllers)")
    kube = None
    try:
        kube = Kube(str(run / "kubeconfig-admin"), pool=args.workers)
        for what, seconds in seed(kube, args.namespaces, args.pods, args.secrets, args.workers).items():
            print(f"{what:<28} {seconds:7.1f}s")
        admin = run / "kubeconfig-admin"
        print(f"{'audit':<28} {'wall':>8} {'peak RSS':>10}   objects listed / audited, findings")
        for label, extra in (("values read", ()), ("metadata only", ("--no-secret-values",)),
                             ("values, page size 100", ("--page-size", "100"))):
            # peak RSS of children is a high-water mark over all of them: run each measurement in a fresh child
            wall, summary, code = measure(admin, *extra)
            rss = _child_peak(admin, *extra)
            print(f"{label:<28} {wall:7.2f}s {rss:8.0f} MB   {summary.get('files_seen')} / "
                  f"{summary.get('files_scanned')}, {summary.get('total')} (exit {code})")
    finally:
        if kube is not None:
            kube.close()
        subprocess.run(["bash", str(KTEST / "stop.sh")], env=env, capture_output=True, check=False)
    return 0


def _child_peak(kubeconfig: Path, *extra: str) -> float:
    """Peak RSS of a fresh audit process, measured by a wrapper that reports its own child's high-water mark."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-c", SHIM, "cluster", "--kubeconfig",
                          str(kubeconfig), "-f", "json", "-o", os.devnull, *extra], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={**os.environ, "KUBECONFIG": "/nonexistent"})
    return int(out.stdout.strip()) / 1024


if __name__ == "__main__":
    sys.exit(main())
