"""Provider-format key detection (rule catalog §D1).

Each detector is one row of :data:`DETECTORS`: an id, a label, a regex whose first participating group
is the secret (the whole match when it has none), an entropy threshold (the catalog's, or 3.0 for a random
token where it gives none; the captured secret must have *more* entropy, as in gitleaks), lowercase
keywords (the regex only runs when one occurs in the lowercased text), an optional allowlist regex, and
for what a regex cannot say, small named predicates: ``valid`` on the secret (JWT claims, URL passwords)
and ``context`` on the text around it (AWS secret keys, Azure OpenAI and DeepSeek keys, which have no
prefix of their own).

Go regexes are ported as the catalog says: ``re.ASCII``, mid-pattern ``(?i)`` scoped as ``(?i:...)``. Where
gitleaks wraps a rule in ``\\b(...)(?:[\\x60'"\\s;]|\\\\[nr]|$)`` we use the lookahead :data:`_END`
(not followed by a key character), which accepts every terminator gitleaks accepts plus ``,`` ``)`` ``&``...,
and never consumes it. Leading ``[\\w.-]{0,50}?`` name prefixes are dropped: they only widen the full
match, never the captured secret, and they make a whole-file scan slow.

Speed (``find_keys`` runs on every text file): one regex, a trie of all keywords, tells which detectors can
match at all; ``\\b<literal>`` is written as ``<literal>(?<!\\w<literal>)`` (:func:`_word`) so the engine can
search for the literal; and detectors whose regex cannot start with a literal search only a ``window``
around their keywords' occurrences. Some 0.15 s for 5 MB of source code.

Every candidate also goes through the §D3 placeholder filter (``sk-xxxx``, ``AKIAIOSFODNN7EXAMPLE``,
``ghp_1234567890abcdef...``), and overlapping candidates keep the first detector of the table, so a GitHub
token used as a URL password is reported once, as a GitHub token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import string
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.detect import values
from auditor.model import KeyMatch, Location, Value, ValueKind

ContextCheck = Callable[[str, int, int], bool]
"""``(text, start, end) -> bool``: whether the text around the secret at ``text[start:end]`` fits."""


@dataclass(frozen=True, slots=True)
class Detector:
    id: str
    label: str
    pattern: re.Pattern[str]
    min_entropy: float = 0.0  # the captured secret is dropped when its entropy is <= this (0: no check)
    publishable: bool = False  # publishable by design (Stripe pk_, Supabase anon JWT)
    keywords: tuple[str, ...] = ()  # lowercase; the detector runs only when one occurs in the lowercased text
    allow: re.Pattern[str] | None = None  # per-rule allowlist, searched in the secret
    valid: Callable[[str], bool] | None = None  # extra check on the secret
    context: ContextCheck | None = None  # extra check on the surrounding text
    window: tuple[int, int] | None = None  # (before, after): the secret starts this near a keyword occurrence


_END = r"(?![A-Za-z0-9_-])"


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


def _word(literal: str) -> str:
    """``\\b<literal>`` written so that the regex engine can search for the literal prefix: ``SG\\.(?<!\\wSG\\.)``
    tests the same as ``\\bSG\\.`` but scans a large file some 20 times faster."""
    escaped = re.escape(literal)
    return rf"{escaped}(?<!\w{escaped})"


# --- predicates ---------------------------------------------------------------------------------------------------


def _b64_json(segment: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a well-formed JWT (JSON header and payload), else None."""
    header, _, rest = token.partition(".")
    payload = rest.partition(".")[0]
    claims = _b64_json(payload)
    if not isinstance(_b64_json(header), dict) or not isinstance(claims, dict):
        return None
    return claims


def _jwt(token: str) -> bool:
    return _jwt_claims(token) is not None


def _jwt_role(role: str) -> Callable[[str], bool]:
    def check(token: str) -> bool:
        claims = _jwt_claims(token)
        return claims is not None and claims.get("role") == role

    return check


def _url_password(password: str) -> bool:
    """A real password, not a reference or a placeholder (``${DB_PASSWORD}``, ``****``, ``password``)."""
    return values.classify(password).kind is ValueKind.LITERAL


def _mixed_case_and_digit(secret: str) -> bool:
    """Random base64 (AWS secret keys): upper, lower and digits. Rules out hex digests and words."""
    return any(c.isupper() for c in secret) and any(c.islower() for c in secret) and any(c.isdigit() for c in secret)


def _near(words: str, before: int, after: int = 0) -> ContextCheck:
    """Context check: ``words`` (a case-insensitive regex) occurs within ``before``/``after`` chars of the secret."""
    pattern = re.compile(words, re.IGNORECASE)

    def check(text: str, start: int, end: int) -> bool:
        return pattern.search(text, max(0, start - before), min(len(text), end + after)) is not None

    return check


_AWS_SAME_LINE = re.compile(r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['\"]$", re.IGNORECASE)
_AWS_KEY_NAME = re.compile(r"secret[\w.\s-]{0,12}?key|secret_?access|aws[\w.-]{0,20}?(?:key|token|pass|pwd|secret)",
                           re.IGNORECASE)
_AWS_WIDE = re.compile(r"aws|\b(?:AKIA|ASIA)[A-Z2-7]{16}\b", re.IGNORECASE)


def _aws_secret_context(text: str, start: int, _end: int) -> bool:
    """detect-secrets' same-line form (``aws...key...'<40>'``), or a secret-key name within 60 characters
    (the previous line counts: ``- name: AWS_SECRET_ACCESS_KEY`` / ``value: ...``) with ``aws`` or an
    access key id within 400 characters (``provider "aws" { ... secret_key = "..." }``)."""
    line_start = text.rfind("\n", 0, start) + 1
    if _AWS_SAME_LINE.search(text, max(line_start, start - 80), start):
        return True
    return (
        _AWS_KEY_NAME.search(text, max(0, start - 60), start) is not None
        and _AWS_WIDE.search(text, max(0, start - 400), start) is not None
    )


# --- the table ----------------------------------------------------------------------------------------------------

# gitleaks gcp-api-key allowlist: keys published in Google samples
_GCP_SAMPLES = (
    "AIzaSyabcdefghijklmnopqrstuvwxyz1234567", "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM", "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0", "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c", "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY", "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ", "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU", "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE", "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
)

_JWT = _re("(" + _word("ey") + r"[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)" + _END)
_JWT_KEYWORDS = ("eyj", "eya")  # base64 of '{"' and '{ "': every JSON header starts so
_GUID = r"[a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12}"
_AT_KEYWORD = (0, 0)  # window: the match starts at the keyword (for patterns the engine cannot prefix-search)
_READ_AHEAD = 512  # longer than any windowed key

DETECTORS: tuple[Detector, ...] = (
    # --- AI providers ---
    Detector(
        "openai", "OpenAI API key",
        _re(
            "(" + _word("sk-")
            + r"(?:(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ"
            r"(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})\b"  # gitleaks openai-api-key
            r"|(?:(?:proj|svcacct|service)-[A-Za-z0-9_-]+|[a-zA-Z0-9]+)T3BlbkFJ[A-Za-z0-9_-]+\b"  # trufflehog
            r"|[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}))"  # gitleaks, legacy form
        ),
        3.0, keywords=("t3blbkfj",),
    ),
    Detector("anthropic", "Anthropic API key", _re("(" + _word("sk-ant-api03-") + r"[a-zA-Z0-9_\-]{93}AA)" + _END),
             3.0, keywords=("sk-ant-api03",)),
    Detector("anthropic-admin", "Anthropic admin API key",
             _re("(" + _word("sk-ant-admin01-") + r"[a-zA-Z0-9_\-]{93}AA)" + _END), 3.0, keywords=("sk-ant-admin01",)),
    Detector("openrouter", "OpenRouter API key", _re("(" + _word("sk-or-v1-") + r"[0-9a-f]{64})\b"), 3.0,
             keywords=("sk-or-v1-",)),
    Detector("huggingface", "Hugging Face access token", _re("(" + _word("hf_") + r"[a-zA-Z0-9]{34})\b"), 2.0,
             keywords=("hf_",)),
    Detector("huggingface-org", "Hugging Face organization token", _re("(" + _word("api_org_") + r"[a-zA-Z0-9]{34})\b"),
             2.0, keywords=("api_org_",)),
    Detector("perplexity", "Perplexity API key", _re("(" + _word("pplx-") + r"[a-zA-Z0-9]{48})\b"), 4.0,
             keywords=("pplx-",)),
    Detector("groq", "Groq API key", _re("(" + _word("gsk_") + r"[a-zA-Z0-9]{52})\b"), 3.0, keywords=("gsk_",)),
    Detector("xai", "xAI API key", _re("(" + _word("xai-") + r"[0-9a-zA-Z_]{80})\b"), 3.0, keywords=("xai-",)),
    Detector("replicate", "Replicate API token", _re("(" + _word("r8_") + r"[0-9A-Za-z_-]{37})\b"), 3.0,
             keywords=("r8_",)),
    Detector("langsmith", "LangSmith API key", _re("(" + _word("lsv2_") + r"(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b"),
             3.0, keywords=("lsv2_",)),
    Detector("pinecone", "Pinecone API key", _re("(" + _word("pcsk_") + r"[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63})\b"), 3.0,
             keywords=("pcsk_",)),
    Detector(
        "cohere", "Cohere API key",
        _re(
            r"(?i:(?:cohere|CO_API_KEY)(?:[ \t\w.-]{0,20})[\s'\"]{0,3})(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)"
            r"[\x60'\"\s=]{0,5}([a-zA-Z0-9]{40})(?=[\x60'\"\s;]|\\[nr]|$)"
        ),
        4.0, keywords=("cohere", "co_api_key"), window=(0, 80),
    ),
    # --- cloud ---
    Detector("aws-access-key-id", "AWS access key ID",
             _re("(" + _word("A") + r"(?:3T[A-Z0-9]|KIA|SIA|BIA|CCA)[A-Z2-7]{16})\b"), 3.0,
             keywords=("a3t", "akia", "asia", "abia", "acca"), allow=_re(r".+EXAMPLE$")),
    Detector("aws-bedrock-api-key", "Amazon Bedrock API key",
             _re("(" + _word("ABSK") + r"[A-Za-z0-9+/]{109,269}={0,2})"), 3.0, keywords=("absk",)),
    Detector("aws-bedrock-api-key-short-lived", "Amazon Bedrock API key",
             _re(r"bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=]{40,}"), 3.0,
             keywords=("bedrock-api-key-",)),
    Detector("gcp-api-key", "Google API key", _re("(" + _word("AIza") + r"[\w-]{35})" + _END), 4.0,
             keywords=("aiza",), allow=_re("^(?:" + "|".join(_GCP_SAMPLES) + ")$")),
    Detector(
        "azure-ad-client-secret", "Azure AD client secret",
        # gitleaks' leading (?:^|[...]) as a lookbehind, so the windowed search may start at the secret
        _re(r"(?<![^\\'\"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?=$|[\\'\"\x60\s<),])"),
        3.0, keywords=("q~",), window=(4, 0),
    ),
    Detector("azure-storage-account-key", "Azure storage account key", _re(r"AccountKey=([a-zA-Z0-9+/=]{88})"),
             4.0, keywords=("accountkey=",)),
    Detector(
        "azure-sas", "Azure shared access key or SAS signature",
        _re(r"(?:SharedAccessKey=|(?<=[?&;])sig=)([A-Za-z0-9+/]{42,43}=|[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})"),
        4.0, keywords=("sharedaccesskey=", "sig="), window=(0, 17),
    ),
    Detector("digitalocean", "DigitalOcean token", _re("(" + _word("do") + r"[opr]_v1_[a-f0-9]{64})" + _END), 3.0,
             keywords=("dop_v1_", "doo_v1_", "dor_v1_")),
    Detector("databricks", "Databricks API token", _re("(" + _word("dapi") + r"[a-f0-9]{32}(?:-\d)?)" + _END), 3.0,
             keywords=("dapi",)),
    # --- code hosting, CI, registries ---
    Detector("github-pat", "GitHub personal access token", _re(r"ghp_[0-9a-zA-Z]{36}"), 3.0, keywords=("ghp_",)),
    Detector("github-fine-grained-pat", "GitHub fine-grained personal access token", _re(r"github_pat_\w{82}"), 3.0,
             keywords=("github_pat_",)),
    Detector("github-oauth", "GitHub OAuth token", _re(r"gho_[0-9a-zA-Z]{36}"), 3.0, keywords=("gho_",)),
    Detector("github-app-token", "GitHub App token", _re(r"gh[us]_[0-9a-zA-Z]{36}"), 3.0, keywords=("ghu_", "ghs_")),
    Detector("github-refresh-token", "GitHub refresh token", _re(r"ghr_[0-9a-zA-Z]{36}"), 3.0, keywords=("ghr_",)),
    Detector("gitlab-pat-routable", "GitLab personal access token",
             _re(_word("glpat-") + r"[0-9a-zA-Z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}\b"), 4.0, keywords=("glpat-",)),
    Detector("gitlab-pat", "GitLab personal access token", _re(r"glpat-[\w-]{20}"), 3.0, keywords=("glpat-",)),
    Detector("gitlab-deploy-token", "GitLab deploy token", _re(r"gldt-[0-9a-zA-Z_\-]{20}"), 3.0,
             keywords=("gldt-",)),
    Detector("gitlab-runner-token", "GitLab runner authentication token", _re(r"glrt-[0-9a-zA-Z_\-]{20}"), 3.0,
             keywords=("glrt-",)),
    Detector("gitlab-cicd-job-token", "GitLab CI/CD job token", _re(r"glcbt-[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}"),
             3.0, keywords=("glcbt-",)),
    Detector("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", _re(r"glptt-[0-9a-f]{40}"), 3.0,
             keywords=("glptt-",)),
    Detector("gitlab-oauth-app-secret", "GitLab OAuth application secret", _re(r"gloas-[0-9a-zA-Z_\-]{64}"), 3.0,
             keywords=("gloas-",)),
    Detector("gitlab-runner-registration-token", "GitLab runner registration token", _re(r"GR1348941[\w-]{20}"),
             3.0, keywords=("gr1348941",)),
    Detector("npm", "npm access token", _re(r"\b(?i:(npm_[a-z0-9]{36}))" + _END), 2.0, keywords=("npm_",),
             window=_AT_KEYWORD),
    Detector("pypi", "PyPI upload token", _re(r"pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}"), 3.0,
             keywords=("pypi-ageichlwas5vcmc",)),
    # --- payments, messaging, SaaS ---
    Detector("stripe-secret-key", "Stripe secret key",
             _re(r"\b([sr]k_(?:test|live|prod)_[a-zA-Z0-9]{10,99})" + _END), 2.0,
             keywords=("sk_test", "sk_live", "sk_prod", "rk_test", "rk_live", "rk_prod"), window=_AT_KEYWORD),
    Detector("stripe-publishable-key", "Stripe publishable key",
             _re("(" + _word("pk_") + r"(?:test|live)_[a-zA-Z0-9]{10,99})" + _END), 2.0, publishable=True,
             keywords=("pk_test", "pk_live")),
    Detector("slack-bot-token", "Slack bot token", _re(r"xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*"), 3.0,
             keywords=("xoxb",)),
    Detector("slack-user-token", "Slack user token", _re(r"xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}"), 2.0,
             keywords=("xoxp-", "xoxe-")),
    Detector("slack-app-token", "Slack app-level token", _re(r"(?i:xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)"), 2.0,
             keywords=("xapp",), window=_AT_KEYWORD),
    Detector("sendgrid", "SendGrid API key", _re("(" + _word("SG.") + r"(?i:[a-z0-9=_\-.]{66}))" + _END), 2.0,
             keywords=("sg.",)),
    Detector("twilio", "Twilio API key", _re(r"SK[0-9a-fA-F]{32}"), 3.0, keywords=("sk",)),
    Detector("vault-service-token", "HashiCorp Vault service token",
             _re("(" + _word("hvs.") + r"[\w-]{90,120})" + _END), 3.5, keywords=("hvs.",)),
    Detector("vault-service-token-legacy", "HashiCorp Vault service token (legacy)",
             _re("(" + _word("s.") + r"(?i:[a-z0-9]{24}))" + _END), 3.5, keywords=("s.",),
             allow=_re(r"^s\.[A-Za-z]{24}$")),
    Detector("vault-batch-token", "HashiCorp Vault batch token", _re("(" + _word("hvb.") + r"[\w-]{138,300})" + _END),
             4.0, keywords=("hvb.",)),
    # --- keys and tokens of any origin ---
    Detector(
        "private-key", "Private key",
        _re(r"(?i:-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S-]{64,}?KEY(?: BLOCK)?-----)"),
        keywords=("-----begin",),
    ),
    Detector("supabase-anon-key", "Supabase anon key (JWT)", _JWT, 3.0, publishable=True, keywords=_JWT_KEYWORDS,
             valid=_jwt_role("anon")),
    Detector("supabase-service-role-key", "Supabase service-role key (JWT)", _JWT, 3.0, keywords=_JWT_KEYWORDS,
             valid=_jwt_role("service_role")),
    Detector("jwt", "JSON Web Token", _JWT, 3.0, keywords=_JWT_KEYWORDS, valid=_jwt),
    # --- webhooks and URLs ---
    Detector(
        "slack-webhook", "Slack webhook URL",
        _re(r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}"),
        keywords=("hooks.slack.com",), window=(8, 1),
    ),
    Detector(
        "teams-webhook", "Microsoft Teams webhook URL",
        _re(
            rf"(?i:https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/{_GUID}@{_GUID}/IncomingWebhook/[a-z0-9]{{32}}/"
            rf"{_GUID}(?:/[a-z0-9_-]+)?"
            r"|https://[\w.-]+\.logic\.azure\.com(?::443)?/workflows/[0-9a-f]{32}/triggers/[\w-]+/paths/invoke\?"
            r"[^\s'\"<>]*?sig=[\w%-]{20,})"
        ),
        keywords=("webhook.office.com", "logic.azure.com"), window=(100, 0),
    ),
    Detector(
        "discord-webhook", "Discord webhook URL",
        _re(r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}"),
        keywords=("discord",),
    ),
    Detector(
        "url-credentials", "Password in URL",
        _re(r"://[^:/?#\[\]@!$&'()*+,;=\s]*:([^:/?#\[\]@!$&'()*+,;=\s]+)@"),
        keywords=("://",), valid=_url_password,
    ),
    # --- keys recognised by their context only ---
    Detector(
        "aws-secret-access-key", "AWS secret access key",
        _re(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        4.0, keywords=("aws", "akia", "asia"), valid=_mixed_case_and_digit, context=_aws_secret_context,
        window=(0, 400),
    ),
    Detector(
        "azure-openai", "Azure OpenAI API key",
        # trufflehog allows any 40 characters between name and key; we allow punctuation and a "value" word
        # only, so a report's `"name": "OPENAI_API_KEY", "fingerprint": "<32 hex>"` is no Azure key
        _re(r"(?i:api[_.-]?key|openai[_.-]?key)\W{0,20}?(?:value\W{0,10}?)?\b([a-f0-9]{32})\b"),
        3.0, keywords=("azure", "openai"), context=_near(r"azure|openai", 300), window=(0, 300),
    ),
    Detector("deepseek", "DeepSeek API key", _re(r"\b(sk-[a-z0-9]{32})\b"), 3.0, keywords=("deepseek",),
             context=_near(r"deepseek", 40, 40), window=(80, 40)),
)


# --- scanning -----------------------------------------------------------------------------------------------------

# In nearly every file: a plain ``in`` finds them at once, and they would flood the keyword scan with hits.
# (Windowed detectors must not use them: their windows come from every occurrence of their keywords.)
_COMMON_KEYWORDS = frozenset({"sk", "s.", "://"})
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _trie(words: list[str]) -> str:
    """One regex matching any of ``words``, factored on common prefixes (far faster than a flat alternation)."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _keyword_scan(detectors: tuple[Detector, ...]) -> tuple[re.Pattern[str], dict[str, frozenset[str]]]:
    """The regex finding keywords in lowercased text, and for each keyword the keywords it contains (a hit on
    ``logic.azure.com`` is a hit on ``azure`` too)."""
    keywords = sorted({k for det in detectors for k in det.keywords} - _COMMON_KEYWORDS)
    contained = {k: frozenset(other for other in keywords if other in k) for k in keywords}
    return re.compile(_trie(keywords)), contained


_KEYWORDS, _CONTAINED = _keyword_scan(DETECTORS)


def _present_keywords(lowered: str) -> set[str]:
    present = {k for k in _COMMON_KEYWORDS if k in lowered}
    for hit in set(_KEYWORDS.findall(lowered)):
        present |= _CONTAINED[hit]
    return present


def _positions(lowered: str, keywords: tuple[str, ...]) -> list[int]:
    """Sorted start offsets of every occurrence of ``keywords``."""
    found = []
    for keyword in keywords:
        pos = lowered.find(keyword)
        while pos >= 0:
            found.append(pos)
            pos = lowered.find(keyword, pos + 1)
    return sorted(set(found))


def _regions(det: Detector, text: str, lowered: str) -> list[tuple[int, int]]:
    """Where ``det`` may match: the whole text, or (windowed detectors) merged windows around its keywords."""
    if det.window is None:
        return [(0, len(text))]
    before, after = det.window
    regions: list[tuple[int, int]] = []
    for pos in _positions(lowered, det.keywords):
        lo, hi = max(0, pos - before), pos + after
        if regions and lo <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], hi))
        else:
            regions.append((lo, hi))
    return regions


def _span(match: re.Match[str]) -> tuple[int, int]:
    """The secret's span: the first group that took part in the match, else the whole match."""
    for index in range(1, (match.re.groups or 0) + 1):
        start = match.start(index)
        if start >= 0:
            return start, match.end(index)
    return match.span()


def _candidates(det: Detector, text: str, lowered: str) -> Iterator[tuple[int, int]]:
    if det.window == _AT_KEYWORD:
        for pos in _positions(lowered, det.keywords):
            if match := det.pattern.match(text, pos):
                yield _span(match)
        return
    for lo, hi in _regions(det, text, lowered):
        # A windowed search reads a little past its window (a key starting inside may end outside) and keeps
        # only keys that start inside it.
        for match in det.pattern.finditer(text, lo, len(text) if det.window is None else hi + _READ_AHEAD):
            start, end = _span(match)
            if start >= hi:
                break
            yield start, end


def _accepted(det: Detector, text: str, start: int, end: int) -> bool:
    secret = text[start:end]
    if det.min_entropy and values.shannon_entropy(secret) <= det.min_entropy:
        return False
    if det.allow is not None and det.allow.search(secret):
        return False
    if det.valid is not None and not det.valid(secret):
        return False
    if det.context is not None and not det.context(text, start, end):
        return False
    return not values.is_placeholder(secret)


def _lower(text: str) -> str:
    """``text.lower()``, index for index: a few characters (``İ``) lowercase to two, which would shift windows."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _scan(text: str) -> list[tuple[int, int, Detector]]:
    """Non-overlapping ``(start, end, detector)`` triples sorted by start; earlier detectors win overlaps."""
    lowered = _lower(text)
    present = _present_keywords(lowered)
    starts: list[int] = []
    found: list[tuple[int, int, Detector]] = []
    for det in DETECTORS:
        if det.keywords and present.isdisjoint(det.keywords):
            continue
        for start, end in _candidates(det, text, lowered):
            i = bisect_left(starts, start)
            if (i > 0 and found[i - 1][1] > start) or (i < len(found) and found[i][0] < end):
                continue  # overlaps a key of an earlier detector (or the same key seen from another window)
            if _accepted(det, text, start, end):
                starts.insert(i, start)
                found.insert(i, (start, end, det))
    return found


def find_keys(text: str, path: str) -> list[KeyMatch]:
    """Every provider-format key in ``text`` (the whole file), with the 1-based line and column where it starts.

    A multi-line key (a PEM private key) is reported on its first line.
    """
    matches: list[KeyMatch] = []
    line, line_start, pos = 1, 0, 0
    for start, end, det in _scan(text):
        newlines = text.count("\n", pos, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", pos, start) + 1
        pos = start
        secret = Value(text[start:end], ValueKind.LITERAL)
        location = Location(path, line, start - line_start + 1)
        matches.append(KeyMatch(det.id, det.label, secret, location, det.publishable))
    return matches


def match_value(value: str, *, name: str = "") -> Detector | None:
    """The detector of the first key found inside ``value``, if any.

    Detectors that need context (AWS secret keys, Azure OpenAI, DeepSeek) only match when ``name``, the
    key or variable the value is assigned to, supplies it: ``match_value(v, name="AWS_SECRET_ACCESS_KEY")``.
    """
    offset = len(name) + 1 if name else 0
    text = f"{name}={value}" if name else value
    for start, _end, det in _scan(text):
        if start >= offset:
            return det
    return None
