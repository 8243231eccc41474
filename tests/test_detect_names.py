"""Secret-name detection (rule catalog §D2)."""

from __future__ import annotations

import pytest

from auditor.detect.names import CLIENT_PREFIXES, analyze_name, is_secret_name, tokens

# (name, secret, known, file_like, client_prefix)
CASES: list[tuple[str, bool, bool, bool, str | None]] = [
    # known names (always secret, allow-tokens notwithstanding)
    ("OPENAI_API_KEY", True, True, False, None),
    ("ANTHROPIC_API_KEY", True, True, False, None),
    ("AWS_ACCESS_KEY_ID", True, True, False, None),
    ("AWS_SECRET_ACCESS_KEY", True, True, False, None),
    ("GITHUB_TOKEN", True, True, False, None),
    ("HF_TOKEN", True, True, False, None),
    ("CO_API_KEY", True, True, False, None),
    ("HUGGING_FACE_HUB_TOKEN", True, True, False, None),
    ("openaiApiKey", True, True, False, None),
    # client prefixes: stripped and recorded; BuildKit's "public" allow-token does not hide them
    ("NEXT_PUBLIC_OPENAI_API_KEY", True, True, False, "NEXT_PUBLIC_"),
    ("VITE_OPENAI_API_KEY", True, True, False, "VITE_"),
    ("REACT_APP_STRIPE_SECRET_KEY", True, False, False, "REACT_APP_"),
    ("EXPO_PUBLIC_API_TOKEN", True, False, False, "EXPO_PUBLIC_"),
    ("NUXT_PUBLIC_GROQ_API_KEY", True, True, False, "NUXT_PUBLIC_"),
    ("NEXT_PUBLIC_TOKEN", True, False, False, "NEXT_PUBLIC_"),
    ("VITE_API_URL", False, False, False, "VITE_"),
    ("GATSBY_SITE_NAME", False, False, False, "GATSBY_"),
    # publishable by design
    ("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", False, False, False, "NEXT_PUBLIC_"),
    ("STRIPE_PUBLISHABLE_KEY", False, False, False, None),
    ("SUPABASE_ANON_KEY", False, False, False, None),
    ("NEXT_PUBLIC_SUPABASE_ANON_KEY", False, False, False, "NEXT_PUBLIC_"),
    ("PUBLIC_KEY", False, False, False, "PUBLIC_"),
    ("STRIPE_PUBLIC_KEY", False, False, False, None),
    # deny tokens, compounds, bigrams
    ("GITHUB_PAT", True, False, False, None),
    ("DB_PASSWORD", True, False, False, None),
    ("JWT_SECRET", True, False, False, None),
    ("SECRET_KEY_BASE", True, False, False, None),
    ("SESSION_TOKEN", True, False, False, None),
    ("AZURE_STORAGE_CONNECTION_STRING", True, False, False, None),
    ("ssh_passphrase", True, False, False, None),
    ("apiKey", True, False, False, None),
    ("myApiKey", True, False, False, None),
    ("x-api-key", True, False, False, None),
    ("spring.datasource.password", True, False, False, None),
    ("BEARER", True, False, False, None),
    ("OAuthClientSecret", True, False, False, None),
    ("contraseña", True, False, False, None),
    # detect-secrets substring fallback for undelimited tokens
    ("PGPASSWORD", True, False, False, None),
    ("MYSQL_ROOTPASSWORD", True, False, False, None),
    ("dbpass", True, False, False, None),
    ("GHTOKEN", True, False, False, None),
    # allow tokens and patterns
    ("MY_API_KEY_ID", False, False, False, None),
    ("CLIENT_ID", False, False, False, None),
    ("DATABASE_URL", False, False, False, None),
    ("TOKEN_TYPE", False, False, False, None),
    ("PASSWORD_LENGTH", False, False, False, None),
    ("SECRET_NAME", False, False, False, None),
    ("KEY_VAULT_NAME", False, False, False, None),
    ("CSRF_TOKEN", False, False, False, None),
    ("API_VERSION", False, False, False, None),
    ("PRIMARY_KEY", False, False, False, None),
    ("AUTH_ENABLED", False, False, False, None),
    ("TOKEN_ENDPOINT", False, False, False, None),
    ("KMS_KEY_ARN", False, False, False, None),
    # secret-file names: a path, not a secret
    ("DB_PASSWORD_FILE", False, False, True, None),
    ("GOOGLE_APPLICATION_CREDENTIALS", False, False, True, None),
    ("AWS_CONFIG_FILE", False, False, True, None),
    ("AWS_SHARED_CREDENTIALS_FILE", False, False, True, None),
    ("HF_TOKEN_PATH", False, False, True, None),
    ("KUBECONFIG", False, False, True, None),
    ("SSL_KEY_FILE", False, False, True, None),
    ("LOG_FILE", False, False, False, None),
    ("LD_LIBRARY_PATH", False, False, False, None),
    # not secrets at all
    ("PWD", False, False, False, None),
    ("OLDPWD", False, False, False, None),
    ("AUTH0_DOMAIN", False, False, False, None),
    ("TOKENIZERS_PARALLELISM", False, False, False, None),
    ("OPENAI_MAX_TOKENS", False, False, False, None),
    ("SECRETARY_EMAIL", False, False, False, None),
    ("NODE_ENV", False, False, False, None),
    ("AUTHOR", False, False, False, None),
]


@pytest.mark.parametrize(("name", "secret", "known", "file_like", "prefix"), CASES, ids=[c[0] for c in CASES])
def test_analyze_name(name: str, secret: bool, known: bool, file_like: bool, prefix: str | None) -> None:
    info = analyze_name(name)
    assert (info.name, info.secret, info.known, info.file_like, info.client_prefix) == (
        name, secret, known, file_like, prefix
    )
    assert is_secret_name(name) is secret


def test_configured_client_prefix() -> None:
    info = analyze_name("APP_OPENAI_API_KEY", client_prefixes=("APP_",))
    assert (info.secret, info.known, info.client_prefix) == (True, True, "APP_")
    assert analyze_name("APP_OPENAI_API_KEY").client_prefix is None


def test_client_prefix_keeps_the_spelling_of_the_name() -> None:
    assert analyze_name("vite_api_token").client_prefix == "vite_"
    assert analyze_name("VITE_").client_prefix is None  # nothing after the prefix


def test_default_client_prefixes_cover_the_catalog() -> None:
    assert set(CLIENT_PREFIXES) == {
        "NEXT_PUBLIC_", "NUXT_PUBLIC_", "EXPO_PUBLIC_", "REACT_APP_", "VUE_APP_", "GATSBY_", "VITE_", "PUBLIC_",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("OPENAI_API_KEY", ["openai", "api", "key"]),
        ("myAPIKey", ["my", "api", "key"]),
        ("apiKey_v2", ["api", "key", "v2"]),
        ("x-api-key", ["x", "api", "key"]),
        ("s3BucketName", ["s3", "bucket", "name"]),
        ("spring.datasource.password", ["spring", "datasource", "password"]),
        ("AUTH0_DOMAIN", ["auth0", "domain"]),
    ],
)
def test_tokens(name: str, expected: list[str]) -> None:
    assert tokens(name) == expected
