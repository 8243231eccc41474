"""Kustomize ``kustomization.yaml``: secret and config map generators.

Sites (all :attr:`Phase.RUNTIME`; ``environment`` is the path's, e.g. ``overlays/prod``, else the one the
kustomization's ``namespace`` names):

- ``secretGenerator[].literals`` entries (``KEY=value``): :attr:`SiteKind.SECRET_DATA`, route
  ``secretGenerator[app-secrets].literals.KEY``, context ``{"kind": "Secret", "name", "namespace",
  "generator": "secretGenerator", "type"}``.
- ``configMapGenerator[].literals``: :attr:`SiteKind.CONFIG_KEY`, context ``{"kind": "ConfigMap", ...,
  "generator": "configMapGenerator"}``.

``files`` (``path`` or ``key=path``), ``envs`` and the legacy ``env`` entries name files whose content the
generated object carries: they are recorded in :class:`Kustomization` with their repository-relative paths,
for rules to check whether those files are committed. ``doc.data`` is a :class:`Kustomization`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from auditor.environment import infer_environment
from auditor.model import Diagnostic, Document, Location, Phase, Site, SiteKind
from auditor.parsers.kubernetes import k8s_value
from auditor.parsers.yamlnodes import View, load_documents

__all__ = ["Generator", "GeneratorSource", "Kustomization", "parse"]

_REMOTE = ("http://", "https://", "git@", "github.com/", "ssh://")


@dataclass(frozen=True, slots=True)
class GeneratorSource:
    """A file a generator reads: ``files: [key=path]``, ``envs: [path]`` or ``env: path``."""

    how: str  # "files" | "envs" | "env"
    path: str  # as written
    resolved: str | None  # repository-relative posix path; None for absolute or remote paths
    line: int
    key: str | None = None  # the data key for ``files: [key=path]``


@dataclass(frozen=True, slots=True)
class Generator:
    kind: str  # "secretGenerator" | "configMapGenerator"
    name: str
    line: int
    namespace: str | None
    type: str | None  # secret type (Opaque when None)
    behavior: str | None
    literals: tuple[str, ...]  # literal keys (values are sites)
    sources: tuple[GeneratorSource, ...]


@dataclass(slots=True)
class Kustomization:
    namespace: str | None = None
    environment: str | None = None
    resources: list[tuple[str, int]] = field(default_factory=list)  # resources/bases/components entries
    generators: list[Generator] = field(default_factory=list)


def parse(doc: Document, text: str) -> None:
    roots, diagnostics = load_documents(doc.path, text)
    doc.diagnostics.extend(diagnostics)
    data = Kustomization()
    doc.data = data
    for root in roots:
        view = View.root(root, doc.path, doc.diagnostics)
        if not view.is_mapping:
            continue
        namespace = view.get_text("namespace")
        data.namespace = data.namespace or namespace
        data.environment = doc.environment or (infer_environment(namespace) if namespace else None)
        for section in ("resources", "bases", "components"):
            for item in view.get(section) or ():
                if item.text is not None:
                    data.resources.append((item.text, item.line))
        for section in ("secretGenerator", "configMapGenerator"):
            for item in view.get(section) or ():
                if item.is_mapping:
                    _generator(doc, data, section, item, namespace)


def _generator(doc: Document, data: Kustomization, section: str, view: View, namespace: str | None) -> None:
    name = view.get_text("name") or "?"
    namespace = view.get_text("namespace") or namespace
    secret = section == "secretGenerator"
    gen_type = view.get_text("type") if secret else None
    base = posixpath.dirname(doc.path) if doc.path != "-" else ""
    literals: list[str] = []
    for item in view.get("literals") or ():
        raw = item.text
        if raw is None:
            continue
        literal_key, sep, value = raw.partition("=")
        key = literal_key.strip()
        if not sep or not key:
            doc.diagnostics.append(Diagnostic(doc.path, item.line,
                                              f"{section} {name}: literal without KEY=value form; skipped", "warning"))
            continue
        literals.append(key)
        context = {"kind": "Secret" if secret else "ConfigMap", "name": name, "namespace": namespace or "",
                   "generator": section}
        if secret:
            context["type"] = gen_type or "Opaque"
        column = item.column + len(raw.partition("=")[0]) + 1 + (1 if item.style in {"'", '"'} else 0)
        doc.sites.append(Site(
            SiteKind.SECRET_DATA if secret else SiteKind.CONFIG_KEY, key, k8s_value(_unquote(value)),
            Location(doc.path, item.line, column), Phase.RUNTIME, data.environment,
            f"{section}[{name}].literals.{key}", context,
        ))
    sources: list[GeneratorSource] = []
    for how in ("files", "envs", "env"):
        entry = view.get(how)
        if entry is None:
            continue
        items = [entry] if entry.is_scalar else list(entry)
        for item in items:
            raw = item.text
            if not raw:
                continue
            file_key: str | None = None
            path = raw
            if how == "files" and "=" in raw:
                file_key, _, path = raw.partition("=")
                file_key, path = file_key.strip(), path.strip()
            sources.append(GeneratorSource(how, path, _resolve(base, path), item.line, file_key))
    data.generators.append(Generator(section, name, view.line, namespace, gen_type, view.get_text("behavior"),
                                     tuple(literals), tuple(sources)))


def _resolve(base: str, path: str) -> str | None:
    if not path or path.startswith("/") or path.startswith(_REMOTE):
        return None
    resolved = posixpath.normpath(posixpath.join(base, path))
    return None if resolved.startswith("../") or resolved == ".." else resolved


def _unquote(text: str) -> str:
    """Kustomize strips one pair of matching quotes around a literal's value."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text
