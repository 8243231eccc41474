"""Rules over the raw-text content scan that runs on every file (source code included)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Confidence, Repository, Severity
from auditor.rules import Hit, RuleContext

URL_DETECTORS = frozenset({"url-credentials"})


def provider_key(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-01: a provider-format key anywhere in the repository."""
    for doc in repo.documents:
        for key in doc.keys:
            if key.detector in URL_DETECTORS or key.publishable:
                continue
            yield Hit(
                key.location,
                f"{key.label} in {doc.kind.value if doc.kind.value != 'text' else 'file'} content: remove it, "
                "rotate the key first (it is exposed to everyone with read access and in git history), "
                "then load it from a secret store or environment at runtime",
                value=key.value, name=key.detector,
            )


def url_credentials(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-10: credentials embedded in a URL or connection string."""
    for doc in repo.documents:
        for key in doc.keys:
            if key.detector not in URL_DETECTORS:
                continue
            yield Hit(
                key.location,
                f"{key.label}: the URL embeds a literal password; build it at runtime from a stored secret "
                "(e.g. DATABASE_URL from a secret store, or separate user and ${DB_PASSWORD} reference)",
                value=key.value, name=key.detector,
                severity=Severity.HIGH, confidence=Confidence.MEDIUM,
            )
