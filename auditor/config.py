"""Configuration from ``.keyaudit.yaml`` or ``[tool.keyaudit]`` in pyproject.toml, validated with jsonschema."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

CONFIG_NAMES = (".keyaudit.yaml", ".keyaudit.yml")


class ConfigError(Exception):
    """The configuration file is unreadable or does not match the schema."""


@dataclass(frozen=True, slots=True)
class AllowEntry:
    reason: str
    rule: str | None = None
    path: str | None = None
    name: str | None = None

    def matches(self, rule_id: str, rule_name: str, path: str, name: str | None) -> bool:
        if self.rule and self.rule not in (rule_id, rule_name):
            return False
        if self.path and not fnmatch.fnmatch(path, self.path):
            return False
        return not (self.name and self.name != name)


@dataclass(frozen=True, slots=True)
class Config:
    fail_on: str = "low"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_ignored: bool = False
    max_file_size_mb: float = 5.0
    baseline: str | None = None
    environments: Mapping[str, str] = field(default_factory=dict)
    namespace_environments: Mapping[str, str] = field(default_factory=dict)
    client_prefixes: tuple[str, ...] = ()
    secret_names: frozenset[str] = frozenset()
    allowed_names: frozenset[str] = frozenset()
    rotation_warn_days: int = 60
    rotation_fail_days: int = 90
    allow: tuple[AllowEntry, ...] = ()
    cluster_system_namespaces: tuple[str, ...] | None = None  # None: the cluster audit's defaults
    cluster_environment_labels: tuple[str, ...] | None = None
    cluster_secret_values: bool = True
    source: str | None = None  # the file it came from


def _schema() -> dict[str, Any]:
    text = (resources.files("auditor") / "schemas" / "config.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def find_config(start: Path) -> Path | None:
    directory = start if start.is_dir() else start.parent
    for name in CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            if "keyaudit" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                return pyproject
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            return None
    return None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    if path.suffix == ".toml":
        try:
            raw = tomllib.loads(text).get("tool", {}).get("keyaudit", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc.__class__.__name__})") from None
    else:
        import yaml

        try:
            raw = yaml.load(text, Loader=yaml.CSafeLoader) or {}
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" at line {line + 1}" if line is not None else ""
            raise ConfigError(f"{path}: invalid YAML{where}") from None
    return from_mapping(raw, source=str(path))


def from_mapping(raw: Any, source: str = "<config>") -> Config:
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(raw), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top)"
        raise ConfigError(f"{source}: {where}: {errors[0].message}")
    rotation = raw.get("rotation", {})
    cluster = raw.get("cluster", {})
    return Config(
        fail_on=raw.get("fail_on", "low"),
        select=tuple(raw.get("select", ())),
        ignore=tuple(raw.get("ignore", ())),
        exclude=tuple(raw.get("exclude", ())),
        include_ignored=raw.get("include_ignored", False),
        max_file_size_mb=raw.get("max_file_size_mb", 5.0),
        baseline=raw.get("baseline"),
        environments=dict(raw.get("environments", {})),
        namespace_environments=dict(raw.get("namespace_environments", {})),
        client_prefixes=tuple(raw.get("client_prefixes", ())),
        secret_names=frozenset(raw.get("secret_names", ())),
        allowed_names=frozenset(raw.get("allowed_names", ())),
        rotation_warn_days=rotation.get("warn_days", 60),
        rotation_fail_days=rotation.get("fail_days", 90),
        allow=tuple(AllowEntry(**entry) for entry in raw.get("allow", ())),
        cluster_system_namespaces=tuple(cluster["system_namespaces"]) if "system_namespaces" in cluster else None,
        cluster_environment_labels=tuple(cluster["environment_labels"]) if "environment_labels" in cluster else None,
        cluster_secret_values=cluster.get("secret_values", True),
        source=source,
    )
