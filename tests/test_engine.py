"""Engine behaviour: superseding, suppressions, config allow-entries, baselines, failing rules."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from auditor import engine
from auditor.config import AllowEntry
from auditor.model import Confidence, DocKind, Document, Location, Repository, Severity, Suppression, Value, ValueKind
from auditor.policies import Policy
from auditor.rules import Hit, RuleContext

SECRET = "Zq8Lm2Xw7Rt4Vb9Nc3Hd6Jf1"


def _policy(rule_id: str, check: str, supersedes: tuple[str, ...] = ()) -> Policy:
    return Policy(id=rule_id, name=rule_id.lower(), title="t" * 10, severity=Severity.HIGH,
                  confidence=Confidence.HIGH, category="hardcoded-secret", targets=("repository",), check=check,
                  supersedes=supersedes, anchors=(), docs={}, source="x")


@pytest.fixture
def rules_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("auditor.rules._engine_test")

    def general(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
        yield Hit(Location("a.env", 1), "general", Value(SECRET, ValueKind.LITERAL), name="K")
        yield Hit(Location("a.env", 2), "general", Value(SECRET + "x", ValueKind.LITERAL), name="K2")

    def specific(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
        yield Hit(Location("a.env", 1), "specific", Value(SECRET, ValueKind.LITERAL), name="K",
                  severity=Severity.CRITICAL)

    def broken(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
        raise ValueError(SECRET)  # the message must never reach a diagnostic

    module.general, module.specific, module.broken = general, specific, broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "auditor.rules._engine_test", module)
    return module


def _repo(suppressions: dict[int, Suppression] | None = None) -> Repository:
    doc = Document("a.env", DocKind.ENV_FILE, suppressions=suppressions or {})
    return Repository(root=".", documents=[doc], files=frozenset({"a.env"}))


def _run(repo: Repository, policies: list[Policy], **kw: object) -> tuple[list, list]:  # type: ignore[type-arg]
    return engine.run(repo, policies, RuleContext(), engine.EngineOptions(fingerprint_key=b"k", **kw))  # type: ignore[arg-type]


def test_specific_rule_supersedes_general_on_same_value(rules_module: types.ModuleType) -> None:
    findings, diags = _run(_repo(), [_policy("GEN-01", "_engine_test:general"),
                                     _policy("SPC-01", "_engine_test:specific", ("GEN-01",))])
    assert [(f.rule_id, f.location.line) for f in findings] == [("SPC-01", 1), ("GEN-01", 2)]
    assert findings[0].severity is Severity.CRITICAL and not diags


def test_evidence_is_redacted_and_fingerprinted(rules_module: types.ModuleType) -> None:
    findings, _ = _run(_repo(), [_policy("GEN-01", "_engine_test:general")])
    assert all(SECRET not in repr(f) for f in findings)
    assert findings[0].evidence == "...(24 chars)"
    assert findings[0].fingerprint and findings[0].fingerprint != findings[1].fingerprint


def test_inline_suppression_marks_not_drops(rules_module: types.ModuleType) -> None:
    repo = _repo({1: Suppression(1, frozenset({"GEN-01"}), "rotated")})
    findings, _ = _run(repo, [_policy("GEN-01", "_engine_test:general")])
    assert [f.suppressed for f in findings] == ["inline: rotated", None]


def test_suppression_for_another_rule_does_not_apply(rules_module: types.ModuleType) -> None:
    repo = _repo({1: Suppression(1, frozenset({"OTH-01"}), "x")})
    findings, _ = _run(repo, [_policy("GEN-01", "_engine_test:general")])
    assert [f.suppressed for f in findings] == [None, None]


def test_config_allow_and_baseline(rules_module: types.ModuleType) -> None:
    findings, _ = _run(_repo(), [_policy("GEN-01", "_engine_test:general")],
                       allow=(AllowEntry(reason="demo", rule="GEN-01", name="K2"),))
    assert [f.suppressed for f in findings] == [None, "config: demo"]
    accepted = frozenset({findings[0].identity})
    again, _ = _run(_repo(), [_policy("GEN-01", "_engine_test:general")], baseline=accepted)
    assert [f.suppressed for f in again] == ["baseline", None]


def test_failing_rule_becomes_a_diagnostic_without_its_message(rules_module: types.ModuleType) -> None:
    findings, diags = _run(_repo(), [_policy("BRK-01", "_engine_test:broken"), _policy("GEN-01", "_engine_test:general")])
    assert len(findings) == 2
    assert len(diags) == 1 and "BRK-01" in diags[0].message and SECRET not in diags[0].message


def test_selected() -> None:
    ps = [_policy("AAA-01", "x:y"), _policy("BBB-01", "x:y")]
    assert [p.id for p in engine.selected(ps, ["aaa-01"], [])] == ["AAA-01"]
    assert [p.id for p in engine.selected(ps, [], ["AAA-01"])] == ["BBB-01"]
