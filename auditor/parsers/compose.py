"""docker compose files (``compose.yaml``, ``docker-compose*.yml``...).

Sites:

- ``services.<svc>.environment`` entries (map form ``KEY: value`` and list form ``- KEY=value``):
  :attr:`SiteKind.ENV`, :attr:`Phase.RUNTIME`. A key without a value (``- KEY`` or ``KEY:``) passes the
  host's variable through: its value is the reference ``${KEY}``.
- ``services.<svc>.build.args`` entries (both forms): :attr:`SiteKind.BUILD_ARG`, :attr:`Phase.BUILD`.

Every site has the route ``services.<svc>.environment.<KEY>`` (or ``...build.args.<KEY>``) and the context
``{"service": <svc>}``. Values are classified after compose's own escaping: ``$$`` is a literal ``$``, so
``pa$$word`` is the literal ``pa$word``; ``${VAR:-default}`` is a reference whose default literal rules must
still check. Merge keys (``<<: *default-env``) are resolved; merged entries keep the anchor's lines.

``doc.data`` is a :class:`ComposeFile`: services with their build context, Dockerfile, env files and secrets,
and the top-level ``secrets:``, with paths resolved relative to the compose file's directory.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from auditor.detect.values import classify
from auditor.model import Diagnostic, Document, Location, Phase, Site, SiteKind, Value
from auditor.parsers.envfile import classify_literal
from auditor.parsers.yamlnodes import View, duplicate_keys, mapping_roots

# A real interpolation (``$VAR``, ``${VAR...}``) as opposed to the ``$$`` escape.
_DOLLAR = re.compile(r"\$\$|\$(?=[{A-Za-z_])")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)", re.I)


@dataclass(frozen=True, slots=True)
class EnvFileRef:
    """One ``env_file`` entry of a service."""

    path: str  # as written
    resolved: str | None  # repository-relative posix path; None when interpolated or absolute
    line: int
    required: bool = True


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret granted to a service or a build (``secrets: [x]`` / ``build.secrets``)."""

    source: str
    line: int
    target: str | None = None


@dataclass(slots=True)
class BuildSpec:
    line: int
    context: str = "."  # as written
    context_line: int | None = None
    context_dir: str | None = None  # repository-relative directory; None for remote/interpolated/absolute
    dockerfile: str | None = None  # as written
    dockerfile_line: int | None = None
    dockerfile_path: str | None = None  # repository-relative path of the Dockerfile (default <context>/Dockerfile)
    dockerfile_inline: bool = False
    args: list[str] = field(default_factory=list)  # names; values are BUILD_ARG sites
    secrets: list[SecretRef] = field(default_factory=list)
    target: str | None = None


@dataclass(slots=True)
class ComposeService:
    name: str
    line: int
    image: str | None = None
    image_line: int | None = None
    build: BuildSpec | None = None
    environment: list[str] = field(default_factory=list)  # names; values are ENV sites
    env_files: list[EnvFileRef] = field(default_factory=list)
    secrets: list[SecretRef] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TopLevelSecret:
    """A top-level ``secrets:`` entry."""

    name: str
    line: int
    file: str | None = None  # as written
    file_path: str | None = None  # repository-relative; None when interpolated or absolute
    environment: str | None = None  # the variable a ``environment:`` secret is read from
    external: bool = False


@dataclass(slots=True)
class ComposeFile:
    project_dir: str  # repository-relative directory of the compose file ("" at the root)
    services: dict[str, ComposeService] = field(default_factory=dict)
    secrets: dict[str, TopLevelSecret] = field(default_factory=dict)


def parse(doc: Document, text: str) -> None:
    compose = ComposeFile(project_dir=posixpath.dirname(doc.path))
    doc.data = compose
    for root in mapping_roots(doc, text, "a compose file"):
        _Reader(doc, compose).read(root)


class _Reader:
    def __init__(self, doc: Document, compose: ComposeFile) -> None:
        self.doc = doc
        self.compose = compose

    def warn(self, line: int, message: str) -> None:
        self.doc.diagnostics.append(Diagnostic(self.doc.path, line, message, "warning"))

    def read(self, root: View) -> None:
        self.check_duplicates(root)
        services = root.get("services")
        if services is not None:
            if services.is_mapping:
                self.check_duplicates(services)
                for key, value in services.items():
                    if key.text is not None:
                        self.service(key.text, key, value)
            elif not services.is_null:
                self.warn(services.line, "services is not a mapping; skipped")
        secrets = root.get("secrets")
        if secrets is not None and secrets.is_mapping:
            for key, value in secrets.items():
                if key.text is not None:
                    self.top_level_secret(key.text, key.line, value)

    def check_duplicates(self, mapping: View) -> None:
        for first, again in duplicate_keys(mapping):
            self.warn(again.line, f"duplicate key (first at line {first.line}); the last one wins")

    # ------------------------------------------------------------------------------------------ services
    def service(self, name: str, key: View, body: View) -> None:
        svc = ComposeService(name, key.line)
        self.compose.services[name] = svc
        if not body.is_mapping:
            if not body.is_null:
                self.warn(body.line, f"service {name} is not a mapping; skipped")
            return
        self.check_duplicates(body)
        for field_key, value in body.items():
            match field_key.text:
                case "environment":
                    svc.environment.extend(self.variables(value, name, "environment", SiteKind.ENV, Phase.RUNTIME))
                case "build":
                    svc.build = self.build(value, name)
                case "env_file":
                    svc.env_files.extend(self.env_files(value))
                case "secrets":
                    svc.secrets.extend(self.secret_refs(value))
                case "image":
                    svc.image, svc.image_line = value.text, value.line
                case "profiles":
                    svc.profiles.extend(t for item in value if (t := item.text) is not None)
                case _:
                    pass

    def variables(self, node: View, service: str, section: str, kind: SiteKind, phase: Phase) -> list[str]:
        """The entries of ``environment`` or ``build.args`` (map or list form) as sites; returns their names."""
        names: list[str] = []
        route = f"services.{service}.{section}"
        if node.is_mapping:
            self.check_duplicates(node)
            for key, value in node.items():
                name = key.text
                if name is None:
                    continue
                if value.is_null:
                    site_value = classify(f"${{{name}}}")  # no value: passed through from the host
                elif value.is_scalar:
                    site_value = compose_value(value.raw_text or "")
                else:
                    self.warn(value.line, f"{section} value of {name} is not a string; skipped")
                    continue
                names.append(name)
                self.add_site(kind, name, site_value, key, phase=phase, route=f"{route}.{name}", service=service)
        elif node.is_sequence:
            for item in node:
                entry = item.text
                if entry is None:
                    self.warn(item.line, f"{section} entry is not a string; skipped")
                    continue
                name, sep, raw = entry.partition("=")
                name = name.strip()
                if not name:
                    self.warn(item.line, f"{section} entry without a name; skipped")
                    continue
                site_value = compose_value(raw) if sep else classify(f"${{{name}}}")
                names.append(name)
                self.add_site(kind, name, site_value, item, phase=phase, route=f"{route}.{name}", service=service)
        elif not node.is_null:
            self.warn(node.line, f"{section} of service {service} is neither a mapping nor a list; skipped")
        return names

    def add_site(self, kind: SiteKind, name: str, value: Value, where: View, *, phase: Phase, route: str,
                 service: str) -> None:
        location = Location(self.doc.path, where.line, where.column)
        self.doc.sites.append(Site(kind, name, value, location, phase, self.doc.environment, route,
                                   {"service": service}))

    def build(self, node: View, service: str) -> BuildSpec:
        spec = BuildSpec(node.line)
        if node.is_scalar:
            spec.context, spec.context_line = node.raw_text or ".", node.line
        elif node.is_mapping:
            self.check_duplicates(node)
            for key, value in node.items():
                match key.text:
                    case "context":
                        spec.context, spec.context_line = value.text or ".", value.line
                    case "dockerfile":
                        spec.dockerfile, spec.dockerfile_line = value.text, value.line
                    case "dockerfile_inline":
                        spec.dockerfile_inline = True
                    case "args":
                        spec.args = self.variables(value, service, "build.args", SiteKind.BUILD_ARG, Phase.BUILD)
                    case "secrets":
                        spec.secrets = self.secret_refs(value)
                    case "target":
                        spec.target = value.text
                    case _:
                        pass
        spec.context_dir = None if _REMOTE.match(spec.context) else self.resolve(spec.context)
        if spec.context_dir is not None and not spec.dockerfile_inline:
            dockerfile = spec.dockerfile or "Dockerfile"
            if "$" not in dockerfile and not dockerfile.startswith("/"):
                spec.dockerfile_path = posixpath.normpath(posixpath.join(spec.context_dir, dockerfile))
        return spec

    def env_files(self, node: View) -> list[EnvFileRef]:
        items = [node] if node.is_scalar else list(node) if node.is_sequence else []
        out: list[EnvFileRef] = []
        for item in items:
            if item.is_scalar and item.text:
                out.append(EnvFileRef(item.text, self.resolve(item.text), item.line))
            elif item.is_mapping:
                path = item.get("path")
                if path is None or not path.text:
                    self.warn(item.line, "env_file entry without a path; skipped")
                    continue
                required = item.get_text("required")
                out.append(EnvFileRef(path.text, self.resolve(path.text), path.line,
                                      required=(required or "true").lower() != "false"))
        return out

    def secret_refs(self, node: View) -> list[SecretRef]:
        out: list[SecretRef] = []
        for item in node:
            if item.is_scalar and item.text:
                out.append(SecretRef(item.text, item.line))
            elif item.is_mapping and (source := item.get("source")) is not None and source.text:
                out.append(SecretRef(source.text, source.line, item.get_text("target")))
        return out

    def top_level_secret(self, name: str, line: int, body: View) -> None:
        file = body.get_text("file")
        external = body.get("external")
        self.compose.secrets[name] = TopLevelSecret(
            name, line, file=file, file_path=self.resolve(file) if file else None,
            environment=body.get_text("environment"),
            external=external is not None and (external.text or "").lower() != "false",
        )

    def resolve(self, path: str) -> str | None:
        """A path relative to the compose file's directory, as a repository-relative posix path."""
        if "$" in path or path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", path):
            return None
        joined = posixpath.normpath(posixpath.join(self.compose.project_dir, path.replace("\\", "/")))
        return "" if joined == "." else joined


def compose_value(raw: str) -> Value:
    """Classify a compose value as the container will see it: ``$$`` is compose's escape for ``$``.

    A value with a real interpolation (``${VAR}``, ``${VAR:-default}``, ``$VAR``) is classified as written;
    a value whose only dollars are ``$$`` escapes is classified after unescaping, as a literal in which ``$`` is
    an ordinary character (``pa$$word`` is the password ``pa$word``).
    """
    if "$$" not in raw:
        return classify(raw)
    if any(m.group(0) != "$$" for m in _DOLLAR.finditer(raw)):
        return classify(raw)
    return classify_literal(raw.replace("$$", "$"))
