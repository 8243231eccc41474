"""Kubernetes manifests, Kustomize kustomizations and Helm values files: sites, lines and the recorded model."""

from __future__ import annotations

import base64
import textwrap

import pytest

from auditor.model import Diagnostic, DocKind, Document, RefKind, Site, SiteKind, ValueKind
from auditor.parsers import kind_of, parse
from auditor.parsers.kubernetes import HelmValues, KubeData, is_secret_reference_name
from auditor.parsers.kustomize import Kustomization

SECRET = "q8Vn2LrT5wXz0aBcKj7Hm3Ps"  # a random-looking literal; never expected in a message


def load(path: str, text: str, environment: str | None = None) -> Document:
    doc = Document(path, kind_of(path), environment)
    parse(doc, textwrap.dedent(text))
    return doc


def site(doc: Document, name: str, kind: SiteKind | None = None) -> Site:
    found = [s for s in doc.sites if s.name == name and (kind is None or s.kind is kind)]
    assert len(found) == 1, (name, [s.name for s in doc.sites])
    return found[0]


def kube(doc: Document) -> KubeData:
    assert isinstance(doc.data, KubeData)
    return doc.data


# ------------------------------------------------------------------------------------------- kinds


@pytest.mark.parametrize(("path", "kind"), [
    ("k8s/deployment.yaml", DocKind.KUBERNETES),
    ("manifests/all.yml", DocKind.KUBERNETES),
    ("export/secret.json", DocKind.KUBERNETES),
    ("manifest.yaml", DocKind.KUBERNETES),  # `helm template ... | keyaudit scan - --stdin-name manifest.yaml`
    ("deploy/overlays/prod/kustomization.yaml", DocKind.KUSTOMIZATION),
    ("base/Kustomization", DocKind.KUSTOMIZATION),
    ("chart/values.yaml", DocKind.HELM_VALUES),
    ("chart/values-prod.yaml", DocKind.HELM_VALUES),
    ("env/prod.values.yaml", DocKind.HELM_VALUES),
    (".github/workflows/ci.yml", DocKind.TEXT),  # CI configs belong to the CI parsers
    (".gitlab-ci.yml", DocKind.TEXT),
    ("bitbucket-pipelines.yml", DocKind.TEXT),
    ("azure-pipelines.yml", DocKind.TEXT),
    (".circleci/config.yml", DocKind.TEXT),
    ("tools/action.yml", DocKind.TEXT),
    ("infra/main.tf.json", DocKind.TEXT),
])
def test_kind_of(path: str, kind: DocKind) -> None:
    got = kind_of(path)
    if kind is DocKind.TEXT:
        assert got not in (DocKind.KUBERNETES, DocKind.KUSTOMIZATION, DocKind.HELM_VALUES)
    else:
        assert got is kind


# --------------------------------------------------------------------------------------- workloads


DEPLOYMENT = f"""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      namespace: shop-prod
    spec:
      template:
        spec:
          initContainers:
            - name: migrate
              env:
                - name: DB_PASSWORD
                  value: "{SECRET}"
          containers:
            - name: api
              env:
                - name: OPENAI_API_KEY
                  valueFrom:
                    secretKeyRef:
                      name: openai
                      key: api-key
                - name: LOG_LEVEL
                  value: info
                - name: POD_NAME
                  valueFrom:
                    fieldRef: {{fieldPath: metadata.name}}
                - name: CALLBACK
                  value: $(POD_NAME)
                - name: EMPTY
              envFrom:
                - configMapRef: {{name: api-config}}
                - prefix: PAY_
                  secretRef:
                    name: payments
          ephemeralContainers:
            - name: debug
              env:
                - {{name: API_TOKEN, value: "{SECRET}"}}
    """


def test_env_sites_of_every_container_list() -> None:
    doc = load("k8s/api.yaml", DEPLOYMENT)
    assert doc.kind is DocKind.KUBERNETES
    literal = site(doc, "DB_PASSWORD")
    assert literal.kind is SiteKind.ENV
    assert literal.value is not None
    assert literal.value.kind is ValueKind.LITERAL
    assert literal.value.text == SECRET
    assert (literal.location.line, literal.location.column) == (13, 22)  # the opening quote
    assert literal.route == "Deployment/api.spec.template.spec.initContainers[migrate].env.DB_PASSWORD"
    assert dict(literal.context) == {"kind": "Deployment", "name": "api", "namespace": "shop-prod",
                                     "container": "migrate"}
    assert literal.environment == "prod"  # from the namespace: the path names none
    ephemeral = site(doc, "API_TOKEN")
    assert ephemeral.location.line == 38
    assert ephemeral.route.endswith("ephemeralContainers[debug].env.API_TOKEN")
    assert {s.name for s in doc.sites} == {"DB_PASSWORD", "OPENAI_API_KEY", "LOG_LEVEL", "CALLBACK", "EMPTY",
                                           "API_TOKEN"}  # fieldRef is not a site


def test_secret_key_ref_is_a_store_reference() -> None:
    doc = load("k8s/api.yaml", DEPLOYMENT)
    ref = site(doc, "OPENAI_API_KEY")
    assert ref.value is not None
    assert (ref.value.kind, ref.value.ref, ref.value.ref_name) == (ValueKind.REFERENCE, RefKind.STORE, "openai/api-key")
    assert ref.location.line == 19  # the secretKeyRef key
    refs = kube(doc).env_secret_refs
    assert [(r.via, r.secret, r.key, r.env_name, r.line, r.container_list) for r in refs] == [
        ("secretKeyRef", "openai", "api-key", "OPENAI_API_KEY", 19, "containers"),
        ("secretRef", "payments", None, None, 33, "containers"),
    ]
    assert refs[1].prefix == "PAY_"


def test_dependent_env_vars_and_empty_values_are_not_literals() -> None:
    doc = load("k8s/api.yaml", DEPLOYMENT)
    callback = site(doc, "CALLBACK").value
    assert callback is not None
    assert (callback.kind, callback.ref) == (ValueKind.REFERENCE, RefKind.ENV_VAR)
    empty = site(doc, "EMPTY").value
    assert empty is not None
    assert empty.kind is ValueKind.EMPTY


def test_path_environment_wins_over_namespace() -> None:
    doc = load("deploy/staging/api.yaml", DEPLOYMENT, environment="staging")
    assert site(doc, "DB_PASSWORD").environment == "staging"


@pytest.mark.parametrize(("kind", "prefix", "route"), [
    ("Pod", "", "Pod/w.spec.containers[c]"),
    ("CronJob", "spec:\n  jobTemplate:\n    spec:\n      template:\n", "CronJob/w.spec.jobTemplate.spec.template.spec"),
    ("StatefulSet", "spec:\n  template:\n", "StatefulSet/w.spec.template.spec"),
    ("Rollout", "spec:\n  template:\n", "Rollout/w.spec.template.spec"),  # a CRD with a pod template
])
def test_every_workload_kind(kind: str, prefix: str, route: str) -> None:
    depth = prefix.count("\n")
    pad = "  " * depth
    body = (f"{pad}spec:\n{pad}  containers:\n{pad}    - name: c\n{pad}      env:\n"
            f"{pad}        - {{name: API_KEY, value: \"{SECRET}\"}}\n")
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: w}}\n{prefix}{body}"
    doc = Document("w.yaml", DocKind.KUBERNETES)
    parse(doc, text)
    found = site(doc, "API_KEY")
    assert found.route.startswith(route)
    assert found.location.line == 8 + depth
    assert kube(doc).workloads[0].obj.kind == kind


def test_list_items_and_json_manifests() -> None:
    text = f"""\
    {{
    \t"apiVersion": "v1",
    \t"kind": "List",
    \t"items": [
    \t\t{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "s"}},
    \t\t "stringData": {{"API_TOKEN": "{SECRET}"}}}},
    \t\t{{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {{"name": "sa"}}}}
    \t]
    }}
    """
    doc = load("export/list.json", text)
    assert [o.kind for o in kube(doc).objects] == ["Secret", "ServiceAccount"]
    token = site(doc, "API_TOKEN")
    assert token.kind is SiteKind.SECRET_DATA
    assert token.location.line == 6
    assert not doc.diagnostics


# ---------------------------------------------------------------------------------- Secret / ConfigMap


def test_secret_data_is_decoded_in_memory() -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()
    binary = base64.b64encode(bytes(range(256))).decode()
    doc = load("k8s/secret.yaml", f"""\
        apiVersion: v1
        kind: Secret
        metadata:
          name: app
          namespace: payments-stg
        type: Opaque
        data:
          password: {encoded}
          keystore.p12: {binary}
          broken: "{SECRET}!"
        stringData:
          OPENAI_API_KEY: "{{{{ .Values.openai.apiKey }}}}"
        """)
    password = site(doc, "password")
    assert password.kind is SiteKind.SECRET_DATA
    assert password.value is not None
    assert password.value.text == SECRET
    assert password.value.kind is ValueKind.LITERAL
    assert password.location.line == 8
    assert dict(password.context) == {"kind": "Secret", "name": "app", "namespace": "payments-stg", "field": "data",
                                      "type": "Opaque", "encoding": "base64"}
    assert password.environment == "staging"
    assert site(doc, "keystore.p12").context["encoding"] == "binary"
    broken = site(doc, "broken")
    assert broken.context["encoding"] == "invalid-base64"
    assert [(d.line, d.level) for d in doc.diagnostics] == [(10, "warning")]
    assert SECRET not in doc.diagnostics[0].message
    template = site(doc, "OPENAI_API_KEY").value
    assert template is not None
    assert (template.kind, template.ref) == (ValueKind.REFERENCE, RefKind.TEMPLATE)


def test_sops_document() -> None:
    doc = load("k8s/secret.enc.yaml", """\
        apiVersion: v1
        kind: Secret
        metadata: {name: app}
        stringData:
          API_TOKEN: ENC[AES256_GCM,data:T0y1NkS8d3Qv,iv:0vF1aB2cD3eF4gH5,tag:qW2eR4tY6uI8oP0a,type:str]
        data:
          password: ENC[AES256_GCM,data:Lm5Qd2VyVHl1,iv:Zx1Cv2Bn3Mq4Wr5E,tag:Pl0Ok9Ij8Uh7Yg6T,type:str]
        sops:
          mac: ENC[AES256_GCM,data:n3Vb8Qw2,iv:Qa1Ws2Ed3Rf4Tg5Y,tag:Zx9Cv8Bn7Mq6Wr5E,type:str]
          encrypted_regex: ^(data|stringData)$
          version: 3.9.4
        """)
    data = kube(doc)
    assert [(s.document, s.line, s.has_mac, s.encrypted_regex) for s in data.sops] == [
        (0, 8, True, "^(data|stringData)$")]
    assert data.objects[0].sops
    for name in ("API_TOKEN", "password"):
        found = site(doc, name)
        assert found.context["sops"] == "true"
        assert found.value is not None
        assert found.value.ref is RefKind.ENCRYPTED
    assert not doc.diagnostics  # ENC[...] in data is not reported as bad base64


def test_configmap_keys_and_embedded_files() -> None:
    doc = load("k8s/cm.yaml", f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: api-config}}
        data:
          LOG_LEVEL: info
          app.env: |
            REDIS_HOST=redis

            REDIS_PASSWORD={SECRET}
          settings.json: '{{"token": "{SECRET}"}}'
        binaryData:
          blob: {base64.b64encode(SECRET.encode()).decode()}
        """)
    assert site(doc, "LOG_LEVEL").kind is SiteKind.CONFIG_KEY
    inner = site(doc, "REDIS_PASSWORD")
    assert inner.location.line == 9
    assert inner.context["embedded_in"] == "app.env"
    assert inner.value is not None
    assert inner.value.text == SECRET
    assert site(doc, "REDIS_HOST").location.line == 7
    assert site(doc, "token").location.line == 10
    blob = site(doc, "blob")
    assert blob.value is not None
    assert blob.value.text == SECRET
    assert blob.context["field"] == "binaryData"


# ----------------------------------------------------------------------------------- store-backed


def test_store_backed_objects_are_recorded() -> None:
    doc = load("k8s/stores.yaml", """\
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: api, namespace: shop-prod}
        spec:
          refreshInterval: 1h
          secretStoreRef: {name: aws, kind: ClusterSecretStore}
          target: {name: api-credentials}
          data:
            - secretKey: OPENAI_API_KEY
              remoteRef: {key: prod/openai, property: api_key}
          dataFrom:
            - extract: {key: prod/shop/all}
        ---
        apiVersion: external-secrets.io/v1
        kind: ClusterSecretStore
        metadata: {name: aws}
        spec:
          provider:
            aws: {service: SecretsManager, region: eu-west-1}
        ---
        apiVersion: secrets-store.csi.x-k8s.io/v1
        kind: SecretProviderClass
        metadata: {name: azure-kv}
        spec:
          provider: azure
          parameters:
            keyvaultName: shop-kv
            objects: |
              array:
                - |
                  objectName: openai-api-key
                  objectType: secret
          secretObjects:
            - secretName: openai
              type: Opaque
        ---
        apiVersion: secrets-store.csi.x-k8s.io/v1
        kind: SecretProviderClass
        metadata: {name: aws-sm}
        spec:
          provider: aws
          parameters:
            objects: |
              - objectName: "prod/shop/db"
                objectType: secretsmanager
        ---
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: registry}
        spec:
          encryptedData:
            password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq2tSUvTbIBFlBzdV6D3hxv9m4
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: vault-client
          annotations:
            vault.hashicorp.com/agent-inject: "true"
            vault.hashicorp.com/role: shop
            vault.hashicorp.com/agent-inject-secret-db: database/creds/shop
        spec:
          containers: [{name: app, image: app:1}]
        """)
    data = kube(doc)
    [external] = data.external_secrets
    assert (external.store, external.store_kind, external.target, external.refresh_interval) == (
        "aws", "ClusterSecretStore", "api-credentials", "1h")
    assert [(r.key, r.property, r.secret_key, r.kind, r.line) for r in external.refs] == [
        ("prod/openai", "api_key", "OPENAI_API_KEY", "data", 10), ("prod/shop/all", None, None, "extract", 12)]
    assert [(s.obj.name, s.provider, s.cluster) for s in data.secret_stores] == [("aws", "aws", True)]
    assert [(p.obj.name, p.provider, p.objects, p.secret_objects) for p in data.provider_classes] == [
        ("azure-kv", "azure", ("openai-api-key",), ("openai",)), ("aws-sm", "aws", ("prod/shop/db",), ())]
    assert [(s.obj.name, s.keys) for s in data.sealed_secrets] == [("registry", ("password",))]
    [vault] = data.vault_injections
    assert vault.enabled
    assert vault.role == "shop"
    assert vault.secrets == (("db", "database/creds/shop", 61),)
    assert not doc.sites  # none of these holds a value


def test_rbac_is_recorded() -> None:
    doc = load("rbac.yaml", """\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: reader}
        rules:
          - apiGroups: [""]
            resources:
              - pods
              - secrets
            verbs: [get, list]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: reader}
        roleRef: {kind: ClusterRole, name: reader, apiGroup: rbac.authorization.k8s.io}
        subjects:
          - {kind: ServiceAccount, name: default, namespace: shop}
        """)
    data = kube(doc)
    [role] = data.roles
    [rule] = role.rules
    assert (rule.api_groups, rule.resources, rule.verbs, rule.resource_names, rule.secrets_line) == (
        ("",), ("pods", "secrets"), ("get", "list"), (), 8)
    [binding] = data.bindings
    assert (binding.role_kind, binding.role_name, binding.role_line) == ("ClusterRole", "reader", 14)
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [("ServiceAccount", "default", "shop")]


# -------------------------------------------------------------------------------- not manifests


def test_other_yaml_is_text_and_silent() -> None:
    ci = load("mkdocs.yml", "site_name: docs\nnav:\n  - index.md\n")
    assert ci.kind is DocKind.TEXT
    assert not ci.diagnostics
    assert ci.data is None
    broken = load("config/app.yaml", f"password: {SECRET}\n  bad: [indent\n")
    assert broken.kind is DocKind.TEXT
    assert not broken.diagnostics
    package = load("package.json", '{"name": "shop", "version": "1.0.0"}')
    assert package.kind is DocKind.TEXT


def test_broken_manifest_reports_position_not_content() -> None:
    doc = load("k8s/broken.yaml", f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: s}}
        stringData:
          password: "{SECRET}"
            token: [{SECRET}
        """)
    assert doc.diagnostics
    assert all(isinstance(d, Diagnostic) for d in doc.diagnostics)
    assert all(SECRET not in d.message for d in doc.diagnostics)
    assert doc.diagnostics[0].line is not None


def test_chart_templates_are_parsed_when_valid_and_silent_when_not() -> None:
    invalid = load("chart/templates/secret.yaml", """\
        {{- if .Values.create }}
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ include "chart.fullname" . }}
        data:
          token: {{ .Values.token | b64enc }}
        {{- end }}
        """)
    assert not invalid.diagnostics
    assert invalid.kind is DocKind.TEXT
    valid = load("chart/templates/secret.yaml", """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: "{{ .Release.Name }}"
        stringData:
          token: "{{ .Values.token }}"
          url: "redis://:{{ .Values.password }}@redis:6379"
        """)
    for name in ("token", "url"):
        value = site(valid, name).value
        assert value is not None
        assert (value.kind, value.ref) == (ValueKind.REFERENCE, RefKind.TEMPLATE)


def test_alias_bomb_does_not_hang() -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "x0: &a0 [lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    lines.append("data: {k: *a8}")
    doc = load("k8s/bomb.yaml", "\n".join(lines) + "\n")
    assert any("alias" in d.message.lower() for d in doc.diagnostics)
    assert len(doc.sites) <= 1


# ----------------------------------------------------------------------------------------- Kustomize


def test_kustomize_generators() -> None:
    doc = load("deploy/overlays/prod/kustomization.yaml", f"""\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: shop-prod
        resources: [../../base]
        secretGenerator:
          - name: api
            literals:
              - JWT_SECRET={SECRET}
              - "QUOTED='{SECRET}'"
              - not-a-literal
            envs: [api.env]
            files:
              - tls.key=certs/shop.key
              - ../../shared/ca.crt
        configMapGenerator:
          - name: cfg
            literals: [LOG_LEVEL=info]
        """, environment="prod")
    jwt = site(doc, "JWT_SECRET")
    assert jwt.kind is SiteKind.SECRET_DATA
    assert jwt.value is not None
    assert jwt.value.text == SECRET
    assert (jwt.location.line, jwt.location.column) == (8, 20)
    assert jwt.route == "secretGenerator[api].literals.JWT_SECRET"
    assert jwt.environment == "prod"
    assert dict(jwt.context) == {"kind": "Secret", "name": "api", "namespace": "shop-prod",
                                 "generator": "secretGenerator", "type": "Opaque"}
    quoted = site(doc, "QUOTED").value
    assert quoted is not None
    assert quoted.text == SECRET
    assert site(doc, "LOG_LEVEL").kind is SiteKind.CONFIG_KEY
    assert [(d.line, d.level) for d in doc.diagnostics] == [(10, "warning")]
    data = doc.data
    assert isinstance(data, Kustomization)
    assert data.namespace == "shop-prod"
    assert data.resources == [("../../base", 4)]
    [secret_gen, config_gen] = data.generators
    assert secret_gen.literals == ("JWT_SECRET", "QUOTED")
    assert [(s.how, s.key, s.resolved, s.line) for s in secret_gen.sources] == [
        ("files", "tls.key", "deploy/overlays/prod/certs/shop.key", 13),
        ("files", None, "deploy/shared/ca.crt", 14),
        ("envs", None, "deploy/overlays/prod/api.env", 11),
    ]
    assert config_gen.kind == "configMapGenerator"


def test_kustomize_namespace_gives_environment() -> None:
    doc = load("deploy/shop/kustomization.yaml", f"""\
        namespace: shop-production
        secretGenerator:
          - name: api
            literals: [API_TOKEN={SECRET}]
        """)
    assert site(doc, "API_TOKEN").environment == "prod"


# --------------------------------------------------------------------------------------- Helm values


def test_helm_values_sites() -> None:
    doc = load("chart/values-prod.yaml", f"""\
        replicaCount: 2
        openai:
          apiKey: {SECRET}
          model: gpt-4o
        postgresql:
          auth:
            password: ""
            existingSecret: shop-db
            secretKeys:
              userPasswordKey: password
        env:
          - name: STRIPE_API_KEY
            value: {SECRET}
          - name: OPENAI_API_KEY
            valueFrom:
              secretKeyRef: {{name: openai, key: api-key}}
        extraEnv:
          LOG_LEVEL: debug
        sysctls:
          - name: net.core.somaxconn
            value: "1024"
        """, environment="prod")
    assert doc.kind is DocKind.HELM_VALUES
    api_key = site(doc, "apiKey")
    assert api_key.kind is SiteKind.CONFIG_KEY
    assert api_key.route == "openai.apiKey"
    assert api_key.location.line == 3
    assert api_key.phase.value == "runtime"
    assert api_key.environment == "prod"
    stripe = site(doc, "STRIPE_API_KEY")
    assert stripe.kind is SiteKind.ENV
    assert stripe.location.line == 13
    ref = site(doc, "OPENAI_API_KEY").value
    assert ref is not None
    assert (ref.kind, ref.ref, ref.ref_name) == (ValueKind.REFERENCE, RefKind.STORE, "openai/api-key")
    assert site(doc, "LOG_LEVEL").kind is SiteKind.ENV
    names = {s.name for s in doc.sites}
    assert not names & {"password", "existingSecret", "userPasswordKey", "model", "net.core.somaxconn"}
    assert isinstance(doc.data, HelmValues)
    assert ("postgresql.auth.secretKeys.userPasswordKey", "password", 10) in doc.data.secret_refs


@pytest.mark.parametrize(("name", "expected"), [
    ("existingSecret", True), ("existingSecretPasswordKey", True), ("passwordSecretName", True),
    ("secretRef", True), ("passwordKey", True), ("tokenKeyRef", True), ("adminPasswordKey", True),
    ("secretKey", False), ("accessKey", False), ("apiKey", False), ("privateKey", False), ("password", False),
    ("clientSecret", False),
])
def test_secret_reference_names(name: str, expected: bool) -> None:
    assert is_secret_reference_name(name) is expected


def test_chart_template_broken_after_a_valid_document_is_silent() -> None:
    doc = load("charts/shop/templates/all.yaml", """\
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: "{{ .Release.Name }}"
        ---
        {{- if .Values.rbac.create }}
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        {{- end }}
        """)
    assert doc.kind is DocKind.KUBERNETES
    assert not doc.diagnostics


def test_kubeconfig_is_not_a_manifest() -> None:
    # named kubeconfig*, it is a credential file (IGN-05); under another name the manifest parser declines it
    doc = load("ops/cluster-staging.yaml", """\
        apiVersion: v1
        kind: Config
        clusters: [{name: staging, cluster: {server: "https://10.0.0.1"}}]
        users: [{name: ci, user: {token: q8Vn2LrT5wXz0aBcKj7Hm3Ps}}]
        """)
    assert doc.kind is DocKind.TEXT
    assert not doc.sites
