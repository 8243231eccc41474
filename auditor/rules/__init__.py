"""Rule functions: pure functions of the repository model.

A policy file in ``policies/`` names its check as ``module:function`` relative to this package
(``dockerfile:secret_named_build_var``). A check takes the repository and the rule context and yields
:class:`Hit` objects; the engine turns hits into findings (severity, fingerprint, suppression,
baseline). Checks keep no state between calls.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from auditor.model import Confidence, Location, Repository, Severity, Value

if TYPE_CHECKING:
    from auditor.detect.names import NameInfo


@dataclass(frozen=True, slots=True)
class Hit:
    location: Location
    message: str  # built from names only; never from a value
    value: Value | None = None  # the evidence; redacted and fingerprinted by the engine
    severity: Severity | None = None  # overrides the policy's default (e.g. CRITICAL for a provider key)
    confidence: Confidence | None = None
    name: str | None = None  # the key/variable name involved, part of the finding's identity
    route: str | None = None  # symbolic location ("services.web.environment.API_KEY")


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Read-only settings a check may consult (from config and CLI)."""

    client_prefixes: tuple[str, ...] = ()
    extra_secret_names: frozenset[str] = frozenset()
    allowed_names: frozenset[str] = frozenset()
    rotation_warn_days: int = 60
    rotation_fail_days: int = 90
    options: Mapping[str, object] = field(default_factory=dict)

    def name_info(self, name: str) -> NameInfo:
        """SECRET_NAME with the configured client prefixes, extra secret names and allowed names applied."""
        from auditor.detect.names import analyze_name

        info = analyze_name(name, self.client_prefixes)
        if name in self.allowed_names:
            return replace(info, secret=False)
        if name in self.extra_secret_names:
            return replace(info, secret=True)
        return info


Check = Callable[[Repository, RuleContext], Iterable[Hit]]


def resolve(ref: str) -> Check:
    """Import ``module:function`` from this package."""
    module_name, _, func_name = ref.partition(":")
    module = importlib.import_module(f"auditor.rules.{module_name}")
    check = getattr(module, func_name)
    if not callable(check):
        raise TypeError(f"check {ref!r} is not callable")
    return check  # type: ignore[no-any-return]
