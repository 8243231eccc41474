"""Secret-name detection (rule catalog §D2): does a variable or key name denote a secret?

SECRET_NAME(n), as the catalog recommends:

1. Strip one client prefix (``NEXT_PUBLIC_``, ``VITE_``...; recorded for CLI-01), then split the rest on
   ``[_\\-.\\s]+`` and camelCase boundaries, lowercase, and form bigram compounds (``api`` + ``key``).
2. KNOWN names (``OPENAI_API_KEY``, ``AWS_ACCESS_KEY_ID``...) are always secret.
3. A DENY token or compound (``password``, ``token``, ``secretkey``...), or the detect-secrets substring
   list inside an undelimited token (``PGPASSWORD``), makes the name secret...
4. ...unless an ALLOW token or pattern (``_FILE``, ``_URL``, ``_ID``, ``public``, ``publishable``, ``anon``,
   ``csrf_token``, ``key_name``...) says the value is something else. BuildKit's ``public`` allow-token
   never hides a client prefix: ``NEXT_PUBLIC_OPENAI_API_KEY`` is a secret name exposed to the browser.
5. Secret-file names (``GOOGLE_APPLICATION_CREDENTIALS``, ``DB_PASSWORD_FILE``, ``HF_TOKEN_PATH``) hold a
   path: they are ``file_like`` and not secret themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

CLIENT_PREFIXES: tuple[str, ...] = (
    "NEXT_PUBLIC_", "NUXT_PUBLIC_", "EXPO_PUBLIC_", "REACT_APP_", "VUE_APP_", "GATSBY_", "VITE_", "PUBLIC_",
)


@dataclass(frozen=True, slots=True)
class NameInfo:
    name: str
    secret: bool  # the name denotes a secret value
    known: bool  # one of the well-known secret names (OPENAI_API_KEY...)
    file_like: bool  # the value is a path to a secret file (GOOGLE_APPLICATION_CREDENTIALS, *_FILE)
    client_prefix: str | None  # "NEXT_PUBLIC_" when the name is exposed to a client bundle


_SPLIT = re.compile(r"[\W_]+")  # the catalog's [_\-.\s]+, and any other punctuation
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")


def tokens(name: str) -> list[str]:
    """``myAPIKey_v2`` -> ``["my", "api", "key", "v2"]``."""
    words: list[str] = []
    for part in _SPLIT.split(name):
        if not part:
            continue
        if part.isupper() or part.islower() or not part.isalnum():
            words.append(part.lower())
        else:
            words.extend(word.lower() for word in _CAMEL.findall(part))
    return words


def _normalize(name: str) -> str:
    return "_".join(tokens(name))


# Trivy default_envs and the secret-bearing hadolint names, plus the AI providers (§D2 step 2).
KNOWN_SECRET_NAMES: frozenset[str] = frozenset(
    _normalize(n)
    for n in (
        "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AZURE_CLIENT_SECRET", "GITHUB_TOKEN",
        "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "NPM_TOKEN", "NPM_AUTH_TOKEN", "DOCKERHUB_PASSWORD", "HEROKU_API_KEY",
        "FIREBASE_TOKEN", "VAULT_TOKEN", "SLACK_TOKEN", "STRIPE_API_KEY", "OPENAI_API_KEY", "HF_TOKEN",
        "GOOGLE_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "DIGITALOCEAN_ACCESS_TOKEN", "CI_DEPLOY_PASSWORD",
        "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "AZURE_OPENAI_API_KEY", "COHERE_API_KEY", "CO_API_KEY",
        "MISTRAL_API_KEY", "GROQ_API_KEY", "XAI_API_KEY", "DEEPSEEK_API_KEY", "TOGETHER_API_KEY",
        "PERPLEXITY_API_KEY", "OPENROUTER_API_KEY", "REPLICATE_API_TOKEN", "PINECONE_API_KEY",
        "HUGGING_FACE_HUB_TOKEN",
    )
)
# Names whose value is the path of a file holding secrets (§D2 step 5).
SECRET_FILE_NAMES: frozenset[str] = frozenset(
    _normalize(n)
    for n in ("GOOGLE_APPLICATION_CREDENTIALS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HF_TOKEN_PATH",
              "KUBECONFIG")
)
# Shell variables that merely look like secret names.
_NOT_SECRET_NAMES = frozenset({"pwd", "oldpwd"})

DENY_TOKENS: frozenset[str] = frozenset(
    {
        # BuildKit's ten
        "apikey", "auth", "credential", "credentials", "key", "password", "pword", "passwd", "secret", "token",
        # added by the catalog
        "psw", "pwd", "jwt", "bearer", "creds", "passphrase", "pat", "sas", "contrasena", "contraseña",
    }
)
DENY_COMPOUNDS: frozenset[str] = frozenset(
    {
        "accesskey", "secretkey", "privatekey", "clientsecret", "signingkey", "encryptionkey", "masterkey",
        "sessiontoken", "refreshtoken", "connectionstring",
    }
)
ALLOW_TOKENS: frozenset[str] = frozenset(
    {
        "public", "file", "version", "path", "dir", "url", "uri", "endpoint", "host", "port", "name", "id", "arn",
        "ref", "type", "length", "size", "ttl", "expiry", "expires", "rotation", "header", "prefix", "format",
        "algorithm", "enabled", "region",
        # publishable by design: NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY, SUPABASE_ANON_KEY
        "publishable", "anon",
    }
)
# detect-secrets KeywordDetector denylist, for undelimited tokens (PGPASSWORD, MYSECRET, dbpass).
_DENY_SUBSTRING = re.compile(
    r"api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|client_?key"
    r"|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret(?!ar)|contraseña|contrasena"
)
# The name part of the gitleaks generic-api-key allowlist, on the normalized name (tokens joined by "_").
_ALLOW_PATTERN = re.compile(
    r"(?:^|_)(?:access_?id|api_?(?:id|name|version)|credentials?_?id"
    r"|(?:bucket|foreign|hot|idx|natural|primary|pub(?:lic)?|schema|sequence)_?key"
    r"|key_?(?:alias|board|code|frame|id|length|mesh|name|pair|press(?:ed)?|ring|selector|signature|size|stone"
    r"|storetype|word|up|down|left|right)"
    r"|key_?vault_?(?:id|name)|secret_?(?:length|name|size)|csrf_?token|(?:api|credentials|token)_?(?:endpoint|ur[il])"
    r"|public_?token|(?:key|token)_?file)(?:_|$)"
)
# Tokens that make a *_FILE / *_PATH name a secret file even without a secret word.
_SECRET_FILE_TOKENS = frozenset({"kubeconfig", "keystore", "keyfile", "credentials", "credential"})


def _client_prefix(name: str, extra: tuple[str, ...]) -> str | None:
    upper = name.upper()
    for prefix in sorted({*extra, *CLIENT_PREFIXES}, key=len, reverse=True):
        if upper.startswith(prefix.upper()) and len(name) > len(prefix):
            return name[: len(prefix)]
    return None


def _denied(words: list[str]) -> bool:
    if any(w in DENY_TOKENS or w in DENY_COMPOUNDS for w in words):
        return True
    if any(a + b in DENY_TOKENS or a + b in DENY_COMPOUNDS for a, b in pairwise(words)):
        return True
    return any(_DENY_SUBSTRING.search(w) or (len(w) > 5 and w.endswith("token")) for w in words)


def _allowed(words: list[str], normalized: str) -> bool:
    return any(w in ALLOW_TOKENS for w in words) or _ALLOW_PATTERN.search(normalized) is not None


def _secret_words(words: list[str]) -> bool:
    normalized = "_".join(words)
    if normalized in KNOWN_SECRET_NAMES:
        return True
    return _denied(words) and not _allowed(words, normalized)


@lru_cache(maxsize=16384)
def _analyze(name: str, extra_prefixes: tuple[str, ...]) -> NameInfo:
    prefix = _client_prefix(name, extra_prefixes)
    words = tokens(name[len(prefix):] if prefix else name)
    normalized = "_".join(words)
    known = normalized in KNOWN_SECRET_NAMES
    stem = words[:-1]
    file_like = normalized in SECRET_FILE_NAMES or (
        len(words) > 1 and words[-1] in ("file", "path")
        and (_secret_words(stem) or not _SECRET_FILE_TOKENS.isdisjoint(stem))
    )
    if file_like or normalized in _NOT_SECRET_NAMES:
        secret = False
    elif known:
        secret = True
    else:
        # The bare Astro/SvelteKit prefix "PUBLIC_" is also a word of the name: PUBLIC_KEY is a public key.
        whole = _normalize(name) if prefix is not None and prefix.upper() == "PUBLIC_" else normalized
        secret = _denied(words) and not _allowed(words, normalized) and not _ALLOW_PATTERN.search(whole)
    return NameInfo(name, secret, known, file_like, prefix)


def analyze_name(name: str, client_prefixes: tuple[str, ...] = ()) -> NameInfo:
    """SECRET_NAME(name) with the details rules need: known name, secret-file name, client prefix.

    ``client_prefixes`` adds configured prefixes (a Vite ``envPrefix``...) to :data:`CLIENT_PREFIXES`.
    """
    return _analyze(name.strip(), tuple(client_prefixes))


def is_secret_name(name: str) -> bool:
    return analyze_name(name).secret
