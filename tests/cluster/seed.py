"""The scenario the live-cluster tests audit, seeded through the API of a real kube-apiserver.

Phase 1 has no secret-store API (K8S-04's case); phase 2 installs small CRDs with the upstream groups, versions
and kinds of External Secrets, Sealed Secrets and the Secrets Store CSI driver, store-owned objects, and the
stores' own workloads: two CSI driver DaemonSets (rotation off in kube-system, on in csi-driver), two Sealed
Secrets controllers (renewal off in kube-system, every 720h in sealed-secrets) with their key Secrets. Ages come
from the audit clock: the keys are created now, so they are 120 days old for the audits at ``KTest.now``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from .kapi import Kube, crd

Obj = dict[str, Any]

# Fake keys in the providers' formats (random, never issued)
OPENAI_SHARED = ("sk-proj-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLT3BlbkFJKOmxgJTeKdNnFRIBXuDL7"
                 "DxtpYlSXpfKtHF4vUCsMehGAkWvj7FAc9QeWJ")
OPENAI_LITERAL = ("sk-proj-KY40uvSwMFLZDe1f8rESQedUStPKR0CsTy4Qwb8DwkNhFdnXsiVpzz63FfT3BlbkFJkCzJr4i0B3JrTAwR4y9ojf"
                  "ljoQoaF1LlqsajAIxNKu8iS2G8NPRVdD53X8")
STRIPE_LITERAL = "sk_live_A1id6Vw5DQL05HA064GiIjHG"
DB_PASSWORD = "Nq4-wPz81cRtY6hK"
EXPORT_TOKEN = "b3CXlMaXZjljENUhJduRHHJEYXg4Jdpm"
STORE_VALUE = "Vb5-kTx37mQsL2nD"
SEALED_VALUE = "Pk2-zRw95hTyM7bQ"
CSI_SYNCED_VALUE = "Hx8-cMv41pWqZ3rT"
# stands for the controller's private key; the audit must never request it (key Secrets are listed as metadata)
SEALING_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAw7Lq0Zt9XvB2kR4mYp1sN8dF3gH6jK9lQ2wE5rT7yU0iO\n" \
              "-----END RSA PRIVATE KEY-----\n"
ALL_VALUES = (OPENAI_SHARED, OPENAI_LITERAL, STRIPE_LITERAL, DB_PASSWORD, EXPORT_TOKEN, STORE_VALUE, SEALED_VALUE,
              CSI_SYNCED_VALUE, SEALING_KEY[32:80])
SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
CSI_IMAGE = "registry.k8s.io/csi-secrets-store/driver:v1.4.7"
SEALED_IMAGE = "docker.io/bitnami/sealed-secrets-controller:0.27.1"

APP_NAMESPACES = ("shop-dev", "shop-prod", "payments", "tools")
STORE_GROUPS = frozenset({"external-secrets.io", "bitnami.com", "secrets-store.csi.x-k8s.io"})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def secret(ns: str, name: str, data: dict[str, str], secret_type: str = "Opaque", **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns, **meta},
            "type": secret_type, "data": {k: b64(v) for k, v in data.items()}}


def pod_spec(containers: list[Obj], **extra: Any) -> Obj:
    return {"containers": containers, **extra}


def container(name: str, env: list[Obj] | None = None, **extra: Any) -> Obj:
    out: Obj = {"name": name, "image": f"registry.example.com/shop/{name}:1.0.0", **extra}
    if env:
        out["env"] = env
    return out


def deployment(ns: str, name: str, spec: Obj, replicas: int = 2, **meta: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, **meta},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def daemonset(ns: str, name: str, containers: list[Obj]) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}


def csi_driver(ns: str, name: str, extra_args: list[str]) -> Obj:
    """The driver's DaemonSet as the upstream chart renders it (registrar and driver containers)."""
    return daemonset(ns, name, [
        {"name": "node-driver-registrar", "image": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.10.0",
         "args": ["--v=5", "--csi-address=/csi/csi.sock"]},
        {"name": "secrets-store", "image": CSI_IMAGE,
         "args": ["--endpoint=$(CSI_ENDPOINT)", "--nodeid=$(KUBE_NODE_NAME)",
                  "--provider-volume=/var/run/secrets-store-csi-providers", *extra_args],
         "env": [{"name": "CSI_ENDPOINT", "value": "unix:///csi/csi.sock"},
                 {"name": "KUBE_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]},
    ])


def sealed_controller(ns: str, name: str, args: list[str]) -> Obj:
    return deployment(ns, name, pod_spec([{"name": "controller", "image": SEALED_IMAGE, "command": ["controller"],
                                           "args": args}]), replicas=1)


def sealing_key(ns: str, name: str) -> Obj:
    return secret(ns, name, {"tls.crt": "placeholder certificate", "tls.key": SEALING_KEY}, "kubernetes.io/tls",
                  labels={SEALING_KEY_LABEL: "active"})


def env_reader(ns: str, name: str, secret_name: str, **meta: Any) -> Obj:
    return deployment(ns, name, pod_spec([container(name, [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret_name, "key": "password"}}}])]),
        replicas=1, **meta)


@dataclass(slots=True)
class Seeded:
    uids: dict[str, str] = field(default_factory=dict)


def phase_one(kube: Kube) -> Seeded:
    """Namespaces for two environments (and more), workloads, unmanaged Secrets, RBAC; no secret store."""
    seeded = Seeded()
    kube.create_all([
        namespace("shop-dev"),
        namespace("shop-prod", environment="production"),
        namespace("payments", **{"keyaudit.io/environment": "staging"}),
        namespace("tools"),
    ])
    kube.create_all([
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci-deployer", "namespace": "shop-prod"}},
        # unmanaged application Secrets; the OpenAI key and the DB password are shared across environments
        secret("shop-dev", "openai", {"OPENAI_API_KEY": OPENAI_SHARED}),
        secret("shop-prod", "openai", {"OPENAI_API_KEY": OPENAI_SHARED}),
        secret("shop-prod", "shop-db", {"DB_PASSWORD": DB_PASSWORD, "DB_USER": "shop"}),
        secret("payments", "payments-db", {"password": DB_PASSWORD}),
        secret("shop-prod", "settings", {"REGION": "eu-west-1", "FEATURE_CHECKOUT_V2": "true"}),
        secret("kube-system", "bootstrap-admin", {"password": DB_PASSWORD}),
        secret("shop-prod", "ci-deployer-token", {}, "kubernetes.io/service-account-token",
               annotations={"kubernetes.io/service-account.name": "ci-deployer"}),
        # workloads
        deployment("shop-prod", "api", pod_spec([container("api", [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "OPENAI_API_KEY", "value": OPENAI_LITERAL},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "DB_PASSWORD"}}},
        ])])),
        deployment("shop-dev", "api", pod_spec([container("api", envFrom=[{"secretRef": {"name": "openai"}}])]),
                   replicas=1),
        {"apiVersion": "batch/v1beta1", "kind": "CronJob",
         "metadata": {"name": "nightly-export", "namespace": "shop-prod"},
         "spec": {"schedule": "0 2 * * *", "suspend": True, "jobTemplate": {"spec": {"template": {"spec": pod_spec(
             [container("export")], restartPolicy="OnFailure",
             initContainers=[container("fetch", [{"name": "EXPORT_TOKEN", "value": EXPORT_TOKEN}])])}}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "shop-dev"},
         "spec": pod_spec([container("shell", [{"name": "STRIPE_SECRET_KEY", "value": STRIPE_LITERAL}])])},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "ledger", "namespace": "payments"},
         "spec": {"serviceName": "ledger", "replicas": 1, "selector": {"matchLabels": {"app": "ledger"}},
                  "template": {"metadata": {"labels": {"app": "ledger"}}, "spec": pod_spec(
                      [container("ledger", volumeMounts=[{"name": "db", "mountPath": "/run/secrets/db"}])],
                      volumes=[{"name": "db", "secret": {"secretName": "payments-db"}}])}}},
        # RBAC: every pod of shop-dev (default service account) may read every Secret of the cluster
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "secret-reader"},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "shop-dev-reads-secrets"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop-dev"}]},
        # the unprivileged `auditor` user: may list namespaces, and read shop-dev only
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "ktest-ns-lister"},
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "ktest-auditor-ns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ktest-ns-lister"},
         "subjects": [{"kind": "User", "name": "auditor", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "ktest-reader", "namespace": "shop-dev"},
         "rules": [{"apiGroups": ["", "apps", "batch"], "verbs": ["list"],
                    "resources": ["secrets", "pods", "deployments", "replicasets", "statefulsets", "daemonsets",
                                  "jobs", "cronjobs", "replicationcontrollers"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "ktest-auditor", "namespace": "shop-dev"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ktest-reader"},
         "subjects": [{"kind": "User", "name": "auditor", "apiGroup": "rbac.authorization.k8s.io"}]},
    ], workers=8)
    # controllers: Deployment -> ReplicaSet -> Pods, and the default token Secrets of each namespace
    kube.wait(lambda: kube.count("/api/v1/namespaces/shop-prod/pods") >= 2, 60, "the api pods of shop-prod")
    kube.wait(lambda: kube.count("/api/v1/namespaces/shop-dev/pods") >= 2, 60, "the pods of shop-dev")
    kube.wait(lambda: kube.count("/apis/apps/v1/namespaces/payments/statefulsets") == 1, 10, "statefulset")
    kube.wait(lambda: all(_has_default_token(kube, ns) for ns in APP_NAMESPACES), 60, "default tokens")
    return seeded


def _has_default_token(kube: Kube, ns: str) -> bool:
    items = kube.get(f"/api/v1/namespaces/{ns}/secrets?fieldSelector=type%3Dkubernetes.io%2Fservice-account-token")
    return any(i["metadata"]["name"].startswith("default-token-") for i in items.get("items", ()))


def phase_two(kube: Kube, seeded: Seeded) -> None:
    """Secret stores: CRDs with the upstream group/version/kind, store objects and the Secrets they own."""
    crds = [
        crd("external-secrets.io", "ExternalSecret", "externalsecrets", ("v1", "v1beta1")),
        crd("external-secrets.io", "SecretStore", "secretstores", ("v1", "v1beta1")),
        crd("bitnami.com", "SealedSecret", "sealedsecrets", ("v1alpha1",)),
        crd("secrets-store.csi.x-k8s.io", "SecretProviderClass", "secretproviderclasses", ("v1",)),
    ]
    kube.create_all(crds)
    for c in crds:
        name = c["metadata"]["name"]
        kube.wait(lambda name=name: kube.crd_established(name), 30, f"CRD {name}")
    store_ref = {"name": "vault", "kind": "SecretStore"}
    created = kube.create_all([
        {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
         "metadata": {"name": "vault", "namespace": "shop-prod"},
         "spec": {"provider": {"vault": {"server": "https://vault.example.com", "path": "secret"}}}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
         "metadata": {"name": "stripe", "namespace": "shop-prod"},
         "spec": {"refreshInterval": "0", "secretStoreRef": store_ref, "target": {"name": "stripe"},
                  "data": [{"secretKey": "STRIPE_SECRET_KEY", "remoteRef": {"key": "shop/prod/stripe"}}]},
         "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced"}]}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
         "metadata": {"name": "search", "namespace": "shop-prod"},
         "spec": {"refreshInterval": "1h", "secretStoreRef": store_ref, "target": {"name": "search"},
                  "dataFrom": [{"extract": {"key": "shop/prod/search"}}]},
         "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                                    "message": "could not get secret data from provider"}]}},
        {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
         "metadata": {"name": "partner", "namespace": "payments"},
         "spec": {"encryptedData": {"PARTNER_API_TOKEN": "AgBy3i4OJSWK+PiTySYZZA=="}}},
        {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
         "metadata": {"name": "payments-vault", "namespace": "payments"},
         "spec": {"provider": "vault",
                  "parameters": {"objects": "- objectName: db\n  secretPath: secret/payments/db\n"}}},
    ])
    by_name = {o["metadata"]["name"]: o for o in created}
    seeded.uids.update({name: o["metadata"]["uid"] for name, o in by_name.items()})

    def owned(kind: str, api: str, owner: str) -> list[Obj]:
        return [{"apiVersion": api, "kind": kind, "name": owner, "uid": seeded.uids[owner], "controller": True}]

    kube.create_all([
        secret("shop-prod", "stripe", {"STRIPE_SECRET_KEY": STORE_VALUE},
               labels={"reconcile.external-secrets.io/managed": "true"},
               ownerReferences=owned("ExternalSecret", "external-secrets.io/v1", "stripe")),
        secret("payments", "partner", {"PARTNER_API_TOKEN": SEALED_VALUE},
               ownerReferences=owned("SealedSecret", "bitnami.com/v1alpha1", "partner")),
    ])
    phase_two_rotation(kube)


def phase_two_rotation(kube: Kube) -> None:
    """The stores' own workloads and keys (K8S-07, K8S-08): a bad and a good variant of each."""
    kube.create_all([namespace("csi-driver"), namespace("sealed-secrets")])
    kube.create_all([
        # K8S-07: the driver in kube-system runs without --enable-secret-rotation; the one in csi-driver has it
        csi_driver("kube-system", "csi-secrets-store", []),
        csi_driver("csi-driver", "secrets-store-csi-driver",
                   ["--enable-secret-rotation=true", "--rotation-poll-interval=2m"]),
        {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
         "metadata": {"name": "ledger-db", "namespace": "payments"},
         "spec": {"provider": "vault", "parameters": {"objects": "- objectName: password\n"},
                  "secretObjects": [{"secretName": "ledger-db", "type": "Opaque",
                                     "data": [{"objectName": "password", "key": "password"}]}]}},
        secret("payments", "ledger-db", {"password": CSI_SYNCED_VALUE},
               labels={"secrets-store.csi.k8s.io/managed": "true"}),
        env_reader("payments", "ledger-sync", "ledger-db"),  # reads the synced Secret into env: stale on rotation
        env_reader("payments", "ledger-report", "ledger-db", annotations={"reloader.stakater.com/auto": "true"}),
        # K8S-08: renewal off in kube-system; every 720h (Helm's separate tokens) in sealed-secrets
        sealed_controller("kube-system", "sealed-secrets-controller", ["--key-renew-period=0"]),
        sealing_key("kube-system", "sealed-secrets-keyq2x7m"),
        sealed_controller("sealed-secrets", "sealed-secrets",
                          ["--update-status", "--key-renew-period", "720h", "--key-prefix", "sealed-secrets-key"]),
        sealing_key("sealed-secrets", "sealed-secrets-keyw4n8c"),
    ], workers=8)
