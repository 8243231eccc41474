"""docker compose rules: secrets passed as build args (BLD-05, compose part)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import DocKind, Repository, SiteKind, ValueKind
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import key_severity, literal_in, provider_match, publishable_name

_HARMLESS = frozenset({ValueKind.EMPTY, ValueKind.PLACEHOLDER})


def compose_build_arg_secret(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-05: a compose ``build.args`` entry with a secret name, whatever its value.

    A build arg's value is recorded in the image (``docker history``, the config of any stage that declares
    it) and in build provenance attestations, so ``${VAR}`` leaks as surely as a literal.
    """
    for doc in repo.of_kind(DocKind.COMPOSE):
        for site in doc.sites_of(SiteKind.BUILD_ARG):
            if site.value is not None and site.value.kind in _HARMLESS:
                continue
            info = ctx.name_info(site.name)
            if not info.secret or info.file_like or publishable_name(site.name):
                continue
            literal = literal_in(site.value)
            detector = provider_match(literal.text, site.name) if literal is not None else None
            service = site.context.get("service", "?")
            secret_id = site.name.lower()
            message = (
                f"build arg {site.name} of service {service} passes a secret into the image build, where it stays "
                f"in the image history and build provenance: list it under `build.secrets` instead (with a "
                f"top-level `secrets:` entry `{secret_id}: {{environment: {site.name}}}`), read it in the Dockerfile "
                f"with `RUN --mount=type=secret,id={secret_id},env={site.name}`, and rotate the key if an image was "
                "pushed"
            )
            severity, confidence = key_severity(detector)
            yield Hit(site.location, message, value=site.value, severity=severity, confidence=confidence,
                      name=site.name, route=site.route or None)
