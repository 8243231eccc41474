"""Kubernetes rules HCK-03, HCK-04, K8S-01, K8S-09, K8S-10 over small repositories written to disk."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from auditor.model import Repository, Severity
from auditor.rules import Hit, RuleContext
from auditor.rules import kubernetes as k8s
from auditor.scan import ScanOptions, build_repository

from .conftest import FIXTURES

Check = Callable[[Repository, RuleContext], Iterable[Hit]]

SECRET = "q8Vn2LrT5wXz0aBcKj7Hm3Ps"
OPENAI = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9nP2rS5uV8xA1cD4fG7iK0mO3qR6tU9wX2zB5" + "T3BlbkFJ" + \
    "Zy8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7Ba6Zy5Xw4Vu3Ts2Rq1Po0Nm9Lk8Ji7Hg6Fe5Dc4Ba3Zy2Xw1Vu0Ts9Rq8Po7Nm6"


def repo_of(tmp_path: Path, files: dict[str, str]) -> Repository:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    repo, _ = build_repository(tmp_path, ScanOptions(jobs=1))
    return repo


def run(check: Check, repo: Repository, ctx: RuleContext | None = None) -> list[Hit]:
    return list(check(repo, ctx or RuleContext()))


def where(hits: list[Hit]) -> set[tuple[str, int]]:
    return {(h.location.path, h.location.line) for h in hits}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -------------------------------------------------------------------------------------------- HCK-03


def test_secret_objects(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"k8s/secret.yaml": f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: app}}
        data:
          OPENAI_API_KEY: {b64(OPENAI)}
          DB_PASSWORD: {b64("root")}
          username: {b64("admin")}
          ADMIN_PASSWORD: {b64("changeme")}
          DB_HOST: {b64("db.internal")}
        stringData:
          config.json: '{{"auth": "{SECRET}"}}'
          REDIS_PASSWORD: ""
          token: "{{{{ .Values.token }}}}"
        """})
    hits = run(k8s.plaintext_secret_manifest, repo)
    assert where(hits) == {("k8s/secret.yaml", 5), ("k8s/secret.yaml", 6), ("k8s/secret.yaml", 11)}
    by_line = {h.location.line: h for h in hits}
    assert by_line[5].severity is Severity.CRITICAL  # a provider key, found after base64 decoding
    assert by_line[5].value is not None
    assert by_line[5].value.text == OPENAI
    assert by_line[6].severity is None  # the policy's high
    assert all(OPENAI not in h.message and SECRET not in h.message for h in hits)


def test_secrets_that_are_not_plaintext(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "sops.yaml": """\
            apiVersion: v1
            kind: Secret
            metadata: {name: app}
            stringData:
              API_TOKEN: ENC[AES256_GCM,data:T0y1NkS8d3Qv,iv:0vF1aB2cD3eF4gH5,tag:qW2eR4tY6uI8oP0a,type:str]
              API_TOKEN_unencrypted: q8Vn2LrT5wXz0aBcKj7Hm3Ps  # left in clear by the file's sops rules
            sops:
              mac: ENC[AES256_GCM,data:n3Vb8Qw2,iv:Qa1Ws2Ed3Rf4Tg5Y,tag:Zx9Cv8Bn7Mq6Wr5E,type:str]
              version: 3.9.4
            """,
        "sealed.yaml": """\
            apiVersion: bitnami.com/v1alpha1
            kind: SealedSecret
            metadata: {name: app}
            spec:
              encryptedData:
                API_TOKEN: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq2tSUvTbIBFlBzdV6D3hxv9m4FjzF5RkzNl5EaBDs
            """,
        "sa.yaml": f"""\
            apiVersion: v1
            kind: Secret
            metadata: {{name: ci-token, annotations: {{kubernetes.io/service-account.name: ci}}}}
            type: kubernetes.io/service-account-token
            data:
              token: {b64(SECRET)}
            """,
    })
    assert run(k8s.plaintext_secret_manifest, repo) == []


def test_tls_private_key_is_high_and_certificate_is_not_reported(tmp_path: Path) -> None:
    key = "-----BEGIN PRIVATE KEY-----\n" + (SECRET * 3) + "\n-----END PRIVATE KEY-----\n"
    cert = "-----BEGIN CERTIFICATE-----\n" + (SECRET * 3) + "\n-----END CERTIFICATE-----\n"
    repo = repo_of(tmp_path, {"tls.yaml": f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: tls}}
        type: kubernetes.io/tls
        data:
          tls.crt: {b64(cert)}
          tls.key: {b64(key)}
        """})
    hits = run(k8s.plaintext_secret_manifest, repo)
    assert [(h.location.line, h.severity) for h in hits] == [(7, None)]


def test_rendered_helm_output_on_stdin() -> None:
    from auditor.config import Config
    from auditor.scan import ScanOptions as Options
    from auditor.scan import scan_text

    rendered = f"""---
# Source: shop/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: release-shop
stringData:
  OPENAI_API_KEY: "{OPENAI}"
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: release-shop
spec:
  template:
    spec:
      containers:
        - name: shop
          volumeMounts: [{{name: s, mountPath: /secrets}}]
      volumes:
        - name: s
          secret: {{secretName: release-shop}}
"""
    result = scan_text("manifest.yaml", rendered.encode(), Options(config=Config(select=("HCK-03",))))
    assert [(f.rule_id, f.location.line, f.severity) for f in result.findings] == [("HCK-03", 8, Severity.CRITICAL)]


def test_kustomize_generator_sources(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "deploy/kustomization.yaml": f"""\
            secretGenerator:
              - name: app
                literals:
                  - API_TOKEN={SECRET}
                  - LOG_LEVEL=info
                envs:
                  - committed.env
                  - ignored.env
                  - template.env.example
                  - missing.env
                files:
                  - ca.crt
            """,
        "deploy/committed.env": f"DB_PASSWORD={SECRET}\n",
        "deploy/ignored.env": f"DB_PASSWORD={SECRET}\n",
        "deploy/template.env.example": "DB_PASSWORD=\n",
        "deploy/ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        ".gitignore": "deploy/ignored.env\n",
    })
    hits = run(k8s.plaintext_secret_manifest, repo)
    assert where(hits) == {("deploy/kustomization.yaml", 4), ("deploy/kustomization.yaml", 7)}


def test_kustomize_env_file_with_only_placeholders(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "kustomization.yaml": "secretGenerator:\n  - name: app\n    envs: [app.env]\n",
        "app.env": "DB_PASSWORD=changeme\nAPI_TOKEN=\n",
    })
    assert run(k8s.plaintext_secret_manifest, repo) == []


def test_helm_values(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"chart/values-prod.yaml": f"""\
        openai:
          apiKey: {OPENAI}
        postgresql:
          auth:
            password: "R9#kLm2!vQx"
            existingSecret: db
            secretKeys:
              userPasswordKey: password
        redis:
          password: redis
        grafana:
          adminPassword: "{{{{ .Values.global.password }}}}"
        """})
    hits = run(k8s.plaintext_secret_manifest, repo)
    assert [(h.location.line, h.severity) for h in hits] == [(2, Severity.CRITICAL), (5, None)]


# -------------------------------------------------------------------------------------------- HCK-04


@pytest.mark.parametrize(("data", "fires"), [
    ("password: supersecret", True),  # Trivy KSV-0109 bad
    ("config: REDIS_PASSWORD=abcd1234", True),
    ("config: REDIS_PASSWORD=", False),  # Trivy KSV-0109 good
    ("env: REDIS_PASSWORD=${REDIS_PASSWORD}", False),
    (f"LOG_SINK: {OPENAI}", True),  # a provider key under any name
    ("password_encryption: scram-sha-256", False),
    ("auth-tls-secret: ingress/shop-tls", False),
    ("AUTH_ENABLED: 'true'", False),
    ("TOKEN_TTL: '3600'", False),
    ("DB_PASSWORD_FILE: /etc/secrets/db", False),
    ("SMTP_PASSWORD: changeme", False),
    ("OAUTH_TOKEN_URL: https://auth.example.org/token", False),
    ("DATABASE_PASSWORD: 'postgres://shop:Xk82pqLw@db:5432/shop'", True),
])
def test_configmap_values(tmp_path: Path, data: str, fires: bool) -> None:
    repo = repo_of(tmp_path, {"cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  {data}\n"})
    hits = run(k8s.secret_in_configmap, repo)
    assert bool(hits) is fires
    if hits:
        assert hits[0].location.line == 5


def test_configmap_file_values_report_their_own_line(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "cm.yaml": f"""\
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: c}}
            data:
              settings.yaml: |
                model: gpt-4o
                openai:
                  key: {OPENAI}
              app.env: |
                HOST=db
                DB_PASSWORD={SECRET}
            binaryData:
              blob: {b64("token=" + OPENAI)}
            """,
        "kustomization.yaml": f"configMapGenerator:\n  - name: c\n    literals: [API_TOKEN={SECRET}, MODE=fast]\n",
    })
    hits = run(k8s.secret_in_configmap, repo)
    assert where(hits) == {("cm.yaml", 8), ("cm.yaml", 11), ("cm.yaml", 13), ("kustomization.yaml", 3)}
    assert {h.location.line: h.severity for h in hits if h.location.path == "cm.yaml"} == {
        8: Severity.CRITICAL, 11: None, 13: Severity.CRITICAL}


# -------------------------------------------------------------------------------------------- K8S-01


def test_secret_env_refs(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"pod.yaml": """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          initContainers:
            - name: init
              envFrom:
                - secretRef: {name: all}
                - configMapRef: {name: cfg}
          containers:
            - name: app
              env:
                - name: TOKEN
                  valueFrom:
                    secretKeyRef: {name: s, key: token}
                - name: MODE
                  valueFrom:
                    configMapKeyRef: {name: cfg, key: mode}
              volumeMounts: [{name: files, mountPath: /secrets}]
          volumes:
            - name: files
              secret: {secretName: s}
        """})
    hits = run(k8s.secret_consumed_as_env, repo)
    assert [(h.location.line, h.location.column, h.name) for h in hits] == [(8, 11, "all"), (15, 13, "TOKEN")]
    assert "initContainer init of Pod/p" in hits[0].message


# -------------------------------------------------------------------------------------------- K8S-09


def test_service_account_token_secret_in_json(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {"sa.json": """\
        {
          "apiVersion": "v1",
          "kind": "Secret",
          "metadata": {"name": "t", "annotations": {"kubernetes.io/service-account.name": "ci"}},
          "type": "kubernetes.io/service-account-token"
        }
        """, "opaque.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: o}\ntype: Opaque\n"})
    hits = run(k8s.service_account_token_secret, repo)
    assert [(h.location.path, h.location.line) for h in hits] == [("sa.json", 5)]
    assert "service account ci" in hits[0].message


# -------------------------------------------------------------------------------------------- K8S-10


def role(kind: str, name: str, verbs: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: {kind}
        metadata: {{name: {name}, namespace: shop}}
        rules:
          - apiGroups: [""]
            resources: [secrets]
            verbs: {verbs}
            {extra}
        """)


def binding(kind: str, role_ref: str, subject: str, namespace: str = "shop") -> str:
    role_kind, _, role_name = role_ref.partition("/")
    subject_kind, _, subject_name = subject.partition("/")
    return textwrap.dedent(f"""\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: {kind}
        metadata: {{name: b, namespace: {namespace}}}
        roleRef: {{kind: {role_kind}, name: "{role_name}"}}
        subjects: [{{kind: {subject_kind}, name: "{subject_name}", namespace: shop}}]
        """)


@pytest.mark.parametrize(("role_yaml", "binding_yaml", "fires"), [
    (role("ClusterRole", "r", "[get, list]"), binding("ClusterRoleBinding", "ClusterRole/r", "ServiceAccount/api"),
     True),
    (role("Role", "r", "[watch]"), binding("RoleBinding", "Role/r", "ServiceAccount/default"), True),
    (role("ClusterRole", "r", "['*']"), binding("RoleBinding", "ClusterRole/r", "Group/system:serviceaccounts:shop"),
     True),
    # scoped: a dedicated service account in one namespace
    (role("Role", "r", "[get]"), binding("RoleBinding", "Role/r", "ServiceAccount/api"), False),
    (role("ClusterRole", "r", "[get]", "resourceNames: [openai]"),
     binding("ClusterRoleBinding", "ClusterRole/r", "ServiceAccount/default"), False),
    (role("ClusterRole", "r", "[create, delete]"), binding("ClusterRoleBinding", "ClusterRole/r", "ServiceAccount/api"),
     False),
    # people, not workloads
    (role("ClusterRole", "r", "[get, list]"), binding("ClusterRoleBinding", "ClusterRole/r", "Group/sre"), False),
    # a Role of another namespace than the RoleBinding
    (role("Role", "r", "[get]"), binding("RoleBinding", "Role/r", "ServiceAccount/default", namespace="other"), False),
    # exempt roles
    (role("ClusterRole", "'system:controller:x'", "[get, list]"),
     binding("ClusterRoleBinding", "ClusterRole/system:controller:x", "ServiceAccount/x"), False),
    (role("ClusterRole", "external-secrets-controller", "[get, list, watch]"),
     binding("ClusterRoleBinding", "ClusterRole/external-secrets-controller", "ServiceAccount/external-secrets"),
     False),
])
def test_broad_secret_read_access(tmp_path: Path, role_yaml: str, binding_yaml: str, fires: bool) -> None:
    repo = repo_of(tmp_path, {"rbac/role.yaml": role_yaml, "rbac/binding.yaml": binding_yaml})
    hits = run(k8s.broad_secret_read_access, repo)
    assert where(hits) == ({("rbac/role.yaml", 6)} if fires else set())


def test_builtin_role_bound_cluster_wide_to_a_service_account(tmp_path: Path) -> None:
    repo = repo_of(tmp_path, {
        "admin.yaml": binding("ClusterRoleBinding", "ClusterRole/cluster-admin", "ServiceAccount/deployer"),
        "view.yaml": binding("ClusterRoleBinding", "ClusterRole/view", "ServiceAccount/deployer"),
    })
    assert where(run(k8s.broad_secret_read_access, repo)) == {("admin.yaml", 4)}


# ---------------------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("rule_id", "check"), [
    ("HCK-03", k8s.plaintext_secret_manifest), ("HCK-04", k8s.secret_in_configmap),
    ("K8S-01", k8s.secret_consumed_as_env), ("K8S-09", k8s.service_account_token_secret),
    ("K8S-10", k8s.broad_secret_read_access),
])
def test_fixture_messages_never_quote_values(rule_id: str, check: Check, copy_tree: Callable[[Path], Path]) -> None:
    tree = copy_tree(FIXTURES / "rules" / rule_id / "bad")
    repo, _ = build_repository(tree, ScanOptions(jobs=1))
    hits = run(check, repo)
    assert hits
    # literal values: a reference's text is a name (secretKeyRef, value_from), which messages may quote
    values = {s.value.text for d in repo.documents for s in d.sites if s.value is not None and s.value.is_literal}
    values |= {k.value.text for d in repo.documents for k in d.keys}
    for hit in hits:
        assert not any(len(v) >= 12 and v in hit.message for v in values), hit.message
