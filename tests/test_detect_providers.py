"""Provider-format key detection (rule catalog §D1).

Fake keys are generated from a seeded random source and assembled by concatenation, so this file never
holds a realistic key on one line.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.detect.providers import DETECTORS, find_keys, match_value
from auditor.model import ValueKind
from auditor.redact import redact

RNG = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
WORD = ALNUM + "_"
AWS_ID_CHARS = string.ascii_uppercase + "234567"
CANARY = Path(__file__).resolve().parents[2] / "shared" / "canary"
T3 = "T3Blbk" + "FJ"  # the marker inside every OpenAI key


def rand(n: int, alphabet: str = ALNUM) -> str:
    """Random text that is sure to mix upper, lower and digits when the alphabet has them."""
    while True:
        out = "".join(RNG.choice(alphabet) for _ in range(n))
        classes = [set(out) & set(c) for c in (string.ascii_uppercase, string.ascii_lowercase, string.digits)]
        wanted = [set(alphabet) & set(c) for c in (string.ascii_uppercase, string.ascii_lowercase, string.digits)]
        if all(got or not want for got, want in zip(classes, wanted, strict=True)) or n < 8:
            return out


def guid() -> str:
    return "-".join(rand(n, HEX) for n in (8, 4, 4, 4, 12))


def jwt(claims: dict[str, object]) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return enc({"alg": "HS256", "typ": "JWT"}) + "." + enc(claims) + "." + rand(43, URLSAFE)


def pem(kind: str) -> str:
    body = "\n".join(rand(64, B64) for _ in range(4))
    return "-----BEGIN " + kind + "-----\n" + body + "\n-----END " + kind + "-----"


# (detector id, line template with {key}, the key). The secret reported is the key.
POSITIVES: list[tuple[str, str, str]] = [
    ("openai", "OPENAI_API_KEY={key}", "sk-" + "proj-" + rand(74, URLSAFE) + T3 + rand(74, URLSAFE)),
    ("openai", 'openai.api_key = "{key}"', "sk-" + "svcacct-" + rand(58, URLSAFE) + T3 + rand(58, URLSAFE)),
    ("openai", "key: {key}", "sk-" + "admin-" + rand(58, URLSAFE) + T3 + rand(58, URLSAFE)),
    ("openai", "OPENAI_API_KEY={key}", "sk-" + rand(20) + T3 + rand(20)),
    ("openai", "token={key}", "sk-" + "proj-" + rand(40, URLSAFE) + T3 + rand(30, URLSAFE)),  # trufflehog form
    ("anthropic", "ANTHROPIC_API_KEY={key}", "sk-ant-" + "api03-" + rand(93, URLSAFE) + "AA"),
    ("anthropic-admin", "ANTHROPIC_ADMIN_KEY='{key}'", "sk-ant-" + "admin01-" + rand(93, URLSAFE) + "AA"),
    ("openrouter", "OPENROUTER_API_KEY={key}", "sk-or-" + "v1-" + rand(64, HEX)),
    ("huggingface", "HF_TOKEN={key}", "hf_" + rand(34)),
    ("huggingface-org", "token = {key}", "api_org_" + rand(34)),
    ("perplexity", "PPLX={key}", "pplx-" + rand(48)),
    ("groq", "GROQ_API_KEY={key}", "gsk_" + rand(52)),
    ("xai", "XAI_API_KEY={key}", "xai-" + rand(80)),
    ("replicate", "REPLICATE_API_TOKEN={key}", "r8_" + rand(37)),
    ("langsmith", "LANGSMITH_API_KEY={key}", "lsv2_" + "pt_" + rand(32, HEX) + "_" + rand(10, HEX)),
    ("pinecone", "PINECONE_API_KEY={key}", "pcsk_" + rand(5) + "_" + rand(63)),
    ("cohere", 'COHERE_API_KEY="{key}"', rand(40)),
    ("aws-access-key-id", "aws_access_key_id = {key}", "AK" + "IA" + rand(16, AWS_ID_CHARS)),
    ("aws-access-key-id", "AWS_ACCESS_KEY_ID: {key}", "AS" + "IA" + rand(16, AWS_ID_CHARS)),
    ("aws-bedrock-api-key", "AWS_BEARER_TOKEN_BEDROCK={key}", "AB" + "SK" + rand(120, B64)),
    ("aws-bedrock-api-key-short-lived", "AWS_BEARER_TOKEN_BEDROCK={key}",
     "bedrock-api-key-" + "YmVkcm9jay5hbWF6b25hd3MuY29t" + rand(200, B64)),
    ("gcp-api-key", "GOOGLE_API_KEY={key}", "AI" + "za" + rand(35, URLSAFE)),
    ("azure-ad-client-secret", 'client_secret = "{key}"', rand(3) + "8Q~" + rand(32, ALNUM + "_~.-")),
    ("azure-storage-account-key", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};EndpointSuffix=x",
     rand(86, B64) + "=="),
    ("azure-sas", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={key}",
     rand(43, B64) + "="),
    ("azure-sas", "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&sig={key}", rand(43, ALNUM) + "%3D"),
    ("digitalocean", "DIGITALOCEAN_ACCESS_TOKEN={key}", "dop_" + "v1_" + rand(64, HEX)),
    ("databricks", "DATABRICKS_TOKEN={key}", "da" + "pi" + rand(32, HEX)),
    ("github-pat", 'curl -H "Authorization: Bearer {key}" https://api.github.com', "gh" + "p_" + rand(36)),
    ("github-fine-grained-pat", "GH_TOKEN={key}", "github_" + "pat_" + rand(82, WORD)),
    ("github-oauth", "token: {key}", "gh" + "o_" + rand(36)),
    ("github-app-token", "token: {key}", "gh" + "s_" + rand(36)),
    ("github-refresh-token", "token: {key}", "gh" + "r_" + rand(36)),
    ("gitlab-pat", "GITLAB_TOKEN={key}", "gl" + "pat-" + rand(20, URLSAFE)),
    ("gitlab-pat-routable", "GITLAB_TOKEN={key}", "gl" + "pat-" + rand(40) + ".01" + rand(7, LOWER_ALNUM)),
    ("gitlab-deploy-token", "password: {key}", "gl" + "dt-" + rand(20)),
    ("gitlab-runner-token", "token = {key}", "gl" + "rt-" + rand(20)),
    ("gitlab-cicd-job-token", "token = {key}", "gl" + "cbt-" + "2" + "_" + rand(20)),
    ("gitlab-pipeline-trigger-token", "token = {key}", "gl" + "ptt-" + rand(40, HEX)),
    ("gitlab-oauth-app-secret", "secret = {key}", "gl" + "oas-" + rand(64)),
    ("gitlab-runner-registration-token", "registration-token: {key}", "GR" + "1348941" + rand(20)),
    ("npm", "//registry.npmjs.org/:_authToken={key}", "np" + "m_" + rand(36)),
    ("pypi", "password = {key}", "pypi-" + "AgEIcHlwaS5vcmc" + rand(70, URLSAFE)),
    ("stripe-secret-key", "STRIPE_SECRET_KEY={key}", "sk" + "_live_" + rand(24)),
    ("stripe-secret-key", "stripe.api_key = '{key}'", "rk" + "_test_" + rand(24)),
    ("stripe-publishable-key", "NEXT_PUBLIC_STRIPE_KEY={key}", "pk" + "_live_" + rand(24)),
    ("slack-bot-token", "SLACK_BOT_TOKEN={key}", "xo" + "xb-" + rand(11, "0123456789") + "-" + rand(12, "0123456789")
     + "-" + rand(24)),
    ("slack-user-token", "SLACK_TOKEN={key}", "xo" + "xp-" + "-".join(rand(11, "0123456789") for _ in range(3))
     + "-" + rand(32, LOWER_ALNUM)),
    ("slack-app-token", "SLACK_APP_TOKEN={key}", "xa" + "pp-1-A" + rand(10, string.ascii_uppercase + string.digits)
     + "-" + rand(13, "0123456789") + "-" + rand(64, HEX)),
    ("sendgrid", "SENDGRID_API_KEY={key}", "S" + "G." + rand(22, URLSAFE) + "." + rand(43, URLSAFE)),
    ("twilio", "TWILIO_API_KEY={key}", "S" + "K" + rand(32, HEX)),
    ("vault-service-token", "VAULT_TOKEN={key}", "hv" + "s." + rand(95, URLSAFE)),
    ("vault-service-token-legacy", "VAULT_TOKEN={key}", "s." + rand(24)),
    ("vault-batch-token", "VAULT_TOKEN={key}", "hv" + "b." + rand(150, URLSAFE)),
    ("private-key", "{key}", pem("RSA PRIVATE KEY")),
    ("private-key", '"private_key": "{key}"', pem("PRIVATE KEY").replace("\n", "\\n")),
    ("private-key", "{key}", pem("OPENSSH PRIVATE KEY")),
    ("jwt", "Authorization: Bearer {key}", jwt({"sub": "1234567890", "name": "svc", "iat": 1516239022})),
    ("supabase-anon-key", "NEXT_PUBLIC_SUPABASE_ANON_KEY={key}",
     jwt({"iss": "supabase", "ref": rand(20, LOWER_ALNUM), "role": "anon", "iat": 1700000000})),
    ("supabase-service-role-key", "SUPABASE_SERVICE_ROLE_KEY={key}",
     jwt({"iss": "supabase", "ref": rand(20, LOWER_ALNUM), "role": "service_role", "iat": 1700000000})),
    ("slack-webhook", "SLACK_WEBHOOK_URL={key}",
     "https://hooks.slack" + ".com/services/T" + rand(8, string.ascii_uppercase + string.digits) + "/B"
     + rand(10, string.ascii_uppercase + string.digits) + "/" + rand(24)),
    ("teams-webhook", "webhook: {key}",
     "https://contoso.webhook.office" + ".com/webhookb2/" + guid() + "@" + guid() + "/IncomingWebhook/"
     + rand(32, HEX) + "/" + guid()),
    ("discord-webhook", "DISCORD_WEBHOOK={key}",
     "https://discord" + ".com/api/webhooks/" + rand(18, "0123456789") + "/" + rand(68, URLSAFE)),
    ("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY={key}", rand(40, B64)),
    ("aws-secret-access-key", 'aws_secret = "{key}"', rand(40, B64)),
    ("azure-openai", "AZURE_OPENAI_API_KEY={key}", rand(32, HEX)),
    ("azure-openai", "- name: AZURE_OPENAI_API_KEY\n  value: {key}", rand(32, HEX)),
    ("azure-openai", 'client = AzureOpenAI(api_key="{key}")', rand(32, HEX)),
    ("deepseek", "DEEPSEEK_API_KEY={key}", "sk-" + rand(32, LOWER_ALNUM)),
]


def _ids(cases: list[tuple[str, str, str]]) -> list[str]:
    return [f"{i}-{case[0]}" for i, case in enumerate(cases)]


@pytest.mark.parametrize(("detector", "template", "key"), POSITIVES, ids=_ids(POSITIVES))
def test_positive(detector: str, template: str, key: str) -> None:
    text = "# config\n\n" + template.format(key=key) + "\n"
    matches = find_keys(text, "cfg")
    assert [(m.detector, m.value.text) for m in matches] == [(detector, key)]
    match = matches[0]
    assert match.value.kind is ValueKind.LITERAL
    before = template[: template.index("{key}")]
    assert (match.location.path, match.location.line) == ("cfg", 3 + before.count("\n"))
    assert match.location.column == len(before) - (before.rfind("\n") + 1) + 1
    assert match.publishable is (detector in {"stripe-publishable-key", "supabase-anon-key"})


def test_every_detector_has_a_positive_case() -> None:
    assert {d.id for d in DETECTORS} == {case[0] for case in POSITIVES} | {"url-credentials"}


NEGATIVES: list[tuple[str, str]] = [
    ("openai placeholder", "OPENAI_API_KEY=sk-" + "proj-" + "x" * 74 + T3 + "x" * 74),
    ("openai without marker", "OPENAI_API_KEY=sk-" + rand(48)),
    ("openai truncated", "OPENAI_API_KEY=sk-..."),
    ("anthropic too short", "ANTHROPIC_API_KEY=sk-ant-" + "api03-" + rand(92, URLSAFE) + "AA"),
    ("anthropic placeholder", "ANTHROPIC_API_KEY=sk-ant-" + "api03-" + "x" * 93 + "AA"),
    ("aws documentation key id", "aws_access_key_id = AK" + "IAIOSFODNN7" + "EXAMPLE"),
    ("aws key id low entropy", "aws_access_key_id = AK" + "IA" + "A" * 16),
    ("aws key id inside a word", "XAK" + "IA" + rand(16, AWS_ID_CHARS)),
    ("aws documentation secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"),
    ("aws-looking secret without aws context", "SOMETHING_ELSE=" + rand(40, B64)),
    ("hex digest near aws", "aws_secret_access_key_sha = " + rand(40, HEX)),
    ("github placeholder", "GITHUB_TOKEN=gh" + "p_" + "x" * 36),
    ("github sequential", "GITHUB_TOKEN=gh" + "p_1234567890abcdefghijklmnopqrstuvwxyz"),
    ("github too short", "GITHUB_TOKEN=gh" + "p_" + rand(30)),
    ("gitlab placeholder", "GITLAB_TOKEN=gl" + "pat-" + "x" * 20),
    ("slack docs webhook", "https://hooks.slack" + ".com/services/T00000000/B00000000/" + "X" * 24),
    ("slack bot too short", "SLACK_BOT_TOKEN=xo" + "xb-123"),
    ("stripe placeholder", "STRIPE_SECRET_KEY=sk" + "_live_" + "x" * 24),
    ("stripe sequential", "STRIPE_SECRET_KEY=sk" + "_live_1234567890"),
    ("stripe inside a word", "mysk" + "_live_" + rand(24)),
    ("gcp sample key", "GOOGLE_API_KEY=AI" + "zaSyabcdefghijklmnopqrstuvwxyz1234567"),
    ("huggingface low entropy", "HF_TOKEN=hf_" + "ab" * 17),
    ("npm placeholder", "NPM_TOKEN=np" + "m_" + "x" * 36),
    ("jwt that does not decode", "token=ey" + rand(20) + ".ey" + rand(30) + "." + rand(20)),
    ("short jwt", "token=eyJhbGciOi.eyJzdWIi.abc"),
    ("url password is a reference", "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app"),
    ("url password masked", "DATABASE_URL=postgres://app:****@db:5432/app"),
    ("url password placeholder", "DATABASE_URL=postgres://app:password@db:5432/app"),
    ("url password changeme", "REDIS_URL=redis://:changeme@redis:6379/0"),
    ("url password pass", "url = https://user:pass@example.org"),
    ("url password format", 'dsn = "postgres://%s:%s@%s/db"'),
    ("url without credentials", "API_URL=https://api.example.org:8443/v1?x=1"),
    ("deepseek-looking key without context", "KEY=sk-" + rand(32, LOWER_ALNUM)),
    ("azure-openai-looking hex without context", "api_key = " + rand(32, HEX)),
    ("keyaudit report fingerprint", '{"name": "AZURE_OPENAI_API_KEY",\n "fingerprint": "' + rand(32, HEX) + '"}'),
    ("short pem", "-----BEGIN " + "PRIVATE KEY-----\n...\n-----END " + "PRIVATE KEY-----"),
    ("public key", pem("PUBLIC KEY")),
    ("certificate", pem("CERTIFICATE")),
    ("twilio low entropy", "TWILIO=S" + "K" + "0" * 32),
    ("vault legacy letters only", "VAULT_TOKEN=s." + rand(24, string.ascii_letters)),
    ("teams placeholder", "https://contoso.webhook.office" + ".com/webhookb2/xxxxxxxx@xxxxxxxx/IncomingWebhook/"),
    ("discord short", "https://discord" + ".com/api/webhooks/123/abc"),
    ("cohere model name", 'COHERE_MODEL="command-r-plus"'),
    ("placeholder text", "OPENAI_API_KEY=your-openai-api-key-here"),
    ("plain prose", "The quick brown fox jumps over the lazy dog; see https://example.org for details.\n" * 3),
]


@pytest.mark.parametrize(("label", "text"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_negative(label: str, text: str) -> None:
    assert find_keys(text, "cfg") == [], label


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgres://app:{pw}@db.internal:5432/app", rand(16)),
        ("redis://:{pw}@redis:6379/0", rand(20)),
        ("https://deploy:{pw}@registry.internal/v2/", "Zx8-" + rand(10)),
    ],
)
def test_url_credentials_report_the_password(url: str, password: str) -> None:
    text = "DATABASE_URL=" + url.format(pw=password)
    (match,) = find_keys(text, ".env")
    assert (match.detector, match.value.text) == ("url-credentials", password)
    assert match.location.column == text.index(password) + 1


def test_provider_key_in_url_is_reported_once_as_that_provider() -> None:
    token = "gh" + "p_" + rand(36)
    (match,) = find_keys(f"git clone https://x-access-token:{token}@github.com/o/r.git", "Dockerfile")
    assert (match.detector, match.value.text) == ("github-pat", token)


def test_private_key_spanning_lines_is_reported_on_its_first_line() -> None:
    key = pem("EC PRIVATE KEY")
    text = "a: 1\nb: |\n  " + key.replace("\n", "\n  ") + "\nc: 2\n"
    (match,) = find_keys(text, "values.yaml")
    assert (match.detector, match.location.line, match.location.column) == ("private-key", 3, 3)
    assert match.value.text.count("\n") >= 5


def test_aws_secret_key_found_through_context_on_previous_lines() -> None:
    secret = rand(40, B64)
    k8s = f"env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: {secret}\n"
    terraform = f'provider "aws" {{\n  region = "eu-west-1"\n  secret_key = "{secret}"\n}}\n'
    assert [(m.detector, m.location.line) for m in find_keys(k8s, "k8s.yaml")] == [("aws-secret-access-key", 3)]
    assert [(m.detector, m.location.line) for m in find_keys(terraform, "main.tf")] == [("aws-secret-access-key", 3)]
    assert find_keys(f'django_secret_key = "{secret}"\n', "settings.py") == []


def test_locations_of_several_keys() -> None:
    a, b = "gh" + "p_" + rand(36), "sk" + "_live_" + rand(24)
    text = f"x\r\n  A={a}\r\n\r\nB={b} C={a}\n"
    got = [(m.detector, m.location.line, m.location.column) for m in find_keys(text, "f")]
    assert got == [("github-pat", 2, 5), ("stripe-secret-key", 4, 3), ("github-pat", 4, 6 + len(b))]


def test_characters_that_lowercase_to_two_do_not_shift_positions() -> None:
    key = "sk" + "_live_" + rand(24)
    text = "name: \u0130stanbul \u0130zmir\nSTRIPE_SECRET_KEY=" + key + "\n"
    assert [(m.value.text, m.location.line, m.location.column) for m in find_keys(text, "f")] == [(key, 2, 19)]


def test_match_value() -> None:
    stripe_pk = "pk" + "_test_" + rand(24)
    detector = match_value(stripe_pk)
    assert detector is not None
    assert (detector.id, detector.publishable) == ("stripe-publishable-key", True)
    openai = match_value("Bearer sk-" + rand(20) + T3 + rand(20))
    assert openai is not None
    assert openai.id == "openai"
    assert match_value("hello world") is None
    assert match_value("sk-" + "proj-" + "x" * 74 + T3 + "x" * 74) is None


def test_match_value_uses_the_name_as_context() -> None:
    secret = rand(40, B64)
    assert match_value(secret) is None
    by_name = match_value(secret, name="AWS_SECRET_ACCESS_KEY")
    assert by_name is not None
    assert by_name.id == "aws-secret-access-key"
    deepseek = "sk-" + rand(32, LOWER_ALNUM)
    assert match_value(deepseek) is None
    assert getattr(match_value(deepseek, name="DEEPSEEK_API_KEY"), "id", None) == "deepseek"
    assert match_value("x", name="AWS_SECRET_ACCESS_KEY") is None


def test_detector_table_is_well_formed() -> None:
    ids = [d.id for d in DETECTORS]
    assert len(ids) == len(set(ids))
    for det in DETECTORS:
        assert det.label
        assert all(k == k.lower() for k in det.keywords), det.id
        assert det.pattern.flags & 256, f"{det.id} must be compiled with re.ASCII"


@pytest.mark.parametrize(("detector", "template", "key"), POSITIVES, ids=_ids(POSITIVES))
def test_redacted_form_keeps_at_most_a_short_prefix(detector: str, template: str, key: str) -> None:
    shown = redact(key)
    assert key not in shown
    assert len(shown.partition("...")[0]) < 16


def _code_corpus(size: int) -> str:
    parts: list[str] = []
    total = 0
    words = ["def", "return", "self", "token", "key", "secret", "api", "os.environ", "aws", "asia", "sg.", "s.x",
             "https://example.org/a?b=c", "dapi", "eyJ", "-----BEGIN", "openai", "azure", "deepseek", "sk_test"]
    while total < size:
        parts.append(" ".join(RNG.choice(words) for _ in range(12)) + " = " + repr(rand(12)) + "\n")
        total += len(parts[-1])
    return "".join(parts)


def test_large_keyword_dense_file_has_no_false_positives() -> None:
    """Speed is measured by bench/ (never asserted here); this checks a 2 MB keyword-dense file stays clean."""
    text = _code_corpus(2_000_000)
    assert [k.detector for k in find_keys(text, "big.py")] == []


def test_import_order_does_not_matter() -> None:
    for module in ("auditor.detect.values", "auditor.detect.providers", "auditor.detect.names"):
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


# --- canary ---------------------------------------------------------------------------------------------------------

# How each canary secret is written in the test line; an AWS secret key is only recognised by its context.
_CANARY_NAMES = {"aws_secret": "AWS_SECRET_ACCESS_KEY", "aws_id": "AWS_ACCESS_KEY_ID"}


def _canary_secrets() -> dict[str, str]:
    path = CANARY / "secrets.json"
    if not path.is_file():
        pytest.skip("canary secrets not present")
    secrets: dict[str, str] = json.loads(path.read_text())
    return secrets


def test_canary_secrets_are_found() -> None:
    for name, value in _canary_secrets().items():
        if name == "password":
            continue
        line = f"{_CANARY_NAMES.get(name, 'KEY')}={value}\n"
        assert value in [m.value.text for m in find_keys(line, "canary")], name


def test_canary_repository_is_covered() -> None:
    secrets = _canary_secrets()
    repo = CANARY / "repo"
    if not repo.is_dir():
        pytest.skip("canary repository not present")
    found = {
        m.value.text
        for path in repo.rglob("*")
        if path.is_file()
        for m in find_keys(path.read_text(encoding="utf-8", errors="replace"), path.name)
    }
    missing = [name for name, value in secrets.items() if name != "password" and value not in found]
    assert missing == []
