"""Reporters: turn a :class:`~auditor.findings.ScanResult` into text. They format; they never scan.

One small protocol and a lazy registry. Each format is a leaf module (``console``, ``json_report``,
``sarif``, ``junit``, ``markdown``, ``github``) exposing ``render(result, options) -> str``; a module is
imported only when its format is asked for, so ``keyaudit`` never pays for XML or SARIF it does not print.

Redaction invariant
-------------------
Reporters print only :class:`~auditor.findings.Finding` fields, :class:`~auditor.model.Diagnostic` fields,
scan statistics and policy metadata. None of these can hold a raw secret value:

* ``Finding.evidence`` is the *redacted* form built by :mod:`auditor.redact` (``sk-proj-...(164 chars)``);
* ``Finding.fingerprint`` is a keyed HMAC of the value, never the value;
* ``Finding.message`` and ``Diagnostic.message`` are built from names and positions only;
* no field of ``Finding`` (or of ``Location``) is a :class:`~auditor.model.Value` or a source line.

``tests/test_reporters.py`` pins the field list of ``Finding`` so that adding a field that could carry a raw
value (a ``Value``, a ``snippet``, a ``line_text``) fails a test and gets reviewed. A reporter must never reach
back into documents, sites or files.

Every renderer returns text ending with a newline, or ``""`` when there is nothing to print
(``github`` on a clean scan).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from auditor.findings import ScanResult

if TYPE_CHECKING:
    from auditor.policies import Policy

FORMATS: tuple[str, ...] = ("console", "json", "sarif", "junit", "markdown", "github")

# format -> leaf module under auditor.reporters
_MODULES: dict[str, str] = {
    "console": "console",
    "json": "json_report",
    "sarif": "sarif",
    "junit": "junit",
    "markdown": "markdown",
    "github": "github",
}

# format -> conventional file suffix, for ``--output`` defaults
SUFFIXES: dict[str, str] = {
    "console": ".txt",
    "json": ".json",
    "sarif": ".sarif",
    "junit": ".xml",
    "markdown": ".md",
    "github": ".txt",
}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What a renderer may be told besides the result.

    ``policies``: the loaded rule definitions; used for rule metadata (SARIF ``rules``, fix hints,
    JUnit suites). Rules that ran without a policy here are described from their findings alone.
    ``show_suppressed``: list suppressed findings in the human formats (console, markdown, junit,
    github). Machine formats (json, sarif) always carry them, flagged.
    """

    color: bool = False
    policies: tuple[Policy, ...] = ()
    show_suppressed: bool = False


class Renderer(Protocol):
    def __call__(self, result: ScanResult, options: RenderOptions, /) -> str: ...


def get_renderer(fmt: str) -> Renderer:
    """The ``render`` function of a format's leaf module, imported on first use."""
    module_name = _MODULES.get(fmt)
    if module_name is None:
        raise ValueError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return cast(Renderer, module.render)


def render(
    fmt: str,
    result: ScanResult,
    *,
    color: bool = False,
    policies: Sequence[Policy] = (),
    show_suppressed: bool = False,
) -> str:
    """Render ``result`` in format ``fmt`` (one of :data:`FORMATS`). Raises ``ValueError`` on an unknown format."""
    options = RenderOptions(color=color, policies=tuple(policies), show_suppressed=show_suppressed)
    return get_renderer(fmt)(result, options)


__all__ = ["FORMATS", "SUFFIXES", "RenderOptions", "Renderer", "get_renderer", "render"]
