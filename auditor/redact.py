"""The one module that turns secret values into something printable: a redacted form and a keyed fingerprint."""

from __future__ import annotations

import hashlib
import hmac
import re

# Known prefixes worth keeping: they say what kind of key leaked without revealing it. Each is at most 15
# characters, so a redacted form never holds 16 characters of a secret (the canary check's threshold).
_PREFIX = re.compile(
    r"^(?:sk-(?:proj|svcacct|service|admin|ant-api03|ant-admin01|or-v1)-|sk-|[sr]k_(?:live|test|prod)_|pk_(?:live|test)_"
    r"|AKIA|ASIA|ABIA|ACCA|ABSK|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|gldt-|glrt-|glcbt-|glptt-|gloas-|GR1348941"
    r"|xox[bpae]-|xapp-|AIza|hf_|api_org_|gsk_|xai-|r8_|pplx-|lsv2_(?:pt|sk)_|pcsk_|dapi|SG\.|npm_|pypi-|hvs\.|hvb\."
    r"|do[opr]_v1_|eyJ)"
)


def redact(value: str) -> str:
    """``sk-proj-...(164 chars)``: a known provider prefix at most, and the length."""
    if not value:
        return "(empty)"
    match = _PREFIX.match(value)
    prefix = match.group(0) if match and len(value) >= len(match.group(0)) + 8 else ""
    return f"{prefix}...({len(value)} chars)"


def fingerprint(value: str, key: bytes) -> str:
    """A keyed HMAC-SHA256 of the value (hex, 128 bits): stable for one key, useless without it."""
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
