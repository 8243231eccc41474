"""Name-gated generic secrets in source code: ``PAYMENTS_API_TOKEN = "q8Vn2Lr..."``.

The provider detectors find keys by their format; this one finds a quoted literal assigned to a secret name
(rule catalog D2) when the literal passes the entropy gate (D1, "generic fallback"). It runs only on files no
structured parser reads (source code, docs, unknown configs): there the site-based rules judge names and values.
"""

from __future__ import annotations

import re

from auditor.detect.names import analyze_name
from auditor.detect.providers import match_value
from auditor.detect.values import is_placeholder, passes_entropy_gate
from auditor.model import KeyMatch, Location, Value, ValueKind

DETECTOR_ID = "generic-secret"
LABEL = "Secret-named literal"

# name, optional type annotation, an assignment operator, then a quoted literal without spaces
_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_$][\w$.-]{1,80}?)["']?\s*(?::\s*[\w.\[\]| ]{1,40}\s*)?(?:=|:=|=>|:)\s*"""
    r"""(?:[frbuFRBU]{0,2})(?P<q>["'`])(?P<value>[A-Za-z0-9+/=_.~-]{16,256})(?P=q)""",
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")  # identifiers far more often than keys
_WORD_PART = re.compile(r"[A-Za-z]+\d{0,3}|\d{1,4}")
_SEPARATORS = re.compile(r"[._/-]+")
# V1ServiceAccountTokenProjection, OAuth2ClientCredentials: class names, not keys
_CAMEL_NAME = re.compile(r"(?:[A-Z][a-z]{2,}\d*|[A-Z]{1,4}\d*(?=[A-Z]|$)|[a-z]{2,})+")
_KEYWORDS = ("key", "secret", "token", "passw", "pwd", "auth", "credential", "apikey")


def find_generic_secrets(text: str, path: str) -> list[KeyMatch]:
    lowered = text.lower()
    if not any(k in lowered for k in _KEYWORDS):
        return []
    found: list[KeyMatch] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        low = line.lower()
        if len(line) > 2000 or not any(k in low for k in _KEYWORDS):
            continue
        for m in _ASSIGNMENT.finditer(line):
            name = m.group("name").rsplit(".", 1)[-1]
            value = m.group("value")
            if not analyze_name(name).secret or is_placeholder(value) or _identifier_like(value):
                continue
            if not passes_entropy_gate(value):
                continue
            if match_value(value) is not None:  # a provider format: the provider detector reports it
                continue
            found.append(KeyMatch(DETECTOR_ID, LABEL, Value(value, ValueKind.LITERAL),
                                  Location(path, lineno, m.start("value") + 1)))
    return found


def _identifier_like(value: str) -> bool:
    """Module paths, dotted names and UUIDs: ``.models.v1_secret``, ``auth.token_url``, ``258EAFA5-E914-...``."""
    if _UUID.match(value) or _CAMEL_NAME.fullmatch(value):
        return True
    parts = [p for p in _SEPARATORS.split(value) if p]
    return len(parts) > 1 and all(_WORD_PART.fullmatch(p) or _CAMEL_NAME.fullmatch(p) for p in parts)
