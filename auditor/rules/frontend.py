"""Front-end build configuration and build output: secrets compiled into what browsers download.

- CLI-02: a framework config (Next.js ``env``, Vite ``define``/``envPrefix``, Nuxt ``runtimeConfig.public``,
  webpack ``DefinePlugin``/``EnvironmentPlugin``, Astro client ``envField``, Gatsby ``allowList``, Angular
  environment files...) inlines a secret-named value or a provider key, whatever its prefix, or hands the
  bundle the whole build environment.
- CLI-03: a provider key in committed build output (``dist/``, ``.next/``, source maps, chunks).

Both read the sites of :mod:`auditor.parsers.frontend` and the content scan (``doc.keys``); publishable keys
(Stripe ``pk_``, Supabase anon) never fire, Firebase/Maps browser keys are reported as medium.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from auditor.detect.names import CLIENT_PREFIXES, KNOWN_SECRET_NAMES, tokens
from auditor.detect.providers import Detector, match_value
from auditor.model import (
    Confidence,
    DocKind,
    Document,
    KeyMatch,
    Location,
    Phase,
    RefKind,
    Repository,
    Severity,
    Site,
    SiteKind,
    Value,
    ValueKind,
)
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import describe, literal_in, secret_looking

# --------------------------------------------------------------------------------------------- names

# Normalized name endings of keys that providers issue for browsers.
_PUBLISHABLE_ENDINGS = ("publishable_key", "anon_key", "public_key", "site_key", "sitekey", "client_side_id",
                        "clientside_id")
# Analytics, search, captcha and realtime providers whose browser keys are public by design...
_PUBLIC_BY_DESIGN = frozenset({"posthog", "segment", "amplitude", "mixpanel", "gtm", "plausible", "hotjar",
                               "recaptcha", "hcaptcha", "turnstile", "pusher", "heap", "fullstory", "logrocket"})
# ...unless the name says it is their server-side credential.
_SERVER_SIDE = frozenset({"secret", "admin", "private", "personal", "server", "management", "master"})
# Browser API keys: restricted by referrer/API in the provider console rather than kept secret.
_BROWSER_KEY_WORDS = frozenset({"firebase", "maps", "mapbox", "places", "googlemaps"})
# A Google API key under one of these names calls a paid model or back-end API: not a browser key.
_SERVER_GOOGLE_WORDS = frozenset({"gemini", "genai", "generative", "vertex", "palm", "ai", "llm", "vision",
                                  "translate", "youtube"})
_BROWSER_DETECTORS = frozenset({"gcp-api-key"})


def _words(name: str) -> list[str]:
    return tokens(name)


def publishable(name: str) -> bool:
    """``stripePublishableKey``, ``SUPABASE_ANON_KEY``, ``recaptcha.siteKey``, ``posthogKey``: public by design."""
    words = _words(name)
    joined = "_".join(words)
    if joined.endswith(_PUBLISHABLE_ENDINGS) or "publishable" in words or "anon" in words:
        return True
    wordset = set(words)
    if wordset & _SERVER_SIDE:
        return False
    return bool(wordset & _PUBLIC_BY_DESIGN) or ("algolia" in wordset and "search" in wordset) \
        or "searchonly" in wordset


def secret_name(name: str, ctx: RuleContext) -> bool:
    """SECRET_NAME under the context, for config keys in any case style (``openaiApiKey``, ``__API_KEY__``)."""
    if not name or publishable(name):
        return False
    if ctx.name_info(name).secret:
        return True
    # dotted keys (Nuxt nested public config, define paths): the last segment decides
    last = name.rsplit(".", 1)[-1]
    return last != name and ctx.name_info(last).secret


def _browser_key(site_words: set[str], detector: Detector | None) -> bool:
    if detector is not None:
        return detector.id in _BROWSER_DETECTORS and not site_words & _SERVER_GOOGLE_WORDS
    return bool(site_words & _BROWSER_KEY_WORDS) and not site_words & _SERVER_GOOGLE_WORDS


# --------------------------------------------------------------------------------------------- prefixes

_SPECIFIC_PREFIXES = frozenset(CLIENT_PREFIXES) | frozenset({
    "NG_APP_", "STORYBOOK_", "SANITY_STUDIO_", "TAURI_ENV_", "NX_PUBLIC_", "RSBUILD_PUBLIC_", "PUBLIC_ENV__",
})
_CLIENT_MARKERS = frozenset({"public", "client", "browser", "frontend", "vite"})
# Words that say nothing about the browser: a prefix made only of them matches server-side variables.
_GENERIC_WORDS = frozenset({
    "app", "apps", "api", "env", "envs", "config", "conf", "cfg", "settings", "var", "vars", "my", "node", "npm",
    "build", "ci", "react", "next", "nuxt", "vue", "svelte", "astro", "angular", "tauri", "electron", "server",
    "backend", "process", "global", "data", "db", "service", "web", "site", "project", "custom", "local", "prod",
    "production", "dev", "development", "staging", "test",
})
# Secrets commonly present in a build environment, beyond the well-known provider names.
_BUILD_ENV_SECRETS = (
    "TAURI_PRIVATE_KEY", "TAURI_KEY_PASSWORD", "TAURI_SIGNING_PRIVATE_KEY", "TAURI_SIGNING_PRIVATE_KEY_PASSWORD",
    "APP_KEY", "APP_SECRET", "SECRET_KEY", "NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET", "SESSION_SECRET",
    "DATABASE_URL", "VERCEL_TOKEN", "NETLIFY_AUTH_TOKEN", "SENTRY_AUTH_TOKEN", "CI_JOB_TOKEN", "NODE_AUTH_TOKEN",
    "API_KEY", "API_SECRET",
)
_KNOWN_UPPER = tuple(sorted({n.upper() for n in KNOWN_SECRET_NAMES} | set(_BUILD_ENV_SECRETS)))


def generic_prefix(prefix: str) -> str | None:
    """Why an ``envPrefix``/``publicPrefix`` entry exposes server-side variables, or None when it is specific."""
    stripped = prefix.strip()
    if not stripped:
        return "an empty prefix matches every variable of the build environment"
    upper = stripped.upper()
    if upper in _SPECIFIC_PREFIXES:
        return None
    examples = [n for n in _KNOWN_UPPER if n.startswith(upper) and n != upper][:3]
    if examples:
        return f"it matches secret names such as {', '.join(examples)}"
    words = _words(stripped)
    alnum = sum(c.isalnum() for c in stripped)
    if alnum < 3:
        return "a prefix this short matches unrelated variables of the build environment"
    if set(words) & _CLIENT_MARKERS:
        return None
    if any(w in {"key", "keys", "secret", "secrets", "token", "tokens", "private", "password", "auth", "credentials"}
           for w in words):
        return "the prefix itself names secrets"
    if all(w in _GENERIC_WORDS for w in words):
        return "a generic prefix also matches server-side variables (for example database and API credentials)"
    return None


# --------------------------------------------------------------------------------------------- CLI-02

_WEAK = frozenset({ValueKind.EMPTY, ValueKind.PLACEHOLDER})
_FRAMEWORK_LABEL = {
    "next": "Next.js", "vite": "Vite", "nuxt": "Nuxt", "astro": "Astro", "svelte": "SvelteKit", "webpack": "webpack",
    "gatsby": "Gatsby", "vue": "Vue CLI", "angular": "Angular", "angular-env": "Angular",
}


def secret_inlined_by_frontend_config(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """CLI-02: a front-end build config inlines a secret (or the whole environment) into the client bundle."""
    for doc in repo.of_kind(DocKind.FRONTEND_CONFIG):
        for site in doc.sites_of(SiteKind.CONFIG_KEY):
            if site.phase is not Phase.CLIENT:
                continue
            if site.name in ctx.allowed_names:
                continue
            if "prefix" in site.context:
                hit = _prefix_hit(doc, site)
            elif site.context.get("exposes") == "all":
                hit = _whole_env_hit(doc, site)
            else:
                hit = _secret_hit(doc, site, ctx)
            if hit is not None:
                yield hit


def _where(doc: Document, site: Site) -> str:
    framework = _FRAMEWORK_LABEL.get(site.context.get("framework", ""), "the build")
    return f"{framework} `{site.context.get('construct', '')}` in {posixpath.basename(doc.path)}"


def _prefix_hit(doc: Document, site: Site) -> Hit | None:
    prefix = site.context.get("prefix", "")
    reason = generic_prefix(prefix)
    if reason is None:
        return None
    option = site.context.get("construct", "envPrefix")
    return Hit(
        site.location,
        f"{option} entry \"{prefix}\" in {posixpath.basename(doc.path)} is not a client-only prefix: the build "
        f"inlines every variable whose name starts with it into the client bundle, and {reason}. Use a "
        "dedicated public prefix (VITE_, PUBLIC_...) and keep secrets under names without it",
        name=f"{option}:{prefix}", route=site.route or None,
    )


def _whole_env_hit(doc: Document, site: Site) -> Hit:
    return Hit(
        site.location,
        f"{_where(doc, site)} hands the client bundle the whole build environment ({site.name}): every variable "
        "present at build time, CI tokens and API keys included, can be compiled into JavaScript that every "
        "visitor downloads. List the few public values explicitly (e.g. `'process.env.NODE_ENV'`) instead",
        name=site.name, route=site.route or None,
    )


def _key_match(doc: Document, site: Site, literal: Value) -> KeyMatch | None:
    """The content-scan match of this literal (same evidence and line as HCK-01, which CLI-02 supersedes)."""
    last = site.location.end_line or site.location.line
    for key in doc.keys:
        if site.location.line <= key.location.line <= last and key.value.text in literal.text:
            return key
    return None


def _secret_hit(doc: Document, site: Site, ctx: RuleContext) -> Hit | None:
    value = site.value
    literal = literal_in(value)
    detector = match_value(literal.text, name=site.name) if literal is not None else None
    if detector is not None and detector.publishable:
        return None
    if literal is not None and detector is None and literal.text.startswith("pk."):
        return None  # a Mapbox public token (secret ones start with sk.)
    if publishable(site.name) or (site.route and publishable(site.route)):
        return None  # environment.algolia.searchKey, runtimeConfig.public.stripe.publishableKey
    refs = [r for r in site.context.get("refs", "").split(",") if r]
    if value is not None and value.ref is RefKind.ENV_VAR and value.ref_name and publishable(value.ref_name):
        return None  # env: { stripeKey: process.env.STRIPE_PUBLISHABLE_KEY }
    secret_by = next((n for n in (site.name, *refs) if secret_name(n, ctx)), None)
    confidence: Confidence | None = None
    if detector is None:
        if secret_by is None:
            return None
        by_name = site.context.get("binding") == "name"  # the key is filled from the environment at build/run time
        if value is None:
            confidence = Confidence.MEDIUM  # a computed value that reads a secret variable
        elif value.kind is ValueKind.LITERAL and not secret_looking(value):
            if not by_name:
                return None  # authScheme: 'Bearer'
            confidence = Confidence.MEDIUM
        elif value.kind in _WEAK:
            if not by_name:
                return None  # env: { OPENAI_API_KEY: '' } bundles an empty string
            confidence = Confidence.MEDIUM  # runtimeConfig.public.openaiApiKey: '' is filled from the environment
        elif value.kind is ValueKind.REFERENCE and value.ref in (RefKind.PATH, RefKind.ENCRYPTED):
            return None
    words = set(_words(site.route or site.name)) | set(_words(site.name))
    for ref in refs:
        words |= set(_words(ref))
    evidence: Value | None = value
    location = site.location
    if literal is not None and detector is not None:
        match = _key_match(doc, site, literal)
        evidence = match.value if match is not None else literal
        location = match.location if match is not None else location
    where = _where(doc, site)
    if _browser_key(words, detector):
        return Hit(location, f"{where} compiles the browser API key {site.name} into the client bundle: that is "
                   "how Firebase/Maps keys work, so restrict the key by HTTP referrer and API in the provider "
                   "console and cap its quota", value=evidence, severity=Severity.MEDIUM,
                   confidence=Confidence.MEDIUM, name=site.name, route=site.route or None)
    return Hit(
        location,
        f"{where} {_what(site, detector, secret_by)} into the client bundle, whatever its prefix: every visitor "
        "can read it in the JavaScript. Keep the key in server code (an API route, server action or proxy) under "
        "a server-only setting, and rotate it if a build with it was ever deployed",
        value=evidence, confidence=confidence, name=site.name, route=site.route or None,
    )


def _what(site: Site, detector: Detector | None, secret_by: str | None) -> str:
    """``inlines an OpenAI API key as openaiApiKey``, ``inlines the build-time value of X as Y``..."""
    value = site.value
    if detector is not None:
        return f"inlines {describe(detector)} as {site.name}"
    if site.context.get("binding") == "name":
        return f"exposes {site.name} (filled from the environment)"
    if value is not None and value.ref is RefKind.ENV_VAR and value.ref_name:
        source = value.ref_name
        return f"inlines the build-time value of {source}" + ("" if source == site.name else f" as {site.name}")
    if secret_by is not None and secret_by != site.name:
        return f"inlines a value computed from {secret_by} as {site.name}"
    return f"inlines the secret {site.name}"


# --------------------------------------------------------------------------------------------- CLI-03

_OUTPUT_DIRS = frozenset({"dist", ".next", ".output", ".nuxt", ".svelte-kit", "storybook-static", ".vercel",
                          ".netlify", ".docusaurus", ".expo", "web-build"})
_GENERIC_OUTPUT_DIRS = frozenset({"build", "out"})  # also used for build scripts: web assets only
_ASSET_EXTENSIONS = (".js", ".mjs", ".cjs", ".css", ".html", ".htm", ".map", ".json", ".txt", ".wasm")
_SCRIPT_NAME = re.compile(r"(?:^|[.-])(?:conf|config|webpack|rollup|vite|gulpfile|gruntfile)(?:[.-]|$)", re.I)
_PUBLIC_SCRIPT = (".js", ".mjs", ".cjs")
_BUNDLE_SUFFIXES = (".map", ".bundle.js", ".chunk.js")


def build_output(path: str) -> bool:
    """Whether ``path`` is front-end build output (``dist/``, ``.next/``, ``public/**/*.js``, ``*.map``...)."""
    lower = path.lower()
    parts = lower.split("/")
    name = parts[-1]
    dirs = parts[:-1]
    if name.endswith(_BUNDLE_SUFFIXES):
        return True
    if any(d in _OUTPUT_DIRS for d in dirs):
        return True
    if any(d in _GENERIC_OUTPUT_DIRS for d in dirs):
        return name.endswith(_ASSET_EXTENSIONS) and not _SCRIPT_NAME.search(name)
    return "public" in dirs and name.endswith(_PUBLIC_SCRIPT)


_NOT_PROVIDER_KEYS = frozenset({"url-credentials", "generic-secret"})  # CLI-03: provider formats only
_GENERIC_DETECTORS = frozenset({"jwt"})  # a token of unknown provenance: the policy's own severity


def provider_key_in_build_output(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """CLI-03: a provider key in committed front-end build output."""
    for doc in repo.documents:
        if not doc.keys or not build_output(doc.path) or not repo.is_committed(doc.path):
            continue
        for key in doc.keys:
            if key.publishable or key.detector in _NOT_PROVIDER_KEYS:
                continue
            yield _output_hit(doc, key)


def _output_hit(doc: Document, key: KeyMatch) -> Hit:
    location = Location(key.location.path, key.location.line, key.location.column)
    served = _served_as_is(doc.path)
    where = f"{doc.path}, a script served as-is from public/" if served else f"committed build output {doc.path}"
    if key.detector in _BROWSER_DETECTORS:
        return Hit(location, f"{key.label} in {where}: browser keys do reach every visitor, so restrict this one by "
                   "HTTP referrer and API in the provider console and cap its quota", value=key.value,
                   severity=Severity.MEDIUM, confidence=Confidence.MEDIUM, name=key.detector)
    severity = None if key.detector in _GENERIC_DETECTORS else Severity.CRITICAL
    if served:
        advice = ("every visitor downloads it. Rotate the key first, then move the provider call server-side (an API "
                  "route or proxy) and purge the key from history")
    else:
        advice = ("the build compiled it into what is shipped to browsers (and source maps keep it even when the "
                  "code is minified). Rotate the key first, move the provider call server-side, then untrack the "
                  "output (`git rm -r --cached` and add the directory to .gitignore) and purge it from history")
    return Hit(location, f"{key.label} in {where}: {advice}", value=key.value, severity=severity, name=key.detector)


def _served_as_is(path: str) -> bool:
    """``public/**/*.js`` outside an output directory: static files copied verbatim into the site."""
    parts = path.lower().split("/")
    return "public" in parts[:-1] and not any(d in _OUTPUT_DIRS or d in _GENERIC_OUTPUT_DIRS for d in parts[:-1])
