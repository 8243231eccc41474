"""Client-bundle exposure: secrets behind a public env prefix (CLI-01).

Front-end build tools inline every variable carrying their public prefix (``NEXT_PUBLIC_``, ``VITE_``,
``REACT_APP_``...) into the JavaScript shipped to browsers, whatever its value and wherever it is set:
``.env*`` files, Dockerfile ``ARG``/``ENV``, compose build args and environment, CI variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.detect.providers import Detector, match_value
from auditor.model import Confidence, Repository, Severity, Site, SiteKind, Value, ValueKind
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import describe, literal_in, publishable_name, secret_name

_SITE_KINDS = (SiteKind.ENV, SiteKind.BUILD_ARG, SiteKind.VARIABLE)
_IDENTIFIER_SUFFIXES = ("_ID", "_URL", "_URI", "_DSN", "_HOST", "_DOMAIN", "_ENDPOINT")
# Browser keys meant to ship to clients, restricted by referrer/API in the provider console.
_BROWSER_KEY_NAME = re.compile(r"(?:^|_)(?:FIREBASE|MAPS|MAPBOX)(?:_|$)", re.I)
# Keys that analytics, search and captcha providers issue for browsers (project keys, search-only keys).
_PUBLIC_BY_DESIGN_NAME = re.compile(
    r"(?:^|_)(?:POSTHOG|SEGMENT|AMPLITUDE|MIXPANEL|GA|GTM|PLAUSIBLE|HOTJAR|ALGOLIA_SEARCH|SEARCH_ONLY|RECAPTCHA|"
    r"HCAPTCHA|TURNSTILE)(?:_|$)",
    re.I,
)
_BROWSER_KEY_DETECTOR = re.compile(r"google|gcp|firebase|maps", re.I)
_WEAK = frozenset({ValueKind.EMPTY, ValueKind.PLACEHOLDER})


def secret_exposed_to_client(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """CLI-01: a client-prefixed variable whose (stripped) name or value is a secret."""
    seen: set[tuple[str, int, str]] = set()
    for doc in repo.documents:
        for site in doc.sites_of(*_SITE_KINDS):
            hit = _check(site, ctx)
            if hit is None:
                continue
            key = (doc.path, site.location.line, site.name)
            if key not in seen:
                seen.add(key)
                yield hit


def _check(site: Site, ctx: RuleContext) -> Hit | None:
    prefix = ctx.name_info(site.name).client_prefix
    if prefix is None or site.name in ctx.allowed_names:
        return None
    stripped = site.name[len(prefix):]
    value = site.value
    literal = literal_in(value)
    detector = match_value(literal.text, name=site.name) if literal is not None else None
    if detector is not None and detector.publishable:
        return None  # Stripe pk_, Supabase anon JWT...: public by design
    by_name = (
        bool(stripped)
        # the whole name decides (it knows that PUBLIC_KEY and public_token name public values); the stripped
        # name must be secret too, so the prefix itself never makes a name secret
        and secret_name(site.name, ctx)
        and secret_name(stripped, ctx)
        and not publishable_name(stripped)
        and not stripped.upper().endswith(_IDENTIFIER_SUFFIXES)
        and not _PUBLIC_BY_DESIGN_NAME.search(stripped)
    )
    if detector is None and not by_name:
        return None
    evidence: Value | None = literal if detector is not None else value
    if _browser_key(stripped, detector):
        message = (
            f"{site.name} ships a browser API key to every visitor (the {prefix} prefix inlines it into the "
            "client bundle): that is how Firebase/Maps keys work, so restrict the key by referrer/API in the "
            "provider console and cap its quota"
        )
        return Hit(site.location, message, value=evidence, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
                   name=site.name, route=site.route or None)
    what = describe(detector)
    message = (
        f"{site.name} puts {what} into the client bundle: the {prefix} prefix makes the build inline it into "
        f"JavaScript that every visitor can read. Call the provider from server code (an API route, server "
        f"action or proxy) with the key under a server-only name such as {stripped}, and rotate the key if it "
        "was ever deployed"
    )
    weak = value is not None and value.kind in _WEAK and detector is None
    return Hit(site.location, message, value=evidence, confidence=Confidence.MEDIUM if weak else Confidence.HIGH,
               name=site.name, route=site.route or None)


def _browser_key(stripped: str, detector: Detector | None) -> bool:
    if detector is not None:
        return bool(_BROWSER_KEY_DETECTOR.search(detector.id))
    return bool(_BROWSER_KEY_NAME.search(stripped))
