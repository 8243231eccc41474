"""LOG-07: nothing scans for secrets before a change lands (no pre-commit hook, no PR/MR CI job)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.model import Location, Repository
from auditor.rules import Hit, RuleContext

SCANNERS = ("gitleaks", "trufflehog", "detect-secrets", "ggshield", "keyaudit", "secretlint", "talisman")
_SCANNER = re.compile(r"(?i)\b(" + "|".join(re.escape(s) for s in SCANNERS) + r")\b")
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"


def pre_commit_scanner(path: str, text: str) -> str | None:
    """The secret scanner a ``.pre-commit-config.yaml`` runs, if any (the loader records it as a fact)."""
    if not path.endswith(PRE_COMMIT_CONFIG):
        return None
    m = _SCANNER.search(text)
    return m.group(1).lower() if m else None


def _ci_scanner(repo: Repository) -> str | None:
    from auditor.parsers.ci_model import CIDocument

    for doc in repo.documents:
        if not isinstance(doc.data, CIDocument):
            continue
        for pipeline in doc.data.pipelines:
            for job in pipeline.jobs:
                for step in job.steps:
                    text = " ".join(filter(None, (step.uses.name if step.uses else None, step.script_text)))
                    m = _SCANNER.search(text)
                    if m:
                        return m.group(1).lower()
    return None


def no_secret_scanning(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-07: the repository has CI but neither a pre-commit hook nor a CI job runs a secret scanner."""
    from auditor.parsers.ci_model import CIDocument

    ci_docs = sorted((d for d in repo.documents if isinstance(d.data, CIDocument)), key=lambda d: d.path)
    if not ci_docs or repo.facts.get("secret_scanning") or _ci_scanner(repo):
        return
    yield Hit(
        Location(ci_docs[0].path, 1),
        "no secret scanning before changes land: neither .pre-commit-config.yaml nor a CI job runs a secret scanner "
        "(gitleaks, trufflehog, detect-secrets, keyaudit...), so a committed key is found only after it is pushed; "
        "add a pre-commit hook and a pull-request job (e.g. the keyaudit GitHub Action)",
        name="secret-scanning",
    )
