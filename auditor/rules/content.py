"""Rules over the raw-text content scan that runs on every file (source code included)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.detect.generic import DETECTOR_ID as GENERIC
from auditor.model import Confidence, Repository, Severity
from auditor.rules import Hit, RuleContext

URL_DETECTORS = frozenset({"url-credentials"})
_WHERE = "it is exposed to everyone with read access and in git history"


def provider_key(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-01: a provider-format key anywhere in the repository."""
    for doc in repo.documents:
        for key in doc.keys:
            if key.detector in URL_DETECTORS or key.publishable:
                continue
            if key.detector == GENERIC:
                yield Hit(key.location,
                          f"a secret-named variable is assigned a random-looking literal: if it is a live credential, "
                          f"rotate it ({_WHERE}) and read it from the environment or a secret store at runtime",
                          value=key.value, name=key.detector, severity=Severity.HIGH, confidence=Confidence.MEDIUM)
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
