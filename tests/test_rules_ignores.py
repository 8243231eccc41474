"""IGN-02, IGN-04, IGN-05 and the ignore-file and credential-file parsers they read."""

from __future__ import annotations

import base64
import json
from enum import StrEnum

import pytest

from auditor.ignore import GitIgnore
from auditor.model import Confidence, DocKind, Document, Repository, Severity, ValueKind
from auditor.parsers import credfile, ignorefile
from auditor.rules import Hit, RuleContext
from auditor.rules.ignores import (
    DotenvUse,
    credential_file_committed,
    env_file_not_ignored,
    terraform_state_committed,
    uses_dotenv,
)

CTX = RuleContext()


class _Kind(StrEnum):
    """Stands in for DocKind.CREDENTIAL_FILE until the model registers it (the rule compares by value)."""

    CREDENTIAL_FILE = "credential-file"


try:
    CREDENTIAL_KIND: object = DocKind("credential-file")
except ValueError:
    CREDENTIAL_KIND = _Kind.CREDENTIAL_FILE


def ignore_doc(path: str, text: str) -> Document:
    kind = DocKind.DOCKERIGNORE if path.endswith("dockerignore") else DocKind.GITIGNORE
    doc = Document(path, kind)
    ignorefile.parse(doc, text)
    return doc


def cred_doc(path: str, text: str) -> Document:
    doc = Document(path, CREDENTIAL_KIND)  # type: ignore[arg-type]
    credfile.parse(doc, text)
    return doc


def repo_of(files: dict[str, str], *, tracked: set[str] | None = None, extra_docs: list[Document] | None = None,
            git_ignored: object = None) -> Repository:
    """A repository whose documents are the ignore, env and credential files among ``files``."""
    docs: list[Document] = []
    for path, text in files.items():
        name = path.rsplit("/", 1)[-1]
        if name == ".gitignore" or path == ".git/info/exclude":
            docs.append(ignore_doc(path, text))
        elif name == ".env" or name.startswith(".env."):
            docs.append(Document(path, DocKind.ENV_FILE))
        elif credfile.is_credential_file(path):
            docs.append(cred_doc(path, text))
    docs += extra_docs or []
    # like the scanner: the predicate holds the committed .gitignore rules, not this clone's local excludes
    shared = GitIgnore.from_documents(d for d in docs if d.kind is DocKind.GITIGNORE and d.path != ".git/info/exclude")
    return Repository(
        root="repo", documents=docs, files=frozenset(p for p in files if not p.startswith(".git/")),
        tracked=frozenset(tracked) if tracked is not None else None,
        git_ignored=git_ignored if callable(git_ignored) else shared.is_ignored,
    )


def run(check: object, repo: Repository) -> list[Hit]:
    assert callable(check)
    return list(check(repo, CTX))


# --------------------------------------------------------------------------------------------------------------
# parsers/ignorefile.py


def test_ignorefile_records_patterns_with_lines() -> None:
    doc = ignore_doc(".gitignore", "# deps\nnode_modules/\n\n.env*\r\n!.env.example\n")
    assert doc.data == [(2, "node_modules/"), (4, ".env*"), (5, "!.env.example")]
    assert doc.sites == []
    assert doc.diagnostics == []


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("node_modules\n!\n", 2, "lone '!'"),
    (".env # local secrets\n", 1, "comment only at the beginning"),
    ("config\\secrets.json\n", 1, "backslash is an escape"),
    ("dist\n/\n", 2, "matches nothing"),
    ("foo\\\n", 1, "git cannot use"),
    (".env\t\n", 1, "trailing whitespace"),
    ("caf\ufffd\n", 1, "not valid UTF-8"),
])
def test_ignorefile_flags_odd_gitignore_lines(text: str, line: int, fragment: str) -> None:
    doc = ignore_doc(".gitignore", text)
    assert [(d.line, d.level) for d in doc.diagnostics if fragment in d.message] == [(line, "warning")]


def test_ignorefile_dockerignore_errors_and_comments() -> None:
    doc = ignore_doc(".dockerignore", "node_modules\n  # indented\n[\n**/.env*\n")
    assert doc.data == [(1, "node_modules"), (2, "  # indented"), (3, "["), (4, "**/.env*")]
    by_line = {d.line: d for d in doc.diagnostics}
    assert by_line[3].level == "warning"
    assert "fails" in by_line[3].message
    assert by_line[2].level == "warning"
    assert "indented '#'" in by_line[2].message
    assert 1 not in by_line
    assert 4 not in by_line


def test_ignorefile_diagnostics_never_quote_content() -> None:
    doc = ignore_doc(".gitignore", "sk-proj-secretish # note\nsk-proj-other\\x\n")
    assert doc.diagnostics
    assert all("sk-proj" not in d.message for d in doc.diagnostics)


# --------------------------------------------------------------------------------------------------------------
# IGN-02 env-file-not-ignored


def test_ign02_fires_for_anchored_env_pattern() -> None:
    repo = repo_of({
        ".gitignore": "# deps\nnode_modules/\n/.env\n",
        ".env.example": "OPENAI_API_KEY=\n",
        "package.json": "{}",
    })
    [hit] = run(env_file_not_ignored, repo)
    assert (hit.location.path, hit.location.line) == (".gitignore", 2)  # first pattern line
    assert ".env.local, .env.production.local, sub/.env" in hit.message
    assert "`.env*.local`" in hit.message
    assert hit.severity is None  # the policy's MEDIUM


@pytest.mark.parametrize("gitignore", [
    ".env*\n!.env.example\n",
    ".env\n.env*.local\n",
    ".env\n*.local\n",
    "*\n!*/\n!*.py\n",
    "**/.env\n**/.env.*\n!.env.example\n",
])
def test_ign02_quiet_when_env_files_are_ignored(gitignore: str) -> None:
    repo = repo_of({".gitignore": gitignore, ".env.example": "", "app/.env.example": ""})
    assert run(env_file_not_ignored, repo) == []


def test_ign02_quiet_without_dotenv_use() -> None:
    repo = repo_of({".gitignore": "dist/\n", "main.go": "package main\n", "README.md": "# x\n"})
    assert run(env_file_not_ignored, repo) == []


def test_ign02_detects_framework_configs_by_name() -> None:
    repo = repo_of({".gitignore": "node_modules/\n.next/\n", "web/next.config.mjs": "export default {}\n"})
    [hit] = run(env_file_not_ignored, repo)
    assert "Next.js" in hit.message


def test_ign02_points_at_the_negation_that_reincludes() -> None:
    repo = repo_of({".gitignore": "node_modules/\n.env*\n!.env.local\n", ".env.example": ""})
    [hit] = run(env_file_not_ignored, repo)
    assert (hit.location.path, hit.location.line) == (".gitignore", 3)
    assert ".env.local" in hit.message
    assert "`!` pattern at .gitignore:3" in hit.message
    assert ".env.production.local" not in hit.message


def test_ign02_nested_gitignore_does_not_cover_the_root() -> None:
    repo = repo_of({"apps/web/.gitignore": ".env*\n", "apps/web/.env.example": ""})
    [hit] = run(env_file_not_ignored, repo)
    assert hit.location.path == "apps/web/.env.example"  # no root .gitignore: at the env file
    assert "there is none" in hit.message


def test_ign02_info_when_only_local_excludes_ignore() -> None:
    repo = repo_of({".gitignore": "dist/\n", ".git/info/exclude": ".env*\n", ".env": "A=1\n"})
    [hit] = run(env_file_not_ignored, repo)
    assert hit.severity is Severity.INFO
    assert "local excludes" in hit.message



def test_ign02_quiet_when_a_gitignore_above_the_scan_root_ignores_env_files() -> None:
    # the scanner's predicate carries the committed .gitignore files above a scanned subdirectory
    repo = repo_of({".gitignore": "dist/\n", ".env": "A=1\n"}, git_ignored=lambda p: ".env" in p)
    assert run(env_file_not_ignored, repo) == []


def test_ign02_message_never_quotes_values() -> None:
    repo = repo_of({".gitignore": "dist/\n", ".env": "OPENAI_API_KEY=sk-proj-abcdef\n"})
    [hit] = run(env_file_not_ignored, repo)
    assert "sk-proj" not in hit.message
    assert hit.value is None


@pytest.mark.parametrize(("path", "text", "reason"), [
    ("package.json", json.dumps({"dependencies": {"express": "^4"}, "devDependencies": {"dotenv": "^16"}}),
     "the dotenv dependency"),
    ("web/package.json", json.dumps({"dependencies": {"react-scripts": "5.0.1"}}), "the react-scripts dependency"),
    ("requirements-dev.txt", "pytest==8.0\npython_dotenv>=1.0 ; python_version >= '3.8'\n",
     "the python-dotenv dependency"),
    ("pyproject.toml", '[project]\nname = "x"\ndependencies = ["httpx", "python-dotenv>=1"]\n',
     "the python-dotenv dependency"),
    ("pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.11"\ndjango-environ = "^0.11"\n',
     "the django-environ dependency"),
    ("Gemfile", "source 'https://rubygems.org'\ngem 'rails'\ngem 'dotenv-rails', groups: [:development]\n",
     "the dotenv-rails gem"),
    ("go.mod", "module x\n\nrequire (\n\tgithub.com/joho/godotenv v1.5.1\n)\n", "the github.com/joho/godotenv module"),
    ("composer.json", json.dumps({"require": {"vlucas/phpdotenv": "^5.6"}}), "the vlucas/phpdotenv dependency"),
    ("compose.yaml", "services:\n  api:\n    image: api\n    env_file:\n      - .env\n", "compose env_file"),
    ("Cargo.toml", '[package]\nname = "x"\n\n[dependencies]\ndotenvy = "0.15"\n', "the dotenvy crate"),
])
def test_uses_dotenv_reads_manifests(path: str, text: str, reason: str) -> None:
    found = uses_dotenv([path, "README.md"], {path: text}.get)
    assert isinstance(found, DotenvUse)
    assert (found.path, found.reason) == (path, reason)
    assert found.line > 1 or path.endswith(".json")


def test_uses_dotenv_negative_and_robust() -> None:
    texts = {"package.json": "{not json", "pyproject.toml": "[project", "requirements.txt": "python-dotenvy\n",
             "Gemfile": "gem 'dotenvx'\n", "go.mod": "module x // github.com/joho/godotenv\n"}
    assert uses_dotenv(list(texts), texts.get) is None

    def unreadable(_path: str) -> str | None:
        raise OSError("denied")

    assert uses_dotenv(["package.json"], unreadable) is None
    assert uses_dotenv([".env.example", "package.json"], unreadable) == DotenvUse(".env.example", 1,
                                                                                  "the env file .env.example")


# --------------------------------------------------------------------------------------------------------------
# IGN-04 terraform-state-committed


def test_ign04_committed_state_plans_and_terraform_dir() -> None:
    files = {
        ".gitignore": ".env\n",
        "infra/main.tf": "", "infra/.terraform.lock.hcl": "", "infra/terraform.tfstate": "{}",
        "infra/terraform.tfstate.backup": "{}", "infra/terraform.tfstate.1712345678.backup": "{}",
        "infra/terraform.tfstate.d/prod/terraform.tfstate": "{}", "infra/terraform.tfstate.lock.info": "{}",
        "infra/tfplan": "", "infra/prod.tfplan": "", "infra/plan.tfplan.json": "",
        "infra/.terraform/terraform.tfstate": "{}", "infra/.terraform/providers/x/terraform-provider-aws": "",
        "docs/tfstate.md": "", "remote_state.tf": "",
    }
    hits = run(terraform_state_committed, repo_of(files))
    where = {h.location.path: h for h in hits}
    assert set(where) == {
        "infra/terraform.tfstate", "infra/terraform.tfstate.backup", "infra/terraform.tfstate.1712345678.backup",
        "infra/terraform.tfstate.d/prod/terraform.tfstate", "infra/tfplan", "infra/prod.tfplan",
        "infra/plan.tfplan.json", "infra/.terraform/terraform.tfstate",
    }
    assert all(h.location.line == 1 for h in hits)
    assert "2 file(s) under infra/.terraform/" in where["infra/.terraform/terraform.tfstate"].message
    assert "git rm --cached infra/terraform.tfstate`" in where["infra/terraform.tfstate"].message
    assert "state backup" in where["infra/terraform.tfstate.backup"].message
    assert "`*.tfplan.json`" in where["infra/plan.tfplan.json"].message


def test_ign04_ignored_untracked_state_is_fine_but_tracked_state_is_not() -> None:
    files = {".gitignore": "*.tfstate\n*.tfstate.*\n.terraform/\n", "terraform.tfstate": "{}",
             "terraform.tfstate.backup": "{}", ".terraform/terraform.tfstate": "{}", "main.tf": ""}
    assert run(terraform_state_committed, repo_of(files, tracked={".gitignore", "main.tf"})) == []
    hits = run(terraform_state_committed, repo_of(files, tracked={".gitignore", "main.tf", "terraform.tfstate"}))
    assert [h.location.path for h in hits] == ["terraform.tfstate"]


# --------------------------------------------------------------------------------------------------------------
# parsers/credfile.py and IGN-05 credential-file-committed


def _pem(label: str, size: int = 300) -> str:
    body = base64.b64encode(bytes(range(256)) * (size // 256 + 1))[: size * 4 // 3].decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


def _openssh(cipher: bytes) -> str:
    def s(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    raw = b"openssh-key-v1\0" + s(cipher) + s(b"none" if cipher == b"none" else b"bcrypt") + s(b"") + \
        (1).to_bytes(4, "big") + s(b"\x01" * 51) + s(b"\x02" * 144)
    body = base64.b64encode(raw).decode()
    return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(body[i : i + 70] for i in range(0, len(body), 70)) + \
        "\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize(("path", "kind"), [
    (".npmrc", "npmrc"), ("web/.npmrc", "npmrc"), ("deploy/.pypirc", "pypirc"), (".netrc", "netrc"),
    ("_netrc", "netrc"), (".git-credentials", "git-credentials"), ("ci/.docker/config.json", "docker-config"),
    (".docker/config.json", "docker-config"), ("home/.aws/credentials", "aws-credentials"),
    ("kubeconfig", "kubeconfig"), ("ops/kubeconfig-prod.yaml", "kubeconfig"), ("prod.kubeconfig", "kubeconfig"),
    (".kube/config", "kubeconfig"), ("gcp/ci-service-account.json", "google-json"),
    ("credentials.json", "google-json"), ("tls/server.pem", "private-key"), ("server.key", "private-key"),
    ("deploy/id_rsa", "private-key"), ("id_ed25519", "private-key"), ("signing.p12", "pkcs12"),
    ("cert.pfx", "pkcs12"),
])
def test_credential_type(path: str, kind: str) -> None:
    assert credfile.credential_type(path) == kind
    assert credfile.is_credential_file(path)


@pytest.mark.parametrize("path", [
    ".env", ".env.production", "terraform.tfstate", "prod.tfvars", "id_rsa.pub", "config.json", "docker/config.json",
    "package.json", "server.crt", ".aws/config", "keys.md", "credentials.md", "kubeconfig.md", "kubeconfig.go",
])
def test_not_credential_files(path: str) -> None:
    assert not credfile.is_credential_file(path)


@pytest.mark.parametrize(("path", "text", "expected"), [
    (".npmrc", "registry=https://registry.npmjs.org/\n; comment\n//npm.acme.dev/:_authToken = \"4c1d-9e2f-token\"\n"
     "_auth=ZGVwbG95OnB3\nemail=a@b.c\n", [("_authToken", 3, 31, "4c1d-9e2f-token"), ("_auth", 4, 7, "ZGVwbG95OnB3")]),
    (".pypirc", "[pypi]\nusername = __token__\npassword = pw-value-1\n", [("password", 3, 12, "pw-value-1")]),
    (".netrc", "# build box\nmachine api.acme.dev\n  login ci\n  password \"pw value\"\n"
     "machine b login x password pw2\n",
     [("password", 4, 13, "pw value"), ("password", 5, 28, "pw2")]),
    (".git-credentials", "https://bot:tok3n-value@git.acme.dev\nhttps://anon@git.acme.dev\n",
     [("password", 1, 13, "tok3n-value")]),
    (".docker/config.json", '{\n  "auths": {\n    "r.acme.dev": {\n      "auth": "ZGVwbG95OnB3"\n    },\n'
     '    "ghcr.io": {"auth": ""}\n  }\n}\n', [("auth", 4, 16, "ZGVwbG95OnB3"), ("auth", 6, 26, "")]),
    (".aws/credentials", "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=abc/def+ghi\n"
     "[ci]\naws_session_token = tok\n",
     [("aws_secret_access_key", 3, 23, "abc/def+ghi"), ("aws_session_token", 5, 21, "tok")]),
    ("kubeconfig", "users:\n- name: a\n  user:\n    token: t0k3n\n    client-key-data: LS0tLS1=\n",
     [("token", 4, 12, "t0k3n"), ("client-key-data", 5, 22, "LS0tLS1=")]),
])
def test_credfile_sites(path: str, text: str, expected: list[tuple[str, int, int, str]]) -> None:
    doc = cred_doc(path, text)
    got = [(s.name, s.location.line, s.location.column, s.value.text if s.value else None) for s in doc.sites]
    assert got == expected
    assert doc.diagnostics == []


def test_credfile_google_json() -> None:
    key = _pem("PRIVATE KEY").replace("\n", "\\n")
    text = ('{\n  "type": "service_account",\n  "private_key_id": "abc",\n'
            f'  "private_key": "{key}",\n  "client_email": "x@y.iam.gserviceaccount.com"\n}}\n')
    [site] = cred_doc("sa-credentials.json", text).sites
    assert (site.name, site.location.line) == ("private_key", 4)
    assert site.value is not None
    assert site.value.text.startswith("-----BEGIN PRIVATE KEY-----\n")

    oauth = json.dumps({"installed": {"client_id": "1.apps.googleusercontent.com", "client_secret": "GOCSPX-x1"}})
    assert [s.name for s in cred_doc("credentials.json", oauth).sites] == ["client_secret"]
    external = json.dumps({"type": "external_account", "credential_source": {"file": "/var/run/token"}})
    assert cred_doc("wif-credentials.json", external).sites == []


def test_credfile_private_keys() -> None:
    doc = cred_doc("tls/bundle.pem", "subject=CN=x\n" + _pem("CERTIFICATE") + _pem("EC PRIVATE KEY"))
    [site] = doc.sites
    assert (site.name, site.location.line, site.location.column) == ("private-key", 11, 1)
    assert site.value is not None
    assert site.value.kind is ValueKind.LITERAL

    assert cred_doc("id_ed25519", _openssh(b"none")).sites[0].name == "private-key"
    encrypted = cred_doc("id_ed25519", _openssh(b"aes256-ctr"))
    assert encrypted.sites == []
    assert encrypted.data == {"type": "private-key", "encrypted_keys": 1}
    assert cred_doc("a.key", _pem("ENCRYPTED PRIVATE KEY")).sites == []
    headers = "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n"
    legacy = _pem("RSA PRIVATE KEY").replace("-----\n", headers, 1)
    assert cred_doc("b.key", legacy).sites == []
    assert cred_doc("c.pem", "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n").sites == []
    assert cred_doc("ca.pem", _pem("CERTIFICATE")).sites == []
    assert cred_doc("keynote.key", "PK\x03\x04 not a key").sites == []


def test_credfile_kubeconfig_alias_bomb_is_cheap() -> None:
    levels = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    text = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + levels + "users:\n- user:\n    token: t0k3n\n"
    assert [s.name for s in cred_doc("kubeconfig", text).sites] == ["token"]


def test_credfile_bad_input_is_a_diagnostic() -> None:
    doc = cred_doc("kubeconfig", "users: [\n  - {token: x\n")
    assert doc.sites == []
    assert doc.diagnostics
    assert doc.diagnostics[0].line is not None
    doc = cred_doc(".docker/config.json", '{"auths": {"r": {"auth": "ZGVw"}}')  # truncated JSON
    assert [s.name for s in doc.sites] == ["auth"]
    assert doc.diagnostics
    assert cred_doc(".npmrc", "").sites == []


_SECRETS = {
    ".npmrc": "//npm.acme.dev/:_authToken=4c1d9e2f-secret-npm\n",
    "ci/.docker/config.json": '{"auths": {"r.acme.dev": {"auth": "c2VjcmV0LWRvY2tlcg=="}}}\n',
    "deploy/id_rsa": "# deploy key\n" + _pem("RSA PRIVATE KEY"),
    "tls/ca.pem": _pem("CERTIFICATE"),
}


def test_ign05_fires_on_committed_literal_secrets() -> None:
    hits = run(credential_file_committed, repo_of({".gitignore": "node_modules/\n", **_SECRETS}))
    where = sorted((h.location.path, h.location.line, h.name) for h in hits)
    assert where == [(".npmrc", 1, "_authToken"), ("ci/.docker/config.json", 1, "auth"),
                     ("deploy/id_rsa", 2, "private-key")]
    for hit in hits:
        assert hit.value is not None
        assert hit.value.is_literal
        assert not any(v in hit.message for v in ("4c1d9e2f", "c2VjcmV0", "BEGIN", "MII"))  # names only
        assert "git rm --cached" in hit.message
        assert "rotate" in hit.message
        assert ".gitignore" in hit.message


def test_ign05_quiet_for_ignored_references_and_safe_content() -> None:
    ignored = repo_of({".gitignore": ".npmrc\n.docker/\nid_rsa\n", **_SECRETS})
    assert run(credential_file_committed, ignored) == []
    tracked_anyway = repo_of({".gitignore": ".npmrc\n", **_SECRETS}, tracked={".npmrc"})
    assert [h.location.path for h in run(credential_file_committed, tracked_anyway)] == [
        ".npmrc", "ci/.docker/config.json", "deploy/id_rsa"]
    safe = repo_of({
        ".npmrc": "//npm.acme.dev/:_authToken=${NPM_TOKEN}\n",
        ".pypirc": "[pypi]\nusername = __token__\npassword = <your-token>\n",
        ".docker/config.json": '{"auths": {"r": {}}, "credsStore": "desktop"}',
        "kubeconfig": "users:\n- name: a\n  user:\n    exec: {command: aws}\n",
        "id_ed25519": _openssh(b"aes256-ctr"),
        "tls/ca.pem": _pem("CERTIFICATE"),
    })
    assert run(credential_file_committed, safe) == []


def test_ign05_needs_the_credential_kind() -> None:
    doc = Document(".npmrc", DocKind.TEXT)
    credfile.parse(doc, _SECRETS[".npmrc"])
    repo = Repository(root="r", documents=[doc], files=frozenset({".npmrc"}))
    assert run(credential_file_committed, repo) == []


def test_ign05_pkcs12_is_medium_confidence() -> None:
    [hit] = run(credential_file_committed, repo_of({"signing.p12": "0\x82\x05binary"}))
    assert hit.confidence is Confidence.MEDIUM
    assert hit.name == "pkcs12"
