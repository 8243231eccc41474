"""Name-gated generic secrets in source code."""

from __future__ import annotations

import pytest

from auditor.detect.generic import find_generic_secrets

TOKEN = "q8Vn2LrT5wXz0aBcKj7Hm3Ps9dEf"


@pytest.mark.parametrize("line", [
    f'PAYMENTS_API_TOKEN = "{TOKEN}"',
    f"client_secret: str = '{TOKEN}'",
    f'const apiKey = `{TOKEN}`;',
    f'    "refresh_token": "{TOKEN}",',
    f'db_password := "{TOKEN}"',
    f'config.auth_token = "{TOKEN}"',
])
def test_secret_named_random_literal_is_found(line: str) -> None:
    [match] = find_generic_secrets(f"x = 1\n{line}\n", "app/settings.py")
    assert match.location.line == 2
    assert match.value.text == TOKEN
    assert line[match.location.column - 1:].startswith(TOKEN)


@pytest.mark.parametrize("line", [
    f'REQUEST_ID = "{TOKEN}"',  # not a secret name
    'API_KEY = os.environ["OPENAI_API_KEY"]',  # a reference, no literal
    'SECRET_KEY = "changeme-in-production-please"',  # placeholder-like words
    '"V1Secret": ".models.v1_secret",',  # a module path
    'WS_KEY = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"',  # a UUID
    '"service_account_token": "V1ServiceAccountTokenProjection"',  # a class name
    'token_type = "List[StorageV1TokenRequest]"',
    'password = "correct horse battery staple"',  # spaces: not a token
    'auth_header_name = "X-Authorization-Token"',
    f'OPENAI_API_KEY = "sk-proj-{TOKEN}T3BlbkFJ{TOKEN}"',  # a provider format: the provider detector's
])
def test_not_a_generic_secret(line: str) -> None:
    assert find_generic_secrets(line + "\n", "app/settings.py") == []
