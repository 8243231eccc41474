"""Value classification (rule catalog §D3) and the entropy gate."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from auditor.detect.values import (
    classify,
    is_placeholder,
    looks_secret,
    passes_entropy_gate,
    references,
    shannon_entropy,
)
from auditor.model import RefKind, ValueKind

RNG = random.Random(7)
CANARY = Path(__file__).resolve().parents[2] / "shared" / "canary" / "secrets.json"


def rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


E, R, P, L = ValueKind.EMPTY, ValueKind.REFERENCE, ValueKind.PLACEHOLDER, ValueKind.LITERAL
INTERP = ValueKind.INTERPOLATED

# (raw value, kind, ref kind, ref name)
CLASSIFY: list[tuple[str, ValueKind, RefKind | None, str | None]] = [
    # empty
    ("", E, None, None),
    ("   ", E, None, None),
    ('""', E, None, None),
    # CI secrets and contexts
    ("${{ secrets.OPENAI_API_KEY }}", R, RefKind.CI_SECRET, "OPENAI_API_KEY"),
    ("${{secrets.HF_TOKEN}}", R, RefKind.CI_SECRET, "HF_TOKEN"),
    ("${{ secrets['MY-KEY'] }}", R, RefKind.CI_SECRET, "MY-KEY"),
    ("${{ github.token }}", R, RefKind.CI_SECRET, "GITHUB_TOKEN"),
    ("${{ toJSON(secrets) }}", R, RefKind.CI_SECRET, None),
    ("${{ inputs.api-key }}", R, RefKind.CI_CONTEXT, "inputs.api-key"),
    ("${{ vars.REGION }}", R, RefKind.CI_CONTEXT, "vars.REGION"),
    ("${{ env.TOKEN }}", R, RefKind.CI_CONTEXT, "env.TOKEN"),
    ("${{ needs.build.outputs.token }}", R, RefKind.CI_CONTEXT, "needs.build.outputs.token"),
    ("$[[ inputs.token ]]", R, RefKind.CI_CONTEXT, "inputs.token"),
    ("$[variables.apiKey]", R, RefKind.CI_CONTEXT, "variables.apiKey"),
    ("<< pipeline.parameters.token >>", R, RefKind.CI_CONTEXT, "pipeline.parameters.token"),
    ("<< parameters.key >>", R, RefKind.CI_CONTEXT, "parameters.key"),
    # environment variables
    ("$OPENAI_API_KEY", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("${OPENAI_API_KEY}", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("$(OPENAI_API_KEY)", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("$(System.AccessToken)", R, RefKind.ENV_VAR, "System.AccessToken"),
    ("%OPENAI_API_KEY%", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("$env:OPENAI_API_KEY", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("${env:OPENAI_API_KEY}", R, RefKind.ENV_VAR, "OPENAI_API_KEY"),
    ("$1", R, RefKind.ENV_VAR, "1"),
    ("${TOKEN:?TOKEN is required}", R, RefKind.ENV_VAR, "TOKEN"),
    ('"${TOKEN}"', R, RefKind.ENV_VAR, "TOKEN"),
    # Terraform
    ("var.openai_api_key", R, RefKind.VARIABLE, "var.openai_api_key"),
    ("${var.openai_api_key}", R, RefKind.VARIABLE, "var.openai_api_key"),
    ("local.db_password", R, RefKind.VARIABLE, "local.db_password"),
    ("data.aws_secretsmanager_secret_version.db.secret_string", R, RefKind.VARIABLE,
     "data.aws_secretsmanager_secret_version.db.secret_string"),
    ("module.secrets.api_key", R, RefKind.VARIABLE, "module.secrets.api_key"),
    ("ephemeral.random_password.db.result", R, RefKind.VARIABLE, "ephemeral.random_password.db.result"),
    ("${random_password.db.result}", R, RefKind.VARIABLE, "random_password.db.result"),
    # secret stores
    ("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/openai-AbCdEf", R, RefKind.STORE,
     "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/openai-AbCdEf"),
    ("arn:aws:ssm:eu-west-1:123456789012:parameter/prod/openai", R, RefKind.STORE,
     "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/openai"),
    ("projects/acme/secrets/openai/versions/latest", R, RefKind.STORE, "projects/acme/secrets/openai/versions/latest"),
    ("https://acme.vault.azure.net/secrets/openai", R, RefKind.STORE, "https://acme.vault.azure.net/secrets/openai"),
    ("@Microsoft.KeyVault(SecretUri=https://acme.vault.azure.net/secrets/openai/)", R, RefKind.STORE,
     "@Microsoft.KeyVault(SecretUri=https://acme.vault.azure.net/secrets/openai/)"),
    ("op://prod/openai/credential", R, RefKind.STORE, "op://prod/openai/credential"),
    ("ref+vault://secret/data/openai#key", R, RefKind.STORE, "ref+vault://secret/data/openai#key"),
    ("vault:secret/data/openai#key", R, RefKind.STORE, "vault:secret/data/openai#key"),
    ("{{resolve:secretsmanager:prod/openai:SecretString:key}}", R, RefKind.STORE,
     "{{resolve:secretsmanager:prod/openai:SecretString:key}}"),
    # encrypted
    ("ENC[AES256_GCM,data:Tr7o=,iv:1T5s=,tag:Zm9v=,type:str]", R, RefKind.ENCRYPTED, None),
    ("$ANSIBLE_VAULT;1.1;AES256\n6134", R, RefKind.ENCRYPTED, None),
    # templates
    ("{{ .Values.openai.apiKey }}", R, RefKind.TEMPLATE, ".Values.openai.apiKey"),
    ("{{ vault_openai_key | b64encode }}", R, RefKind.TEMPLATE, "vault_openai_key | b64encode"),
    ("@API_KEY@", R, RefKind.TEMPLATE, "API_KEY"),
    # paths
    ("/run/secrets/openai_api_key", R, RefKind.PATH, "/run/secrets/openai_api_key"),
    ("/var/run/secrets/tokens/vault", R, RefKind.PATH, "/var/run/secrets/tokens/vault"),
    ("~/.aws/credentials", R, RefKind.PATH, "~/.aws/credentials"),
    ("./secrets/service-account.json", R, RefKind.PATH, "./secrets/service-account.json"),
    ("C:\\keys\\sa.json", R, RefKind.PATH, "C:\\keys\\sa.json"),
    # placeholders
    ("your-api-key-here", P, None, None),
    ("YOUR_OPENAI_API_KEY", P, None, None),
    ("<your-openai-key>", P, None, None),
    ("<token>", P, None, None),
    ("xxx", P, None, None),
    ("XXXXXXXXXXXXXXXX", P, None, None),
    ("***", P, None, None),
    ("********", P, None, None),
    ("changeme", P, None, None),
    ("change_me", P, None, None),
    ("CHANGEIT", P, None, None),
    ("replace-me", P, None, None),
    ("sk-...", P, None, None),
    ("sk-xxxx", P, None, None),
    ("sk-proj-****", P, None, None),
    ("...", P, None, None),
    ("abcdefgh", P, None, None),
    ("0123456789", P, None, None),
    ("12345", P, None, None),
    ("example", P, None, None),
    ("dummy", P, None, None),
    ("test", P, None, None),
    ("foo", P, None, None),
    ("true", P, None, None),
    ("False", P, None, None),
    ("null", P, None, None),
    ("password", P, None, None),
    ("aaaaaaaa", P, None, None),
    ("test-token", P, None, None),
    ("my_fake_key", P, None, None),
    ("demoPassword", P, None, None),
    ("insert-your-key", P, None, None),
    ("paste_token_here", P, None, None),
    ("%s", P, None, None),
    ("{0}", P, None, None),
    ("{password}", P, None, None),
    ("[YOUR KEY]", P, None, None),
    ("admin:changeme", P, None, None),
    ("AK" + "IAIOSFODNN7EXAMPLE", P, None, None),
    ("Bearer <token>", P, None, None),
    ("postgres://app:<password>@db/app", P, None, None),
    # interpolated
    ("Bearer ${TOKEN}", INTERP, None, None),
    ("Bearer ${{ secrets.OPENAI_API_KEY }}", INTERP, None, None),
    ("postgres://app:${DB_PASSWORD}@db:5432/app", INTERP, None, None),
    ("token-$CI_JOB_TOKEN", INTERP, None, None),
    ("https://{{ .Values.host }}/v1", INTERP, None, None),
    ("$(cat /run/secrets/openai)", INTERP, None, None),
    # literals
    ("nq#I6U9Fye*hmVq^l9dTwhPs", L, None, None),
    ("S3cr3tP@ss!", L, None, None),
    ("sk_test_" + rand(24), L, None, None),
    ("hunter22", L, None, None),
    ("db-password", L, None, None),
    ("https://api.openai.com/v1", L, None, None),
    ("/" + rand(39, string.ascii_letters + string.digits), L, None, None),  # a key starting with "/", not a path
    ("data.json", L, None, None),  # not data.TYPE.NAME
]


@pytest.mark.parametrize(
    ("raw", "kind", "ref", "ref_name"), CLASSIFY, ids=[f"{i}:{c[0][:30]}" for i, c in enumerate(CLASSIFY)]
)
def test_classify(raw: str, kind: ValueKind, ref: RefKind | None, ref_name: str | None) -> None:
    value = classify(raw)
    assert (value.kind, value.ref, value.ref_name) == (kind, ref, ref_name)
    assert value.text == raw  # the raw text is kept as given


@pytest.mark.parametrize(
    ("raw", "name", "default"),
    [
        ("${DB_PASSWORD:-hunter22}", "DB_PASSWORD", "hunter22"),
        ("${DB_PASSWORD-hunter22}", "DB_PASSWORD", "hunter22"),
        ("${DB_PASSWORD:=hunter22}", "DB_PASSWORD", "hunter22"),
        ("${TOKEN:-${FALLBACK_TOKEN}}", "TOKEN", "${FALLBACK_TOKEN}"),
        ("${TOKEN:-}", "TOKEN", ""),
        ("${TOKEN:?unset}", "TOKEN", None),
        ("${TOKEN}", "TOKEN", None),
    ],
)
def test_env_reference_keeps_its_default(raw: str, name: str, default: str | None) -> None:
    value = classify(raw)
    assert (value.kind, value.ref, value.ref_name, value.default) == (R, RefKind.ENV_VAR, name, default)


def test_default_is_classified_separately() -> None:
    value = classify("${OPENAI_API_KEY:-sk_live_" + rand(24) + "}")
    assert value.kind is R
    assert value.default is not None
    assert looks_secret(value.default)


def test_references_inside_a_value() -> None:
    refs = references("Bearer ${{ secrets.OPENAI_API_KEY }} user=$DB_USER {{ .Values.x }} $(ls -la)")
    assert [(r.ref, r.ref_name) for r in refs] == [
        (RefKind.CI_SECRET, "OPENAI_API_KEY"),
        (RefKind.ENV_VAR, "DB_USER"),
        (RefKind.TEMPLATE, ".Values.x"),
    ]


# looks_secret(text) and looks_secret(text, name_is_secret=True)
LOOKS_SECRET: list[tuple[str, bool, bool]] = [
    ("nq#I6U9Fye*hmVq^l9dTwhPs", True, True),
    ("S3cr3tP@ss!", False, True),
    ("Pa55w0rd", False, True),
    ("hunter22", False, True),
    ("sk_live_" + rand(24), True, True),
    ("Bearer gh" + "p_" + rand(36), True, True),
    ("postgres://app:" + rand(12) + "@db:5432/app", True, True),
    (rand(40, string.ascii_letters + string.digits + "+/"), True, True),
    (rand(32, "0123456789abcdef"), True, True),
    (rand(24, string.ascii_letters + string.digits), True, True),
    # publishable keys are not secrets
    ("pk_live_" + rand(24), False, False),
    # not secrets, whatever the name
    ("true", False, False),
    ("3600", False, False),
    ("30s", False, False),
    ("hmac-sha256", False, False),
    ("scram-sha-256", False, False),
    ("db-password", False, False),
    ("my-app-secret", False, False),
    ("text-embedding-3-small", False, False),
    ("us-east-1", False, False),
    ("en_US.UTF-8", False, False),
    ("localhost:5432", False, False),
    ("v1.2.3-beta.1", False, False),
    ("2024-01-01T00:00:00Z", False, False),
    ("admin@acme.io", False, False),
    ("https://api.openai.com/v1", False, False),
    ("postgres://app@db:5432/app", False, False),
    ("/run/secrets/openai", False, False),
    ("SuperSecretPassword", False, False),
    ("changeme123", False, False),
    ("your-api-key-here", False, False),
    ("${{ secrets.OPENAI_API_KEY }}", False, False),
    ("Bearer ${TOKEN}", False, False),
    ("sk-" + "proj-" + "x" * 40, False, False),
    ("AK" + "IAIOSFODNN7EXAMPLE", False, False),
    ("The quick brown fox 2024 jumps over", False, False),
]


@pytest.mark.parametrize(("raw", "plain", "under_secret_name"), LOOKS_SECRET, ids=[c[0][:30] for c in LOOKS_SECRET])
def test_looks_secret(raw: str, plain: bool, under_secret_name: bool) -> None:
    assert looks_secret(raw) is plain
    assert looks_secret(raw, name_is_secret=True) is under_secret_name


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("ab") == 1.0
    assert shannon_entropy("0123456789abcdef") == 4.0


def test_entropy_gate_thresholds() -> None:
    assert not passes_entropy_gate("aB3" * 4)  # 12 chars but entropy log2(3)
    assert passes_entropy_gate("k3J9xQ2mZ7pL")  # 12 distinct chars with digits: entropy 3.58 > 3.5
    assert not passes_entropy_gate("kJxQmZpLwRtY")  # no digit, base64 entropy below 4.5
    assert not passes_entropy_gate("1234567890123456")  # all digits: hex gate with the digits penalty
    assert passes_entropy_gate("9f86d081884c7d65")  # hex, entropy 3.5 >= 3.0
    # letters only, 48 distinct: entropy log2(48) = 5.58 >= 4.5 (fixed, not drawn: a random draw can fall below)
    assert passes_entropy_gate("".join(random.Random(1).sample(string.ascii_letters, 48)))


@pytest.mark.parametrize("raw", ["xxxxx", "<key>", "your_token", "sk-...", "12345678", "abcdefghij", "example-key"])
def test_is_placeholder(raw: str) -> None:
    assert is_placeholder(raw)


@pytest.mark.parametrize("raw", ["nq#I6U9Fye*hmVq^l9dTwhPs", "sk_test_" + rand(24), "hunter22", "db-password"])
def test_is_not_placeholder(raw: str) -> None:
    assert not is_placeholder(raw)


def test_canary_password_looks_secret_under_a_secret_name() -> None:
    if not CANARY.is_file():
        pytest.skip("canary secrets not present")
    secrets: dict[str, str] = json.loads(CANARY.read_text())
    assert classify(secrets["password"]).kind is L
    assert looks_secret(secrets["password"], name_is_secret=True)
    for name, value in secrets.items():
        assert looks_secret(value, name_is_secret=True), name


@pytest.mark.parametrize(("value", "expected"), [
    ("gitea", True), ("whalehello", True), ("nextcloud", True), ("example_123", False),
    ("3600", False), ("/run/secrets/db", False), ("${PW}", False), ("changeme", False), ("a b c", False),
    ("https://host", False), ("abc", False),
])
def test_is_literal_password(value: str, expected: bool) -> None:
    from auditor.detect.values import is_literal_password

    assert is_literal_password(value) is expected


@pytest.mark.parametrize("value", ["mypass", "my-token", "my_password", "myAcct"])
def test_my_words_are_placeholders(value: str) -> None:
    from auditor.detect.values import is_placeholder

    assert is_placeholder(value)
