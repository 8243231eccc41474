"""Rule documentation generated from ``policies/``: ``keyaudit explain`` and ``docs/rules/``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditor.policies import Policy


def render_policy(p: Policy) -> str:
    docs = p.docs
    refs = "\n".join(f"- <{r}>" for r in docs["references"])  # type: ignore[attr-defined]
    anchors = "\n".join(f"- {a}" for a in p.anchors) or "- none"
    return f"""# {p.id} `{p.name}`: {p.title}

| severity | confidence | category | applies to |
|---|---|---|---|
| {p.severity.value} | {p.confidence.value} | {p.category} | {", ".join(p.targets)} |

## What it does
{str(docs["what"]).strip()}

## Why is this bad?
{str(docs["why"]).strip()}

## Example
```
{str(docs["example"]).rstrip()}
```

## Use instead
```
{str(docs["use_instead"]).rstrip()}
```

## What other tools call it
{anchors}

## References
{refs}
"""


def render_index(policies: Sequence[Policy]) -> str:
    rows = "\n".join(f"| [{p.id}]({p.id}.md) | `{p.name}` | {p.severity.value} | {p.category} | {p.title} |"
                     for p in policies)
    return ("# keyaudit rules\n\nGenerated from `policies/` by `python -m auditor.docs`; do not edit by hand.\n\n"
            "| id | name | severity | category | title |\n|---|---|---|---|---|\n" + rows + "\n")


def expected_files(policies: Sequence[Policy]) -> dict[str, str]:
    files = {f"{p.id}.md": render_policy(p) for p in policies}
    files["README.md"] = render_index(policies)
    return files


def write(directory: Path) -> None:
    from auditor.policies import load_policies

    directory.mkdir(parents=True, exist_ok=True)
    wanted = expected_files(load_policies())
    for stale in directory.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (directory / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(__file__).resolve().parent.parent / "docs" / "rules")
