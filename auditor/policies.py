"""Loads the rule definitions in ``policies/`` and validates each against the policy JSON Schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from auditor.model import Confidence, Severity

DOCS_BASE = "https://github.com/keyaudit/keyaudit/blob/main/docs/rules"


class PolicyError(Exception):
    """A policy file is missing, malformed or fails the schema."""


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    name: str
    title: str
    severity: Severity
    confidence: Confidence
    category: str
    targets: tuple[str, ...]
    check: str
    supersedes: tuple[str, ...]
    anchors: tuple[str, ...]
    docs: dict[str, object]
    source: str  # file name, for error messages

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE}/{self.id}.md"


def policies_dir() -> Path:
    """``auditor/_policies`` inside a wheel; the repository's ``policies/`` in a source checkout."""
    packaged = Path(str(resources.files("auditor"))) / "_policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "policies"


def _schema() -> dict[str, object]:
    text = (resources.files("auditor") / "schemas" / "policy.schema.json").read_text(encoding="utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


@cache
def load_policies(directory: Path | None = None) -> tuple[Policy, ...]:
    import jsonschema
    import yaml

    directory = directory or policies_dir()
    validator = jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker())
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
        errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(top)"
            raise PolicyError(f"{path.name}: {where}: {errors[0].message}")
        if raw["id"] in seen:
            raise PolicyError(f"{path.name}: id {raw['id']} already defined in {seen[raw['id']]}")
        if path.stem != raw["id"]:
            raise PolicyError(f"{path.name}: file must be named {raw['id']}.yaml")
        seen[raw["id"]] = path.name
        policies.append(
            Policy(
                id=raw["id"], name=raw["name"], title=raw["title"], severity=Severity(raw["severity"]),
                confidence=Confidence(raw["confidence"]), category=raw["category"], targets=tuple(raw["targets"]),
                check=raw["check"], supersedes=tuple(raw.get("supersedes", ())), anchors=tuple(raw.get("anchors", ())),
                docs=raw["docs"], source=path.name,
            )
        )
    if not policies:
        raise PolicyError(f"no policies found in {directory}")
    return tuple(policies)


def policy_by_id(rule_id: str) -> Policy | None:
    return next((p for p in load_policies() if rule_id in (p.id, p.name)), None)
