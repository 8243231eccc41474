"""A small admin client for seeding the test API server (also used by bench/cluster_bench.py).

Raw JSON over the official client's transport: create objects of any kind (CRDs included), concurrently when
asked, and wait for controllers to catch up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Obj = dict[str, Any]

PLURALS = {
    "Namespace": "namespaces", "Secret": "secrets", "Pod": "pods", "ServiceAccount": "serviceaccounts",
    "ConfigMap": "configmaps", "Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets",
    "DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs", "Role": "roles", "RoleBinding": "rolebindings",
    "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
    "CustomResourceDefinition": "customresourcedefinitions",
    "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
    "ExternalSecret": "externalsecrets", "SecretStore": "secretstores", "ClusterSecretStore": "clustersecretstores",
    "SealedSecret": "sealedsecrets", "SecretProviderClass": "secretproviderclasses",
}
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                            "MutatingWebhookConfiguration", "ClusterSecretStore"})


class KubeError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        reason = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status


class Kube:
    def __init__(self, kubeconfig: str, pool: int = 16) -> None:
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
        cfg.connection_pool_maxsize = pool
        self.api = client.ApiClient(cfg)

    def close(self) -> None:
        self.api.close()

    def request(self, method: str, path: str, body: Obj | None = None, query: list[tuple[str, object]] | None = None,
                accept: str = "application/json") -> tuple[int, Any, str]:
        headers = {"Accept": accept, "Content-Type": "application/json"}
        m, url, hdrs, _b, _p = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                                        auth_settings=["BearerToken"])
        response = self.api.call_api(m, url, hdrs, body, _request_timeout=(10, 60))
        data = response.read()
        content_type = response.headers.get("Content-Type", "")
        parsed: Any = data.decode("utf-8", "replace")
        if "json" in content_type:
            parsed = json.loads(data)
        return response.status, parsed, content_type

    @staticmethod
    def path(obj: Obj) -> str:
        api = obj["apiVersion"]
        kind = obj["kind"]
        base = f"/api/{api}" if "/" not in api else f"/apis/{api}"
        namespace = obj.get("metadata", {}).get("namespace")
        plural = PLURALS[kind]
        if kind in CLUSTER_SCOPED or not namespace:
            return f"{base}/{plural}"
        return f"{base}/namespaces/{namespace}/{plural}"

    def create(self, obj: Obj) -> Obj:
        for attempt in range(20):
            status, body, _ = self.request("POST", self.path(obj), obj)
            if status in (200, 201):
                return body  # type: ignore[no-any-return]
            # a new CRD's API, or a new namespace's default ServiceAccount, may lag a moment
            if status in (404, 429, 500, 503) or (status == 403 and "not found" in str(body)):
                time.sleep(0.25 * (attempt + 1))
                continue
            raise KubeError(status, body)
        raise KubeError(status, body)

    def create_all(self, objects: Iterable[Obj], workers: int = 1) -> list[Obj]:
        items = list(objects)
        if workers <= 1:
            return [self.create(o) for o in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.create, items))

    def get(self, path: str) -> Obj:
        status, body, _ = self.request("GET", path)
        if status != 200:
            raise KubeError(status, body)
        return body  # type: ignore[no-any-return]

    def count(self, path: str) -> int:
        total, token = 0, None
        while True:
            query: list[tuple[str, object]] = [("limit", 500)] + ([("continue", token)] if token else [])
            status, body, _ = self.request("GET", path, query=query,
                                           accept="application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
            if status != 200:
                raise KubeError(status, body)
            total += len(body.get("items") or ())
            token = body.get("metadata", {}).get("continue")
            if not token:
                return total

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except KubeError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"timed out waiting for {what}")

    def crd_established(self, name: str) -> bool:
        crd = self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        return any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in crd.get("status", {}).get("conditions", ()))


def crd(group: str, kind: str, plural: str, versions: tuple[str, ...], scope: str = "Namespaced") -> Obj:
    """A small CRD of the project's own with the upstream group/version/kind (1.20 cannot install the real ones)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group, "scope": scope,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "versions": [{"name": v, "served": True, "storage": i == 0,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}
                         for i, v in enumerate(versions)],
        },
    }
