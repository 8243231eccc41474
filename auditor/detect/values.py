"""Value classification (rule catalog §D3) and the entropy gate (§D1).

:func:`classify` is called once for every site value: it says whether the value is empty, a reference to a
secret held elsewhere (CI secret, environment variable, Terraform expression, secret store, encrypted blob,
unrendered template, file path), a placeholder, a literal with references inside (interpolated), or a plain
literal. :func:`looks_secret` is SECRET_VALUE: a provider-format key, or a value random enough to be one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

from auditor.detect import providers
from auditor.model import RefKind, Value, ValueKind

_QUOTED = re.compile(r"""^(['"])(.*)\1$""", re.S)

# --- references: the whole value points at a secret held elsewhere -------------------------------------------------

_GHA_EXPR = re.compile(r"^\$\{\{\s*(.*?)\s*\}\}$", re.S)  # ${{ ... }} (GitHub Actions, Azure templates)
_GHA_SECRET = re.compile(r"\bsecrets(?:\.([A-Za-z_][\w-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_GITLAB_INPUT = re.compile(r"^\$\[\[\s*(.*?)\s*\]\]$", re.S)  # $[[ inputs.x ]]
_AZURE_RUNTIME = re.compile(r"^\$\[\s*(.*?)\s*\]$", re.S)  # $[variables.x]
_CIRCLECI = re.compile(r"^<<\s*((?:pipeline\.)?parameters\.[\w.-]+|pipeline\.[\w.-]+)\s*>>$")
_ENV_SIMPLE = re.compile(r"^\$\$?([A-Za-z_]\w*|\d+)$")  # $VAR, $1, $$VAR (compose escape)
_ENV_POSITIONAL = re.compile(r"^\$\{(\d+)\}$")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:=default}, ${VAR:+alt}, ${VAR:?err}, ${#VAR}, ${VAR//a/b}...
_ENV_BRACED = re.compile(r"^\$\{#?([A-Za-z_]\w*)(?:(:?[-=+?])(.*)|[:/^,%#@].*)?\}$", re.S)
_ENV_PAREN = re.compile(r"^\$\(\s*([A-Za-z_][\w.]*)\s*\)$")  # $(VAR): Kubernetes, Azure macro
_ENV_PERCENT = re.compile(r"^%([A-Za-z_]\w*)%$")  # %VAR% (cmd)
_ENV_POWERSHELL = re.compile(r"^\$(?:\{env:([A-Za-z_]\w*)\}|env:([A-Za-z_]\w*))$", re.I)
_TF_BARE = re.compile(  # var.x, local.x, module.m.out, data.TYPE.NAME.attr, ephemeral.TYPE.NAME.attr
    r"^(?:(?:var|local|module)\.[A-Za-z_][\w-]*|(?:data|ephemeral)\.[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*)"
    r"(?:\.[\w*-]+|\[[^\]]*\])*$"
)
_TF_INTERP = re.compile(r"^\$\{([^{}]+)\}$")  # ${var.x}, ${random_password.db.result}, ${jsondecode(...)}
_TEMPLATE = re.compile(r"^\{\{((?:(?!\}\}).)*)\}\}$", re.S)  # one {{ ... }} (Helm, Jinja, Go templates)
_AT_TEMPLATE = re.compile(r"^@([A-Za-z_]\w*)@$")  # @VAR@ (autoconf, Maven)
_STORE = re.compile(
    r"^(?:arn:aws[\w-]*:secretsmanager:\S+"
    r"|arn:aws[\w-]*:ssm:[^:\s]*:[^:\s]*:parameter/\S+"
    r"|projects/[^/\s]+/secrets/[^/\s]+(?:/versions/[^/\s]+)?"
    r"|https://[\w-]+\.vault\.azure\.net/secrets/\S*"
    r"|@Microsoft\.KeyVault\(.+\)"
    r"|op://\S+"
    r"|ref\+\w+://\S+"
    r"|vault:[\w-]+/\S+"
    r"|\{\{\s*resolve:(?:secretsmanager|ssm-secure|ssm):[^}]+\}\})$",
    re.I,
)
_ENCRYPTED = re.compile(
    r"^(?:ENC\[[A-Z0-9_]+,data:|\$ANSIBLE_VAULT;|-----BEGIN (?:PGP MESSAGE|AGE ENCRYPTED FILE)-----)"
)
_PATH = re.compile(r"^(?:~|\.{1,2}|[A-Za-z]:)?[/\\][\w.@ ~-]*(?:[/\\][\w.@ ~-]*)*$")
_PATH_SEGMENT = re.compile(r"[^/\\]+")

# A reference embedded in a longer value ("Bearer ${TOKEN}", "postgres://u:${PW}@h").
_EMBEDDED = re.compile(
    r"\$\{\{.*?\}\}"  # ${{ ... }}
    r"|\$\[\[.*?\]\]"  # $[[ inputs.x ]]
    r"|\$\{[^{}]*\}"  # ${VAR}, ${var.x}
    r"|\$\([^()]*\)"  # $(VAR), $(command)
    r"|\$\[[^\[\]]+\]"  # $[variables.x]
    r"|\{\{.*?\}\}"  # {{ template }}
    r"|<<\s*[\w.-]+\s*>>"  # << pipeline.parameters.x >>
    r"|%[A-Za-z_]\w*%"  # %VAR%
    r"|\$env:[A-Za-z_]\w*"  # $env:X
    r"|\$(?:[A-Z_][A-Z0-9_]*|[a-z_][a-z0-9_]*)\b",  # $VAR
    re.S | re.I,
)

# --- placeholders ---------------------------------------------------------------------------------------------------

_PLACEHOLDER_VALUES = frozenset(
    {
        "changeme", "changeit", "replaceme", "dummy", "example", "sample", "placeholder", "redacted", "todo", "tbd",
        "fixme", "fake", "test", "foo", "bar", "baz", "none", "null", "nil", "true", "false", "undefined", "password",
        "passwd", "pass", "pwd", "secret", "token", "key", "apikey", "value", "string", "xxx", "required", "optional",
        "unset", "notset", "empty", "na", "n/a",
    }
)
# Words that mark a wordy value ("test-token", "my_fake_key", "demoPassword") as a placeholder.
_PLACEHOLDER_TOKENS = frozenset(
    {
        "example", "examples", "sample", "dummy", "fake", "test", "testing", "mock", "demo", "foo", "bar", "baz",
        "placeholder", "redacted", "changeme", "todo", "fixme", "your", "yours",
    }
)
# Markers that make any value a placeholder, even a random-looking one (AKIAIOSFODNN7EXAMPLE, ghp_xxxxx...).
_PLACEHOLDER_ANYWHERE = re.compile(
    r"(?i:example|sample|dummy|placeholder|change_?me|changeit|replace_?me|redacted)"
    r"|(?i:(?:^|[^a-z0-9])your(?:[^a-z]|$|[a-z]*(?:key|token|secret|password|pass|pwd|id|here)))"
    r"|x{5,}|X{5,}|\*{3,}|\.{3}|\u2026|\u2022{3,}"
    r"|<[A-Za-z_][^<>\n]{0,80}>"
)
_PLACEHOLDER_WHOLE = re.compile(
    r"^(?:"
    r"(?i:x{3,})"
    r"|(.)\1*"  # one repeated character (gitleaks: a+|b+|...|\*+|\.+)
    r"|[A-Za-z0-9]{1,12}[-_](?:[A-Za-z0-9]{1,12}[-_])?[xX*.]{3,}"  # sk-xxx, sk-proj-..., ghp_****
    r"|%[+\-# 0]?[bcdeEfFgGoOpqstTUvxX]|%\(\w+\)[sd]"  # printf formats
    r"|\{\s*[\w.-]*\s*\}"  # {0}, {password}
    r"|\[[A-Za-z _-]+\]"  # [YOUR KEY]
    r"|(?i:(?:insert|enter|paste|put|add|replace)[-_ ](?:your|the|an?|key|token|secret|password|api|value|here).*)"
    r"|(?i:.*[-_ ]here)"
    r"|(?i:my[-_]?(?:pass(?:word)?|pw|pwd|secret|token|key|apikey|api[-_]key|acct|account)[a-z]*)"  # mypassword
    r"|(?i:[^:\s]+:(?:change(?:it|me)|pass(?:word)?|pwd|test|token|\*+|x+))"  # gitleaks curl-auth-user allowlist
    r")$",
    re.S,
)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_SEQUENCES = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ+/",
    "0123456789ABCDEF0123456789ABCDEF",
    "01234567890123456789",
    "ZYXWVUTSRQPONMLKJIHGFEDCBA",
    "98765432109876543210",
)

# --- the entropy gate and human passwords ---------------------------------------------------------------------------

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/\-_=]+$")
# Words joined by separators: "hmac-sha256", "scram-sha-256", "db-password", "us-east-1", "en_US.UTF-8".
_IDENTIFIER = re.compile(r"^(?:[A-Za-z]+\d*|\d{1,4})(?:[-_.:/@+](?:[A-Za-z]+\d*|\d{1,4}))+$")
_NUMBERISH = re.compile(
    r"^(?:[-+]?\d+(?:[.,:]\d+)*\s*[A-Za-z%]{0,3}"  # 3600, 30s, 1.5GB, 100ms, 10:30
    r"|v?\d+(?:\.\d+)+(?:[-+][\w.]+)?"  # versions
    r"|\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)$"  # dates
)
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")


def _unquote(text: str) -> str:
    stripped = text.strip()
    match = _QUOTED.match(stripped)
    return match.group(2).strip() if match else stripped


def _is_path(text: str) -> bool:
    if not _PATH.match(text) or not any(c.isalpha() for c in text):
        return False
    # A random segment is a key that happens to contain "/" (AWS secret keys do), not a path.
    return not any(
        len(seg) >= 16 and any(c.isupper() for c in seg) and any(c.islower() for c in seg)
        and any(c.isdigit() for c in seg)
        for seg in _PATH_SEGMENT.findall(text)
    )


def _reference(text: str) -> Value | None:
    """The value as a whole points at a secret held elsewhere."""
    if _ENCRYPTED.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.ENCRYPTED)
    if m := _GHA_EXPR.match(text):
        expr = m.group(1)
        if s := _GHA_SECRET.search(expr):
            return Value(text, ValueKind.REFERENCE, RefKind.CI_SECRET, s.group(1) or s.group(2))
        if re.search(r"\bsecrets\b", expr):  # toJSON(secrets), secrets[matrix.name]
            return Value(text, ValueKind.REFERENCE, RefKind.CI_SECRET)
        if expr == "github.token":
            return Value(text, ValueKind.REFERENCE, RefKind.CI_SECRET, "GITHUB_TOKEN")
        return Value(text, ValueKind.REFERENCE, RefKind.CI_CONTEXT, expr)
    for pattern in (_GITLAB_INPUT, _AZURE_RUNTIME, _CIRCLECI):
        if m := pattern.match(text):
            return Value(text, ValueKind.REFERENCE, RefKind.CI_CONTEXT, m.group(1))
    if m := _ENV_POWERSHELL.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.ENV_VAR, m.group(1) or m.group(2))
    if m := _ENV_BRACED.match(text):
        default = m.group(3) if m.group(2) and m.group(2)[-1] in "-=+" else None
        return Value(text, ValueKind.REFERENCE, RefKind.ENV_VAR, m.group(1), default)
    for pattern in (_ENV_SIMPLE, _ENV_POSITIONAL, _ENV_PAREN, _ENV_PERCENT):
        if m := pattern.match(text):
            return Value(text, ValueKind.REFERENCE, RefKind.ENV_VAR, m.group(1))
    if _STORE.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.STORE, text)
    if _TF_BARE.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.VARIABLE, text)
    if m := _TF_INTERP.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.VARIABLE, m.group(1).strip())
    if m := _TEMPLATE.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.TEMPLATE, m.group(1).strip())
    if m := _AT_TEMPLATE.match(text):
        return Value(text, ValueKind.REFERENCE, RefKind.TEMPLATE, m.group(1))
    if _is_path(text):
        return Value(text, ValueKind.REFERENCE, RefKind.PATH, text)
    return None


def _is_sequential(text: str) -> bool:
    """detect-secrets' sequential-string filter, plus any ascending run of 8 (``...12345678...``)."""
    upper = text.upper()
    if len(upper) >= 4 and any(upper in seq for seq in _SEQUENCES):
        return True
    run = 1
    for prev, cur in pairwise(upper):
        run = run + 1 if cur.isalnum() and ord(cur) == ord(prev) + 1 else 1
        if run >= 8:
            return True
    return False


def _is_wordy(text: str) -> bool:
    """Made of words and short numbers (``test-token``, ``my_fake_key2``), not of random runs."""
    return all(run.isalpha() or (run.isdigit() and len(run) <= 6) or len(run) < 8 for run in _ALNUM_RUN.findall(text))


def is_placeholder(text: str) -> bool:
    """PLACEHOLDER (§D3): ``changeme``, ``<your-key>``, ``xxxx``, ``sk-...``, ``your-api-key-here``, ``test``..."""
    value = _unquote(text)
    if not value:
        return True
    if value.lower().replace("-", "").replace("_", "").replace(" ", "") in _PLACEHOLDER_VALUES:
        return True
    if _PLACEHOLDER_WHOLE.match(value) or _PLACEHOLDER_ANYWHERE.search(value):
        return True
    if not any(c.isalpha() for c in value):  # letter-free: numbers, IPs, "****"
        return True
    if _is_sequential(value):
        return True
    if "://" not in value and _is_wordy(value):
        return any(word.lower() in _PLACEHOLDER_TOKENS for word in _WORD.findall(value))
    return False


def classify(text: str) -> Value:
    """Classify a raw value once; every parser calls this for every site value."""
    value = _unquote(text)
    if not value:
        return Value(text, ValueKind.EMPTY)
    if ref := _reference(value):
        return Value(text, ref.kind, ref.ref, ref.ref_name, ref.default)
    literal_part = _EMBEDDED.sub(" ", value)
    if literal_part != value:  # references inside a longer value ("Bearer ${TOKEN}")
        if _PLACEHOLDER_ANYWHERE.search(literal_part):  # "Bearer <token> ${X}"
            return Value(text, ValueKind.PLACEHOLDER)
        return Value(text, ValueKind.INTERPOLATED)
    if is_placeholder(value):
        return Value(text, ValueKind.PLACEHOLDER)
    return Value(text, ValueKind.LITERAL)


def references(text: str) -> list[Value]:
    """Every reference inside ``text`` (``Bearer ${{ secrets.A }} ${B}`` gives two), each classified."""
    return [ref for m in _EMBEDDED.finditer(text) if (ref := _reference(m.group(0))) is not None]


def shannon_entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _hex_entropy(text: str) -> float:
    """detect-secrets' hex entropy: all-digit strings are penalised by 1.2 / log2(len)."""
    entropy = shannon_entropy(text)
    if len(text) > 1 and text.isdigit():
        entropy -= 1.2 / math.log2(len(text))
    return entropy


def passes_entropy_gate(text: str) -> bool:
    """The catalog's entropy gate on the longest whitespace-free token of a literal.

    Hex: entropy >= 3.0 (with the all-digits penalty). Otherwise: length >= 12, entropy > 3.5 and a digit
    (gitleaks + TruffleHog), or a base64-charset string with entropy >= 4.5 (detect-secrets).
    """
    if "://" in text:
        return False
    token = max(text.split(), key=len, default="")
    if len(token) < 12 or _IDENTIFIER.match(token):
        return False
    if _HEX.match(token):
        return _hex_entropy(token) >= 3.0
    entropy = shannon_entropy(token)
    if _BASE64.match(token) and entropy >= 4.5:
        return True
    return entropy > 3.5 and any(c.isdigit() for c in token)


def _is_human_password(text: str) -> bool:
    """A short literal that reads as a chosen password (``S3cr3tP@ss!``), not a word, number, name or URL."""
    if len(text) < 8 or "://" in text or any(c.isspace() for c in text):
        return False
    if text.isalpha() or _NUMBERISH.match(text) or _IDENTIFIER.match(text) or _EMAIL.match(text):
        return False
    classes = (
        any(c.islower() for c in text),
        any(c.isupper() for c in text),
        any(c.isdigit() for c in text),
        any(not c.isalnum() for c in text),
    )
    return sum(classes) >= 2


def is_literal_password(text: str) -> bool:
    """A committed literal that can only be a password when set under a password name (``gitea``, ``whalehello``,
    ``example_123``): weak or a demo default, but a working credential. Not numbers, paths, URLs or placeholders."""
    value = _unquote(text)
    if len(value) < 4 or any(c.isspace() for c in value) or "://" in value or value.startswith(("/", "./", "~")):
        return False
    if _NUMBERISH.match(value) or _EMAIL.match(value):
        return False
    return classify(value).kind is ValueKind.LITERAL


def looks_secret(text: str, *, name_is_secret: bool = False) -> bool:
    """SECRET_VALUE: a provider-format key (publishable ones excluded) or a literal passing the entropy gate.

    With ``name_is_secret=True`` (the value sits under a secret name) a shorter human password of 8+
    characters also counts, as long as it is not a placeholder, a plain word, a number or duration, a
    URL without credentials, a path or an identifier such as ``scram-sha-256``.
    """
    value = _unquote(text)
    if classify(value).kind is not ValueKind.LITERAL:
        return False
    detector = providers.match_value(value)
    if detector is not None:
        return not detector.publishable
    if passes_entropy_gate(value):
        return True
    return name_is_secret and _is_human_password(value)
