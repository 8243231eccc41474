"""The live-cluster audit over fixture sources: model, ownership, permissions, rules, fixtures and secrecy."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cluster.audit import AuditOptions, audit, is_partial
from auditor.cluster.cli import cluster as cluster_command
from auditor.cluster.collect import CollectOptions, collect
from auditor.cluster.fixtures import fired_lines
from auditor.cluster.model import clean, data_changed, key_facts, managed_keys, namespace_environment
from auditor.cluster.source import FixtureSource
from auditor.config import Config
from auditor.model import Repository, ValueKind
from auditor.policies import load_policies
from auditor.reporters import render
from auditor.rules import RuleContext
from auditor.rules.cluster import (
    no_secret_store,
    parse_duration,
    secret_age,
    shared_value_across_environments,
    unmanaged_app_secret,
)

from ..conftest import FIXTURES
from ..test_rule_fixtures import expected_lines

CLUSTER_ONLY = [p.id for p in load_policies() if set(p.targets) == {"cluster"}]
OPENAI = ("sk-proj-3RZJzzzzgEOzdmenCkhvMdgaKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjgVvT3BlbkFJVqE1SkHbn88HxjSI6bWHtP3fS2qHx6"
          "kwXoIIXGvOoNZYW2mZp0zVZomHFw")
PASSWORD = "Tq7-vLm29xKpR4sW"
NOW = datetime(2025, 9, 1, tzinfo=UTC)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(ns: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    secret_type = meta.pop("type", "Opaque")
    return {"apiVersion": "v1", "kind": "Secret", "type": secret_type,
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", **meta},
            "data": {k: b64(v) for k, v in data.items()}}


def pod(ns: str, name: str, env: list[dict[str, Any]], owner: dict[str, Any] | None = None,
        kind: str = "Pod", **annotations: str) -> dict[str, Any]:
    spec = {"containers": [{"name": "app", "image": "app:1", "env": env}]}
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}"}
    if owner:
        meta["ownerReferences"] = [{**owner, "controller": True}]
    if annotations:
        meta["annotations"] = annotations
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    api = "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"annotations": annotations},
                                                                             "spec": spec}}}


def run(objects: list[dict[str, Any]], **options: Any) -> Any:
    source = FixtureSource(objects, label=options.pop("label", "test"), **options.pop("source", {}))
    return audit([source], AuditOptions(now=options.pop("now", NOW), **options))


def by_rule(result: Any, rule: str) -> list[Any]:
    return [f for f in result.findings if f.rule_id == rule]


# -------------------------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("rule_id", CLUSTER_ONLY)
@pytest.mark.parametrize("kind", ["bad", "good"])
def test_cluster_rule_fixtures(rule_id: str, kind: str) -> None:
    """What tests/test_rule_fixtures.py does for repository rules, through the live audit's path."""
    tree = FIXTURES / "rules" / rule_id / kind
    assert tree.is_dir(), f"missing fixtures/rules/{rule_id}/{kind}"
    expected = expected_lines(tree, rule_id) if kind == "bad" else set()
    if kind == "bad":
        assert expected, f"{rule_id}: no keyaudit-expect marker in bad/"
    assert fired_lines(tree, rule_id) == expected


def test_fired_lines_rejects_findings_outside_the_fixture(tmp_path: Path) -> None:
    (tmp_path / "objects.yaml").write_text(json.dumps(pod("shop-prod", "api-1", [{"name": "API_TOKEN",
                                                                                   "value": PASSWORD}],
                                                          {"kind": "ReplicaSet", "name": "api-1", "uid": "x"})))
    with pytest.raises(AssertionError, match="not an object of"):
        fired_lines(tmp_path, "K8S-02")


# ------------------------------------------------------------------------------------------- model


def test_parse_duration() -> None:
    assert parse_duration("0") == timedelta(0)
    assert parse_duration("0s") == timedelta(0)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("500ms") == timedelta(milliseconds=500)
    assert parse_duration("1d") is None
    assert parse_duration("h") is None
    assert parse_duration(None) is None


def test_namespace_environment_precedence() -> None:
    patterns = {"*-live": "prod", "eu/*": "staging"}
    assert namespace_environment("shop-dev", {"environment": "production"}, "eu", patterns, ("environment",)) == "prod"
    assert namespace_environment("shop-live", {}, "eu", patterns, ("environment",)) == "prod"
    assert namespace_environment("shop", {}, "eu", patterns, ("environment",)) == "staging"  # context/ns glob
    assert namespace_environment("shop-test", {}, "x", {}, ()) == "test"
    assert namespace_environment("shop", {}, "prod-eu-1", {}, ()) == "prod"  # from the context name
    assert namespace_environment("shop", {}, "admin", {}, ()) is None
    assert namespace_environment("x", {"environment": "Blue"}, "c", {}, ("environment",)) == "blue"


def test_data_changed_takes_the_newest_entry_touching_data() -> None:
    fields = [
        {"time": "2025-01-01T00:00:00Z", "fieldsV1": {"f:data": {"f:A": {}}}},
        {"time": "2025-03-01T00:00:00Z", "fieldsV1": {"f:stringData": {"f:B": {}}}},
        {"time": "2025-08-01T00:00:00Z", "fieldsV1": {"f:metadata": {"f:labels": {}}}},
        {"time": "bogus", "fieldsV1": {"f:data": {}}},
        "not a mapping",
    ]
    assert data_changed(fields) == datetime(2025, 3, 1, tzinfo=UTC)
    assert data_changed(None) is None
    assert managed_keys(fields) == ["A", "B"]


def test_key_facts_keep_what_a_value_is_never_the_value() -> None:
    facts = key_facts("OPENAI_API_KEY", OPENAI, b"k" * 32)
    assert facts.detector == "OpenAI API key"
    assert facts.secret_value
    assert facts.kind is ValueKind.LITERAL
    assert facts.fingerprint
    assert facts.fingerprint not in OPENAI
    assert OPENAI not in repr(facts)
    assert OPENAI[:16] not in repr(facts)
    assert key_facts("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", b"k").public
    assert key_facts("x", "ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]", b"k").kind is ValueKind.REFERENCE
    assert key_facts("x", "", b"k").kind is ValueKind.EMPTY


def test_clean_drops_values_status_and_last_applied() -> None:
    applied = json.dumps({"data": {"OPENAI_API_KEY": b64(OPENAI)}})
    obj = secret("a", "s", {"OPENAI_API_KEY": OPENAI},
                 annotations={"kubectl.kubernetes.io/last-applied-configuration": applied, "team": "x"},
                 managedFields=[{"time": "2025-01-01T00:00:00Z"}])
    obj["status"] = {"x": 1}
    out = clean(obj)
    assert "data" not in out
    assert "status" not in out
    assert out["metadata"]["annotations"] == {"team": "x"}
    assert "managedFields" not in out["metadata"]
    assert "data" in obj  # the input is not modified


# --------------------------------------------------------------------------------------------- ownership


def test_literal_env_reported_once_per_controller() -> None:
    env = [{"name": "OPENAI_API_KEY", "value": OPENAI}]
    deploy = pod("shop", "api", env, kind="Deployment")
    rs = pod("shop", "api-5d9", env, {"kind": "Deployment", "name": "api", "uid": "uid-shop-api"}, kind="ReplicaSet")
    pods = [pod("shop", f"api-5d9-{i}", env, {"kind": "ReplicaSet", "name": "api-5d9", "uid": "uid-shop-api-5d9"})
            for i in range(5)]
    # pods of an operator's custom resource that the audit does not list: one report per owner, at the owner
    custom = [pod("shop", f"worker-{i}", env, {"kind": "Workflow", "name": "etl", "uid": "uid-wf"}) for i in range(3)]
    result = run([deploy, rs, *pods, *custom])
    assert sorted(f.location.path for f in by_rule(result, "K8S-02")) == [
        "test/shop/Deployment/api", "test/shop/Workflow/etl"]
    assert result.stats.skipped_ignored == 1 + 5 + 2  # the ReplicaSet, its pods, the other Workflow pods
    assert all(f.location.line == 1 for f in result.findings)


# ------------------------------------------------------------------------------------------- permissions


def test_forbidden_cluster_wide_falls_back_per_namespace() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "uid": "ua"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b", "uid": "ub"}},
        secret("a", "openai", {"OPENAI_API_KEY": OPENAI}),
        secret("b", "openai", {"OPENAI_API_KEY": OPENAI}),
    ]
    result = run(objects, source={"forbidden": frozenset({("secrets", None), ("secrets", "b")})})
    assert [f.location.path for f in by_rule(result, "K8S-03")] == ["test/a/Secret/openai"]
    messages = [d.message for d in result.diagnostics]
    assert any('cannot list secrets in namespace b; grant verbs: ["list"] on resources: ["secrets"]' in m
               for m in messages), messages
    assert is_partial(result)


def test_unavailable_resource_is_an_error_and_the_rest_goes_on() -> None:
    objects = [secret("a", "openai", {"OPENAI_API_KEY": OPENAI}),
               pod("a", "dbg", [{"name": "API_TOKEN", "value": PASSWORD}])]
    result = run(objects, source={"unavailable": frozenset({"pods"})})
    errors = [d for d in result.diagnostics if d.level == "error"]
    assert len(errors) == 1
    assert "listing pods" in errors[0].message
    assert "timed out" in errors[0].message
    assert by_rule(result, "K8S-03")
    assert not by_rule(result, "K8S-02")
    assert is_partial(result)


def test_everything_forbidden_gives_diagnostics_not_a_crash() -> None:
    from auditor.cluster import resources

    denied = frozenset((r.display, "*") for r in resources.ALL)
    result = run([secret("a", "openai", {"OPENAI_API_KEY": OPENAI})], source={"forbidden": denied})
    assert result.findings == []
    assert sum("forbidden" in d.message for d in result.diagnostics) >= 10
    assert is_partial(result)


def test_k8s04_makes_no_claim_when_discovery_fails() -> None:
    class NoDiscovery(FixtureSource):
        def api_groups(self) -> dict[str, tuple[str, ...]]:
            from auditor.cluster.source import Unavailable

            raise Unavailable("GET /apis: timed out")

    source = NoDiscovery([secret("a", "openai", {"OPENAI_API_KEY": OPENAI})], label="c")
    result = audit([source], AuditOptions(now=NOW))
    assert by_rule(result, "K8S-03")
    assert not by_rule(result, "K8S-04")
    assert any("discovery" in d.message for d in result.diagnostics)


def test_k8s04_confidence_drops_when_webhooks_cannot_be_listed() -> None:
    objects = [secret("a", "openai", {"OPENAI_API_KEY": OPENAI})]
    seen = by_rule(run(objects), "K8S-04")
    unseen = by_rule(run(objects, source={"forbidden": frozenset({("mutatingwebhookconfigurations."
                                                                   "admissionregistration.k8s.io", None)})}), "K8S-04")
    assert seen[0].confidence.value == "high"
    assert unseen[0].confidence.value == "medium"
    assert "judged from pod annotations only" in unseen[0].message


def test_vault_injection_counts_as_a_store() -> None:
    objects = [secret("a", "openai", {"OPENAI_API_KEY": OPENAI}),
               pod("a", "api", [], **{"vault.hashicorp.com/agent-inject": "true"})]
    assert not by_rule(run(objects), "K8S-04")


# ------------------------------------------------------------------------------------- metadata-only audit


def test_metadata_only_audit_never_requests_values() -> None:
    calls: list[tuple[str, bool, str | None]] = []

    class Spy(FixtureSource):
        def list(self, resource: Any, version: str, namespace: str | None = None, *, metadata_only: bool = False,
                 field_selector: str | None = None, label_selector: str | None = None) -> Any:
            calls.append((resource.plural, metadata_only, field_selector))
            return super().list(resource, version, namespace, metadata_only=metadata_only,
                                field_selector=field_selector, label_selector=label_selector)

    managed = [{"time": "2025-01-01T00:00:00Z", "fieldsV1": {"f:data": {"f:OPENAI_API_KEY": {}}}}]
    objects = [
        secret("shop-dev", "openai", {"OPENAI_API_KEY": OPENAI}, managedFields=managed),
        secret("shop-prod", "openai", {"OPENAI_API_KEY": OPENAI}, managedFields=managed),
        secret("shop-prod", "signing", {"value": PASSWORD},
               managedFields=[{"time": "2025-01-01T00:00:00Z", "fieldsV1": {"f:data": {"f:value": {}}}}]),
        secret("shop-prod", "default-token-x1", {"token": PASSWORD}, type="kubernetes.io/service-account-token",
               managedFields=[{"time": "2025-01-01T00:00:00Z", "fieldsV1": {"f:data": {"f:token": {}}}}]),
    ]
    source = Spy(objects, label="c")
    result = audit([source], AuditOptions(now=NOW, secret_values=False))
    secret_calls = [c for c in calls if c[0] == "secrets"]
    assert secret_calls
    assert all(metadata_only for _, metadata_only, _ in secret_calls)
    assert ("secrets", True, "type=kubernetes.io/service-account-token") in secret_calls
    # by name only: OPENAI_API_KEY counts, `value` does not; the typed token is not an app secret; no ENV-04
    assert sorted(f.location.path for f in by_rule(result, "K8S-03")) == ["c/shop-dev/Secret/openai",
                                                                         "c/shop-prod/Secret/openai"]
    assert not by_rule(result, "ENV-04")
    assert {f.location.path for f in by_rule(result, "K8S-05")} == {"c/shop-dev/Secret/openai",
                                                                   "c/shop-prod/Secret/openai"}
    assert any("metadata-only" in d.message for d in result.diagnostics)


# ------------------------------------------------------------------------------------------------ rules


def test_env04_compares_across_clusters() -> None:
    dev = FixtureSource([secret("shop", "openai", {"OPENAI_API_KEY": OPENAI})], label="dev-eu")
    prod = FixtureSource([secret("shop", "openai", {"OPENAI_API_KEY": OPENAI})], label="prod-eu")
    result = audit([dev, prod], AuditOptions(now=NOW))
    found = by_rule(result, "ENV-04")
    assert sorted(f.location.path for f in found) == ["dev-eu/shop/Secret/openai", "prod-eu/shop/Secret/openai"]
    assert "prod-eu:shop/openai" in next(f.message for f in found if f.location.path.startswith("dev-eu"))
    assert all(f.severity.value == "critical" for f in found)


def test_rotation_thresholds_come_from_the_config() -> None:
    created = (NOW - timedelta(days=40)).isoformat()
    objects = [secret("a", "smtp", {"SMTP_PASSWORD": PASSWORD}, creationTimestamp=created)]
    assert not by_rule(run(objects), "K8S-05")
    strict = Config(rotation_warn_days=30, rotation_fail_days=35)
    found = by_rule(run(objects, config=strict), "K8S-05")
    assert len(found) == 1
    assert found[0].severity.value == "high"
    assert "35-day" in found[0].message


def test_store_managed_provenance_markers() -> None:
    value = {"API_TOKEN": PASSWORD}
    markers = [
        {"labels": {"reconcile.external-secrets.io/managed": "true"}},
        {"labels": {"reconcile.external-secrets.io/created-by": "x"}},
        {"annotations": {"reconcile.external-secrets.io/data-hash": "x"}},
        {"labels": {"secrets-store.csi.k8s.io/managed": "true"}},
        {"labels": {"app.kubernetes.io/managed-by": "hashicorp-vso"}},
        {"annotations": {"sealedsecrets.bitnami.com/skip-set-owner-references": "true"}},
        {"ownerReferences": [{"kind": "VaultStaticSecret", "name": "x", "uid": "u", "controller": True}]},
    ]
    objects = [secret("a", f"s{i}", value, **m) for i, m in enumerate(markers)]
    flux = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "uid": "uf"},
            "spec": {"decryption": {"provider": "sops"}}}
    objects += [flux, secret("a", "flux", value, labels={"kustomize.toolkit.fluxcd.io/name": "apps",
                                                        "kustomize.toolkit.fluxcd.io/namespace": "flux-system"})]
    objects.append(secret("a", "sops", {"API_TOKEN": "ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]"}))
    objects.append(secret("a", "unmanaged", value))
    assert [f.location.path for f in by_rule(run(objects), "K8S-03")] == ["test/a/Secret/unmanaged"]


def test_external_secret_defaults_and_on_change() -> None:
    def es(name: str, spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
        obj = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
               "metadata": {"name": name, "namespace": "a", "uid": f"u-{name}"}, "spec": spec}
        if status is not None:
            obj["status"] = status
        return obj

    fresh = {"refreshTime": (NOW - timedelta(minutes=90)).isoformat(),
             "conditions": [{"type": "Ready", "status": "True"}]}
    stale = {"refreshTime": (NOW - timedelta(hours=3)).isoformat(),
             "conditions": [{"type": "Ready", "status": "True"}]}
    found = by_rule(run([es("default-fresh", {}, fresh), es("default-stale", {}, stale),
                         es("onchange", {"refreshPolicy": "OnChange"}, fresh), es("zero", {"refreshInterval": "0s"})]),
                    "K8S-06")
    got = {(f.location.path.rsplit("/", 1)[1], f.severity.value) for f in found}
    assert got == {("default-stale", "medium"), ("onchange", "low"), ("zero", "medium")}


def test_cluster_rules_yield_nothing_for_a_repository() -> None:
    repo = Repository(root=".", documents=[], files=frozenset())
    ctx = RuleContext()
    for check in (unmanaged_app_secret, no_secret_store, secret_age, shared_value_across_environments):
        assert list(check(repo, ctx)) == []


def test_reused_manifest_rules_read_live_objects() -> None:
    """K8S-01, K8S-09 and K8S-10 (written for manifests) on the documents of live objects."""
    reused = ("K8S-01", "K8S-09", "K8S-10")
    policies = [replace(p, targets=(*p.targets, "cluster")) if p.id in reused else p for p in load_policies()]
    rbac = "rbac.authorization.k8s.io/v1"
    objects = [
        pod("shop", "api", [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
            kind="Deployment"),
        secret("shop", "ci-token", {"token": "x"}, type="kubernetes.io/service-account-token",
               annotations={"kubernetes.io/service-account.name": "ci"}),
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "reader", "uid": "r"},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": "reader", "uid": "rb"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]},
    ]
    result = run(objects, policies=policies, config=Config(select=reused))
    assert sorted((f.rule_id, f.location.path, f.location.line) for f in result.findings) == [
        ("K8S-01", "test/shop/Deployment/api", 1),
        ("K8S-09", "test/shop/Secret/ci-token", 1),
        ("K8S-10", "test/ClusterRole/reader", 1),
    ]


def test_shipped_manifest_rules_target_clusters() -> None:
    """K8S-01, K8S-09 and K8S-10 must list `cluster` in their targets for `keyaudit cluster` to run them."""
    missing = [p.id for p in load_policies() if p.id in ("K8S-01", "K8S-09", "K8S-10") and "cluster" not in p.targets]
    assert not missing, f"add `cluster` to targets in policies/{{{','.join(missing)}}}.yaml"


# ------------------------------------------------------------------------------------------------ secrecy


def test_no_secret_value_reaches_any_report() -> None:
    values = (OPENAI, PASSWORD)
    objects = [
        secret("shop-dev", "openai", {"OPENAI_API_KEY": OPENAI, "DB_PASSWORD": PASSWORD},
               annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": OPENAI})}),
        secret("shop-prod", "openai", {"OPENAI_API_KEY": OPENAI, "DB_PASSWORD": PASSWORD}),
        pod("shop-prod", "api", [{"name": "OPENAI_API_KEY", "value": OPENAI}], kind="Deployment"),
    ]
    result = run(objects)
    assert {f.rule_id for f in result.findings} >= {"K8S-02", "K8S-03", "ENV-04"}
    for fmt in ("console", "json", "sarif", "junit", "markdown", "github"):
        text = render(fmt, result, color=False, policies=list(load_policies()), show_suppressed=True)
        for value in values:
            for start in range(0, len(value) - 15, 8):
                assert value[start:start + 16] not in text, f"{fmt} leaks part of a secret value"


def test_collect_drops_values_after_classifying() -> None:
    snapshot = collect(FixtureSource([secret("a", "openai", {"OPENAI_API_KEY": OPENAI})], label="c"),
                       CollectOptions(now=NOW))
    dump = repr(snapshot.facts) + "".join(repr(d.sites) + repr(d.data) for d in snapshot.documents)
    assert OPENAI[8:40] not in dump
    assert b64(OPENAI)[:24] not in dump


# ---------------------------------------------------------------------------------------------------- CLI


def test_cli_from_file_reports_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    tree = str(FIXTURES / "rules" / "K8S-03" / "bad")
    result = runner.invoke(cluster_command, ["--from-file", tree, "-f", "json", "--now", "2025-09-01T00:00:00Z"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert {f["rule_id"] for f in report["findings"]} >= {"K8S-03"}
    assert runner.invoke(cluster_command, ["--from-file", tree, "--fail-on", "none"]).exit_code == 0
    baseline = tmp_path / "baseline.json"
    assert runner.invoke(cluster_command, ["--from-file", tree, "--write-baseline", str(baseline)]).exit_code == 0
    again = runner.invoke(cluster_command, ["--from-file", tree, "--baseline", str(baseline), "-f", "json"])
    assert again.exit_code == 0
    assert json.loads(again.stdout)["summary"]["total"] == 0
    good = runner.invoke(cluster_command, ["--from-file", str(FIXTURES / "rules" / "K8S-03" / "good"),
                                           "--select", "K8S-03"])
    assert good.exit_code == 0, good.output


def test_command_is_registered() -> None:
    from auditor.cli import main

    assert "cluster" in main.commands, "register it: main.add_command(cluster) in auditor/cli.py"


def test_cli_rejects_bad_arguments() -> None:
    runner = CliRunner()
    assert runner.invoke(cluster_command, ["--now", "yesterday", "--from-file", "."]).exit_code == 2
    assert runner.invoke(cluster_command, ["--select", "NOPE-99", "--from-file", "."]).exit_code != 0
    out = runner.invoke(cluster_command, ["--select", "HCK-03", "--from-file", str(FIXTURES / "rules" / "K8S-03")])
    assert "HCK-03 does not run on live clusters" in out.stderr
    missing = runner.invoke(cluster_command, ["--kubeconfig", "/nonexistent/kubeconfig"])
    assert missing.exit_code != 0
    assert "no kubeconfig" in missing.output


# ------------------------------------------------------------------------------------------- robustness


def test_malformed_objects_never_crash_the_audit() -> None:
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Secret"},
        {"apiVersion": "v1", "kind": "Secret", "metadata": None, "data": "x"},
        {"apiVersion": "v1", "kind": "Secret", "data": {"k": None, "OPENAI_API_KEY": 12},
         "metadata": {"name": "a", "namespace": "n", "managedFields": "x", "ownerReferences": "y", "labels": [1]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n",
                                                        "ownerReferences": [{"kind": None}]}, "spec": [1, 2]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
         "spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "T", "value": 1}, {}]}]}}}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "e", "namespace": "n"},
         "spec": {"refreshInterval": 5, "target": "x"}, "status": {"conditions": "bad", "refreshTime": 7}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "labels": {"env": None}}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "w"}, "webhooks": [{"clientConfig": None}, "x"]},
    ]
    result = run(objects)
    assert not [d for d in result.diagnostics if d.level == "error"]


def test_context_names_become_path_segments() -> None:
    from auditor.cluster.source import safe_label

    eks = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
    assert safe_label(eks) == "arn_aws_eks_eu-west-1_123456789012_cluster_prod"
    assert safe_label("kind-shop") == "kind-shop"
    assert safe_label("///") == "cluster"
