"""K8S-07 (Secrets Store CSI driver rotation), K8S-08 (Sealed Secrets key renewal), the partial marker and the
cluster result's URI scheme, over fixture sources."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auditor.cluster.audit import AuditOptions, audit, is_partial
from auditor.cluster.model import container_tokens, csi_driver_facts, flag_values, sealed_controller_facts
from auditor.cluster.source import FixtureSource, Unavailable, labels_match
from auditor.config import Config

NOW = datetime(2025, 9, 1, tzinfo=UTC)
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
PRIVATE = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAplaceholder\n-----END RSA PRIVATE KEY-----\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def workload(kind: str, ns: str, name: str, containers: list[dict[str, Any]],
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}}


def driver(args: list[str], name: str = "csi-secrets-store", ns: str = "kube-system",
           image: str = "registry.k8s.io/csi-secrets-store/driver:v1.4.7", **extra: Any) -> dict[str, Any]:
    return workload("DaemonSet", ns, name, [{"name": "secrets-store", "image": image, "args": args, **extra}])


def spc(ns: str, name: str, synced: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"provider": "vault", "parameters": {"objects": "- objectName: db\n"}}
    if synced:
        spec["secretObjects"] = [{"secretName": s, "type": "Opaque", "data": [{"objectName": "db", "key": "pw"}]}
                                 for s in synced]
    return {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-spc-{ns}-{name}"}, "spec": spec}


def env_reader(ns: str, name: str, secret: str, annotations: dict[str, str] | None = None,
               via: str = "secretKeyRef") -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": f"registry.example.com/{name}:1"}
    if via == "secretKeyRef":
        container["env"] = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "pw"}}}]
    else:
        container["envFrom"] = [{"secretRef": {"name": secret}}]
    return workload("Deployment", ns, name, [container], annotations)


def controller(args: list[str] | None = None, ns: str = "kube-system", name: str = "sealed-secrets-controller",
               env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "sealed-secrets-controller", "command": ["controller"],
                                 "image": "docker.io/bitnami/sealed-secrets-controller:0.27.1"}
    if args is not None:
        container["args"] = args
    if env is not None:
        container["env"] = env
    return workload("Deployment", ns, name, [container])


def sealing_key(ns: str, name: str, age_days: float, status: str = "active") -> dict[str, Any]:
    created = (NOW - timedelta(days=age_days)).isoformat().replace("+00:00", "Z")
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "creationTimestamp": created,
                         "labels": {KEY_LABEL: status}},
            "data": {"tls.crt": b64("placeholder certificate"), "tls.key": b64(PRIVATE)}}


def run(objects: list[dict[str, Any]], rule: str, **options: Any) -> Any:
    source = FixtureSource(objects, label=options.pop("label", "c"), **options.pop("source", {}))
    return audit([source], AuditOptions(now=NOW, config=Config(select=(rule,)), **options))


def found(result: Any, rule: str) -> dict[str, Any]:
    return {f.location.path: f for f in result.findings if f.rule_id == rule}


def notes(result: Any, rule: str) -> list[str]:
    return [d.message for d in result.diagnostics if d.message.startswith(f"{rule}: ")]


# ------------------------------------------------------------------------------------------ flag parsing


def test_flag_values_follow_go_flag_syntax() -> None:
    tokens = ["/driver", "-v=5", "--enable-secret-rotation", "--rotation-poll-interval", "30s",
              "-enable-secret-rotation=false", "--", "--enable-secret-rotation=true"]
    assert flag_values(tokens, ("enable-secret-rotation",), boolean=True) == [None, "false"]  # stops at --
    assert flag_values(tokens, ("rotation-poll-interval",)) == ["30s"]
    assert flag_values(["--key-renew-period"], ("key-renew-period",)) == [""]


def test_container_tokens_expand_references_like_the_kubelet() -> None:
    container = {"command": ["controller"], "args": ["--a=$(ROT)", "--b=$(MISSING)", "--c=$$(ROT)", 7],
                 "env": [{"name": "ROT", "value": "true"}, {"name": "FROM", "valueFrom": {"fieldRef": {}}}]}
    assert container_tokens(container) == ["controller", "--a=true", "--b=$(MISSING)", "--c=$(ROT)", "7"]


@pytest.mark.parametrize(("args", "env", "rotation"), [
    ([], None, False),
    (["--enable-secret-rotation"], None, True),
    (["--enable-secret-rotation=true"], None, True),
    (["--enable-secret-rotation=T"], None, True),
    (["--enable-secret-rotation=true", "--enable-secret-rotation=false"], None, False),  # the last one wins
    (["--enable-secret-rotation=$(ROTATE)"], [{"name": "ROTATE", "value": "1"}], True),
    (["--enable-secret-rotation=$(ROTATE)"], None, None),  # unresolved: the driver would refuse to start
    (["--enable-secret-rotation=yes"], None, None),  # not a Go boolean
])
def test_csi_rotation_flag(args: list[str], env: list[dict[str, str]] | None, rotation: bool | None) -> None:
    extra = {"env": env} if env else {}
    facts = csi_driver_facts("c", driver(args, **extra))
    assert facts is not None
    assert facts.rotation is rotation
    assert facts.path == "c/kube-system/DaemonSet/csi-secrets-store"


@pytest.mark.parametrize(("image", "container", "is_driver"), [
    ("registry.k8s.io/csi-secrets-store/driver:v1.4.7", "x", True),
    ("mcr.microsoft.com/oss/kubernetes-csi/secrets-store/driver:v1.4.5@sha256:abc", "x", True),
    ("mirror.example.com/secrets-store-csi-driver:v1.4.7", "x", True),
    ("public.ecr.aws/aws-secrets-manager/secrets-store-csi-driver-provider-aws:1.0.r2", "provider-aws-installer",
     False),
    ("hashicorp/vault-csi-provider:1.4.3", "vault-csi-provider", False),
    ("registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.10.0", "node-driver-registrar", False),
    ("registry.example.com/custom-driver:1", "secrets-store", True),  # the upstream container name
])
def test_csi_driver_recognition(image: str, container: str, is_driver: bool) -> None:
    obj = workload("DaemonSet", "kube-system", "ds", [{"name": container, "image": image}])
    assert (csi_driver_facts("c", obj) is not None) is is_driver


@pytest.mark.parametrize(("args", "env", "period", "source"), [
    (None, None, timedelta(days=30), "default"),
    (["--key-renew-period=0"], None, timedelta(0), "args"),
    (["--key-renew-period", "0s"], None, timedelta(0), "args"),  # the Helm chart's separate tokens
    (["--rotate-period=1h"], None, timedelta(hours=1), "args"),  # the deprecated name
    (["--key-renew-period=720h"], [{"name": "SEALED_SECRETS_KEY_RENEW_PERIOD", "value": "0"}], timedelta(days=30),
     "args"),  # the command line wins over the environment
    (None, [{"name": "SEALED_SECRETS_KEY_RENEW_PERIOD", "value": "0"}], timedelta(0), "env"),
    (None, [{"name": "SEALED_SECRETS_KEY_RENEW_PERIOD", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}],
     None, "env"),
    (["--key-renew-period=30d"], None, None, "args"),  # not Go syntax: the controller refuses it
])
def test_sealed_renew_period(args: list[str] | None, env: list[dict[str, Any]] | None, period: timedelta | None,
                             source: str) -> None:
    facts = sealed_controller_facts("c", controller(args, env=env))
    assert facts is not None
    assert (facts.renew_period, facts.source) == (period, source)


def test_label_selectors_of_the_fixture_source() -> None:
    labels = {KEY_LABEL: "active", "app": "x"}
    assert labels_match(labels, KEY_LABEL)
    assert not labels_match(labels, f"!{KEY_LABEL}")
    assert labels_match(labels, f"{KEY_LABEL}=active,app==x")
    assert not labels_match(labels, f"{KEY_LABEL}!=active")
    assert labels_match(None, f"!{KEY_LABEL}")


# ------------------------------------------------------------------------------------------------ K8S-07


def test_k8s07_needs_provider_classes_and_judges_every_driver() -> None:
    assert not found(run([driver([])], "K8S-07"), "K8S-07")  # no SecretProviderClass: nothing uses the driver
    result = run([driver([]), driver(["--enable-secret-rotation=true"], name="good"), spc("a", "one"),
                  spc("b", "two"), spc("b", "three"), spc("b", "four")], "K8S-07")
    hits = found(result, "K8S-07")
    assert list(hits) == ["c/kube-system/DaemonSet/csi-secrets-store"]
    hit = hits["c/kube-system/DaemonSet/csi-secrets-store"]
    assert "4 SecretProviderClasses (a/one, b/two, b/three and 1 more)" in hit.message
    assert hit.severity.value == "low"
    assert hit.route == "DaemonSet/csi-secrets-store.spec.template.spec.containers[secrets-store].args"


def test_k8s07_env_readers_of_synced_secrets() -> None:
    labelled = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "labelled", "namespace": "a", "uid": "u-l",
                             "labels": {"secrets-store.csi.k8s.io/managed": "true"}}, "data": {"pw": b64("x")}}
    matched = {**labelled, "metadata": {**labelled["metadata"], "name": "matched", "uid": "u-m",
                                        "annotations": {"reloader.stakater.com/match": "true"}}}
    objects = [
        driver(["--enable-secret-rotation=true"]), spc("a", "db", ("db",)), labelled, matched,
        env_reader("a", "reads-db", "db"),
        env_reader("a", "reads-labelled", "labelled", via="envFrom"),
        env_reader("b", "other-namespace", "db"),  # b/db is not synced
        env_reader("a", "auto", "db", {"reloader.stakater.com/auto": "true"}),
        env_reader("a", "secret-auto", "db", {"secret.reloader.stakater.com/auto": "true"}),
        env_reader("a", "listed", "db", {"secret.reloader.stakater.com/reload": "other, db"}),
        env_reader("a", "listed-other", "db", {"secret.reloader.stakater.com/reload": "other"}),
        env_reader("a", "search-matched", "matched", {"reloader.stakater.com/search": "true"}),
        env_reader("a", "search-unmatched", "db", {"reloader.stakater.com/search": "true"}),
    ]
    hits = found(run(objects, "K8S-07"), "K8S-07")
    assert sorted(hits) == ["c/a/Deployment/listed-other", "c/a/Deployment/reads-db", "c/a/Deployment/reads-labelled",
                            "c/a/Deployment/search-unmatched"]
    assert "(SecretProviderClass db syncs it)" in hits["c/a/Deployment/reads-db"].message
    assert "env var DB_PASSWORD" in hits["c/a/Deployment/reads-db"].message
    assert "(label secrets-store.csi.k8s.io/managed=true)" in hits["c/a/Deployment/reads-labelled"].message
    assert hits["c/a/Deployment/reads-labelled"].route.endswith("envFrom.secretRef")


def test_k8s07_says_when_the_driver_cannot_be_judged() -> None:
    forbidden = {"forbidden": frozenset({("daemonsets.apps", "*")})}
    result = run([driver([]), spc("a", "db")], "K8S-07", source=forbidden)
    assert not found(result, "K8S-07")
    assert any("DaemonSets could not be listed" in m and "grant list on daemonsets" in m
               for m in notes(result, "K8S-07"))
    assert is_partial(result)
    scoped = run([driver([]), spc("a", "db")], "K8S-07", namespaces=("a",))
    assert not found(scoped, "K8S-07")
    assert any("no Secrets Store CSI driver DaemonSet is in the audited namespaces (a)" in m
               for m in notes(scoped, "K8S-07"))
    assert not is_partial(scoped)
    managed = run([spc("a", "db")], "K8S-07")
    assert any("(a managed add-on?)" in m for m in notes(managed, "K8S-07"))
    unreadable = run([driver(["--enable-secret-rotation=$(NOPE)"]), spc("a", "db")], "K8S-07")
    assert not found(unreadable, "K8S-07")
    assert any("cannot be read" in m for m in notes(unreadable, "K8S-07"))
    spc_denied = run([driver([]), spc("a", "db")], "K8S-07",
                     source={"forbidden": frozenset({("secretproviderclasses.secrets-store.csi.x-k8s.io", "*")})})
    assert not found(spc_denied, "K8S-07")
    assert any("SecretProviderClasses could not be listed" in m for m in notes(spc_denied, "K8S-07"))
    assert not notes(run([driver([]), spc("a", "db")], "K8S-03"), "K8S-07")  # only for rules that ran


# ------------------------------------------------------------------------------------------------ K8S-08


def test_k8s08_renewal_off_and_stalled() -> None:
    objects = [controller(["--key-renew-period=0"]), sealing_key("kube-system", "k-old", 700),
               controller(["--key-renew-period", "720h"], ns="sealing", name="sealed-secrets"),
               sealing_key("sealing", "k1", 90), sealing_key("sealing", "k2", 45),
               sealing_key("sealing", "k3", 2, status="compromised")]
    hits = found(run(objects, "K8S-08"), "K8S-08")
    assert sorted(hits) == ["c/kube-system/Deployment/sealed-secrets-controller", "c/sealing/Secret/k2"]
    off = hits["c/kube-system/Deployment/sealed-secrets-controller"].message
    assert "--key-renew-period=0" in off
    assert "700 days old" in off
    stalled = hits["c/sealing/Secret/k2"]
    assert "45 days old" in stalled.message
    assert "renews every 720h" in stalled.message
    for hit in hits.values():
        assert "key renewal is not credential rotation" in hit.message


def test_k8s08_period_plus_a_day_of_slack() -> None:
    def stale(age: float, args: list[str] | None = None) -> bool:
        return bool(found(run([controller(args), sealing_key("kube-system", "k", age)], "K8S-08"), "K8S-08"))

    assert not stale(30.5)
    assert stale(31.5)
    assert not stale(80, ["--key-renew-period=2160h"])
    assert stale(3, ["--key-renew-period=1h"])


def test_k8s08_env_period_and_unreadable_values() -> None:
    env_off = run([controller(env=[{"name": "SEALED_SECRETS_KEY_RENEW_PERIOD", "value": "0"}])], "K8S-08")
    assert "SEALED_SECRETS_KEY_RENEW_PERIOD=0" in next(iter(found(env_off, "K8S-08").values())).message
    days = run([controller(["--key-renew-period=30d"]), sealing_key("kube-system", "k", 400)], "K8S-08")
    assert not found(days, "K8S-08")
    assert any("not a Go duration" in m for m in notes(days, "K8S-08"))


def test_k8s08_keys_without_a_visible_controller() -> None:
    result = run([sealing_key("sealed-secrets", "k", 60)], "K8S-08")
    hit = found(result, "K8S-08")["c/sealed-secrets/Secret/k"]
    assert hit.confidence.value == "medium"
    assert "its Deployment was not seen" in hit.message
    assert any("no Sealed Secrets controller Deployment was found" in m for m in notes(result, "K8S-08"))
    denied = run([controller(["--key-renew-period=0"]), sealing_key("kube-system", "k", 60)], "K8S-08",
                 source={"forbidden": frozenset({("deployments.apps", "*")})})
    assert list(found(denied, "K8S-08")) == ["c/kube-system/Secret/k"]
    assert any("Deployments could not be listed" in m for m in notes(denied, "K8S-08"))
    assert not found(run([sealing_key("x", "k", 10)], "K8S-08"), "K8S-08")


def test_sealing_keys_are_listed_as_metadata_only_and_never_app_secrets() -> None:
    listed: list[tuple[str | None, bool, bool]] = []  # (label selector, metadata only, a key with data came back)

    class Spy(FixtureSource):
        def list(self, resource: Any, version: str, namespace: str | None = None, *, metadata_only: bool = False,
                 field_selector: str | None = None, label_selector: str | None = None) -> Any:
            for obj in super().list(resource, version, namespace, metadata_only=metadata_only,
                                    field_selector=field_selector, label_selector=label_selector):
                if resource.plural == "secrets":
                    key = KEY_LABEL in (obj.get("metadata") or {}).get("labels", {})
                    listed.append((label_selector, metadata_only, key and "data" in obj))
                yield obj

    objects = [controller(), sealing_key("sealed-secrets", "k", 5), sealing_key("kube-system", "k2", 5),
               {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "app", "namespace": "a", "uid": "u-app"}, "data": {"API_TOKEN": b64("x" * 20)}}]
    for values in (True, False):
        listed.clear()
        result = audit([Spy(objects, label="c")], AuditOptions(now=NOW, secret_values=values))
        assert listed
        assert not any(with_data for _, _, with_data in listed)
        assert (KEY_LABEL, True, False) in listed
        assert all(metadata for selector, metadata, _ in listed if selector == KEY_LABEL)
        assert not [f for f in result.findings if f.location.path.endswith("/Secret/k")]  # not K8S-03/K8S-05


# ----------------------------------------------------------------------------------- partial and URIs


def test_cluster_results_carry_partial_and_the_kube_scheme() -> None:
    complete = run([spc("a", "db")], "K8S-07")
    assert complete.uri_scheme == "kube"
    assert complete.partial is False
    assert not is_partial(complete)
    denied = run([spc("a", "db")], "K8S-07", source={"forbidden": frozenset({("secrets", "*")})})
    assert denied.partial is True
    assert is_partial(denied)
    assert any(d.message.startswith("the audit of this cluster is partial") for d in denied.diagnostics)


def test_an_unreachable_cluster_among_several_makes_the_result_partial() -> None:
    class Down(FixtureSource):
        def server_version(self) -> str:
            raise Unavailable("GET /version: timed out")

    result = audit([FixtureSource([spc("a", "db")], label="up"), Down([], label="down")], AuditOptions(now=NOW))
    assert result.partial
    assert any(d.message.startswith("cluster unreachable") and d.level == "error" for d in result.diagnostics)


def test_k8s08_without_the_key_secrets() -> None:
    denied = {"forbidden": frozenset({("secrets", "*")})}
    renewing = run([controller(), sealing_key("kube-system", "k", 90)], "K8S-08", source=denied)
    assert not found(renewing, "K8S-08")
    assert any("key Secrets could not be listed" in m for m in notes(renewing, "K8S-08"))
    off = run([controller(["--key-renew-period=0"])], "K8S-08", source=denied)
    assert list(found(off, "K8S-08")) == ["c/kube-system/Deployment/sealed-secrets-controller"]
    assert not notes(off, "K8S-08")  # renewal is off: the keys' age would add nothing
