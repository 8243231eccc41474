"""Credential files (rule catalog §D4): one place for the file names that hold credentials.

- :func:`credential_type`: files whose *content* is a credential store (``.npmrc``, ``.aws/credentials``, a
  kubeconfig, a private key...): the credential-file parser reads them, IGN-05 reports them when committed.
- :func:`exposes_credentials`: any path (or COPY glob) that would carry credentials into an image or a commit,
  env files and Terraform state included: BLD-04 and IGN-03 use it.
- :func:`is_env_file_name` / :func:`is_env_template_name`: ``.env`` files and their committed templates.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

# committed templates of secret files: .env.example, secrets.env.sample, creds.json.tmpl
TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl", ".tpl")


def is_env_file_name(name: str) -> bool:
    lower = name.lower()
    return lower in {".env", ".envrc"} or lower.startswith(".env.") or lower.endswith(".env")


def is_env_template_name(name: str) -> bool:
    return is_env_file_name(name) and name.lower().endswith(TEMPLATE_SUFFIXES)


# kubeconfig-prod.yaml yes; kubeconfig.md, kubeconfig.go, kubeconfig.tpl no (docs, code, templates)
_NOT_KUBECONFIG_EXTS = frozenset({".md", ".txt", ".rst", ".adoc", ".go", ".py", ".sh", ".js", ".ts", ".rb", ".java",
                                  ".tf", ".j2", ".jinja", ".tpl", ".tmpl", ".example", ".sample", ".template"})
_SSH_KEY_NAMES = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"})


def credential_type(path: str) -> str | None:
    """The kind of credential file ``path`` names, or None. Env files, Terraform state and tfvars are not
    credential files here (other rules own them)."""
    norm = path.replace("\\", "/")
    name = posixpath.basename(norm)
    lower = name.lower()
    lower_path = norm.lower()
    if lower == ".npmrc":
        return "npmrc"
    if lower == ".pypirc":
        return "pypirc"
    if lower in (".netrc", "_netrc"):
        return "netrc"
    if lower == ".git-credentials":
        return "git-credentials"
    if lower_path == ".docker/config.json" or lower_path.endswith("/.docker/config.json"):
        return "docker-config"
    if lower_path == ".aws/credentials" or lower_path.endswith("/.aws/credentials"):
        return "aws-credentials"
    if lower_path == ".kube/config" or lower_path.endswith("/.kube/config"):
        return "kubeconfig"
    if (lower == "kubeconfig" or lower.startswith(("kubeconfig-", "kubeconfig_", "kubeconfig."))
            or lower.endswith(".kubeconfig")) and posixpath.splitext(lower)[1] not in _NOT_KUBECONFIG_EXTS:
        return "kubeconfig"
    if lower.endswith(".json") and any(t in lower for t in ("service-account", "service_account", "credentials")):
        return "google-json"
    if lower in _SSH_KEY_NAMES or lower.endswith((".pem", ".key")):
        return "private-key"
    if lower.endswith((".p12", ".pfx")):
        return "pkcs12"
    return None


def is_credential_file(path: str) -> bool:
    return credential_type(path) is not None


# §D4 CRED_FILES, by file name / path suffix; templates (.env.example...) are excluded separately.
_CRED_NAMES = frozenset({
    ".env", ".envrc", ".npmrc", ".pypirc", ".netrc", "_netrc", ".git-credentials", "id_rsa", "id_ed25519",
    "id_ecdsa", "id_dsa", "kubeconfig",
})
_CRED_GLOBS = (".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.tfstate", "*.tfstate.*", "kubeconfig*",
               "*service-account*.json", "*service_account*.json", "*credentials*.json")
_CRED_SUFFIXES = (".docker/config.json", ".aws/credentials", ".kube/config", ".config/gh/hosts.yml")
CREDENTIAL_DIRS = frozenset({".aws", ".ssh", ".kube", ".docker", ".gnupg"})
_PUBLIC_PEM = re.compile(r"(?i)(?:^|[-_.])(?:cert|certificate|chain|fullchain|ca|cacert|ca-bundle|pub|public|bundle)"
                         r"(?:[-_.]|$)")

_PRIVATE_PEM = re.compile(r"(?i)(?:^|[-_.])(?:key|privkey|priv|private)(?:[-_.]|$)")

def exposes_credentials(path: str) -> bool:
    """§D4 CRED_FILES: would copying or committing this path (or glob, as written in a COPY source) expose a
    credential? Env files and Terraform state count; templates such as ``.env.example`` and certificates do not."""
    clean = path.rstrip("/")
    base = posixpath.basename(clean)
    if not base or is_env_template_name(base):
        return False
    if base in _CRED_NAMES or base in CREDENTIAL_DIRS or clean.endswith(_CRED_SUFFIXES):
        return True
    if base.endswith(".pem") and _PUBLIC_PEM.search(base[:-4]) and not _PRIVATE_PEM.search(base[:-4]):
        return False  # ca.pem, fullchain.pem, cert.pem: certificates, not keys
    if any(fnmatch.fnmatchcase(base, g) for g in _CRED_GLOBS):
        return True
    if any(c in base for c in "*?["):  # a glob that would pick up credential files
        probes = (".env", ".env.local", ".env.production", ".npmrc", "id_rsa", "key.pem", "server.key",
                  "credentials.json", "service-account.json")
        return any(fnmatch.fnmatchcase(p, base) for p in probes) and base not in ("*", ".*", "**")
    return False
