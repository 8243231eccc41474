"""Reporters: snapshots of every format, format validity (JSON Schema, SARIF 2.1.0, XML), escaping, redaction."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor import reporters
from auditor.findings import Finding, ScanResult, ScanStats
from auditor.model import Confidence, Diagnostic, Location, Severity, Value, ValueKind
from auditor.policies import Policy
from auditor.redact import redact
from auditor.reporters import FORMATS, RenderOptions, render
from auditor.reporters.github import escape_data, escape_property
from auditor.reporters.markdown import code, text

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "reporters"
REPORT_SCHEMA = ROOT / "auditor" / "schemas" / "report.schema.json"
SARIF_SCHEMA = Path("/work/shared/schemas/sarif-schema-2.1.0.json")
UPDATE = os.environ.get("KEYAUDIT_UPDATE_SNAPSHOTS") == "1"
DOCS = "https://github.com/keyaudit/keyaudit/blob/main/docs/rules"
ANSI = re.compile(r"\x1b\[")


# --- sample data ---------------------------------------------------------------------------------------------


def policy(
    rule_id: str, name: str, title: str, severity: Severity, category: str, what: str, example: str, instead: str
) -> Policy:
    return Policy(
        id=rule_id, name=name, title=title, severity=severity, confidence=Confidence.HIGH, category=category,
        targets=("dockerfile",), check="dockerfile:check", supersedes=(), anchors=(),
        docs={
            "what": what,
            "why": "Anything passed this way is stored where everyone who can pull or read it can recover the key.",
            "example": example,
            "use_instead": instead,
            "references": ["https://docs.docker.com/build/building/secrets/"],
        },
        source=f"{rule_id}.yaml",
    )


POLICIES = (
    policy("BLD-01", "secret-in-build-arg-or-env", "Secret passed as a Docker build argument or ENV", Severity.HIGH,
           "build-time-injection", "Flags Dockerfile ARG and ENV instructions whose name says they hold a secret.",
           "ARG OPENAI_API_KEY\nRUN ./fetch-model.sh", "RUN --mount=type=secret,id=openai,env=OPENAI_API_KEY \\\n"
           "    ./fetch-model.sh"),
    policy("HCK-02", "secret-literal-in-env-map", "Secret literal in an environment map", Severity.HIGH,
           "hardcoded-secret", "Flags secret-named environment variables given a literal value in compose, CI and "
           "Kubernetes env maps.", "environment:\n  STRIPE_SECRET_KEY: sk_live_...",
           "Reference a secret store: compose `secrets:`, `${{ secrets.X }}`, `secretKeyRef`."),
    policy("IGN-02", "env-file-not-dockerignored", "Build context does not exclude .env files", Severity.MEDIUM,
           "env-file-exposure", "Flags a .dockerignore that does not exclude .env files from the build context.",
           "node_modules/", "Add `**/.env*` to .dockerignore."),
    policy("HCK-06", "secret-variable-default", "Terraform secret variable with a default or not sensitive",
           Severity.HIGH, "hardcoded-secret", "Flags Terraform variables named like secrets that have a literal "
           "default or lack sensitive = true.", 'variable "api_key" {\n  default = "..."\n}',
           'variable "api_key" {\n  sensitive = true\n}'),
)


def finding(rule: Policy, path: str, line: int, column: int | None, message: str, **extra: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule_id": rule.id, "rule_name": rule.name, "title": rule.title, "category": rule.category,
        "severity": rule.severity, "confidence": rule.confidence, "message": message,
        "location": Location(path, line, column), "help_uri": f"{DOCS}/{rule.id}.md",
        "identity": f"{rule.id}:{path}:{extra.get('name') or ''}",
    }
    fields.update(extra)
    return Finding(**fields)


BLD01, HCK02, IGN02, _ = POLICIES


def sample() -> ScanResult:
    findings = [
        finding(BLD01, "Dockerfile", 12, 5,
                "Build argument OPENAI_API_KEY holds an OpenAI API key: it is stored in the image history, "
                "readable by anyone who can pull the image",
                severity=Severity.CRITICAL, evidence="sk-proj-...(164 chars)", name="OPENAI_API_KEY",
                fingerprint="3f6a0c1e9b2d4f5a6c7e8d9f0a1b2c3d", route="stages[1].ARG.OPENAI_API_KEY"),
        finding(BLD01, "Dockerfile", 3, None, "Build argument GITHUB_TOKEN is named like a secret",
                name="GITHUB_TOKEN", route="stages[0].ARG.GITHUB_TOKEN"),
        finding(IGN02, ".dockerignore", 1, None, ".dockerignore does not exclude .env (present: .env, .env.local)"),
        finding(HCK02, "deploy/compose.yaml", 14, 9,
                "Environment variable STRIPE_SECRET_KEY of service `web|api` is a literal",
                evidence="sk_live_...(107 chars)", name="STRIPE_SECRET_KEY",
                fingerprint="9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
                route="services.web.environment.STRIPE_SECRET_KEY", suppressed="inline: test account, revoked"),
    ]
    return ScanResult(
        root=".",
        findings=findings,
        diagnostics=[Diagnostic("k8s/secret.yaml", 4, "could not parse YAML (ScannerError); rest of file skipped")],
        stats=ScanStats(files_seen=9, files_scanned=7, documents_parsed=6, skipped_binary=1, skipped_ignored=1,
                        seconds=0.25),
        tool_version="0.1.0",
        rules=("BLD-01", "HCK-02", "HCK-06", "IGN-02"),
    )


def clean() -> ScanResult:
    return ScanResult(root=".", findings=[], diagnostics=[], stats=ScanStats(files_seen=3, files_scanned=3),
                      tool_version="0.1.0", rules=("BLD-01",))


# --- well-formedness -----------------------------------------------------------------------------------------


def report_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def sarif_validator() -> jsonschema.Draft4Validator:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"{SARIF_SCHEMA} not present")
    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


def table_cells(row: str) -> int:
    """Cells in a GFM table row: unescaped pipes, minus the two borders."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def assert_well_formed(fmt: str, out: str, result: ScanResult) -> None:
    assert out == "" or out.endswith("\n")
    if fmt == "json":
        report_validator().validate(json.loads(out))
    elif fmt == "sarif":
        if SARIF_SCHEMA.is_file():
            sarif_validator().validate(json.loads(out))
        else:
            json.loads(out)
    elif fmt == "junit":
        ET.fromstring(out.encode("utf-8"))
    elif fmt == "github":
        for line in out.splitlines():
            prop = r"[A-Za-z]+=[^,:]*"
            assert re.fullmatch(rf"::(error|warning|notice)( {prop}(,{prop})*)?::[^\r\n]*", line), line
    elif fmt == "markdown":
        for block in re.split(r"\n\n", out):
            rows = [r for r in block.splitlines() if r.startswith("|")]
            if rows:
                assert len({table_cells(r) for r in rows}) == 1, block
    elif fmt == "console":
        assert not ANSI.search(out)
        assert "\r" not in out
        for line in out.splitlines():
            assert all(ch == "\t" or ord(ch) >= 0x20 for ch in line), repr(line)


# --- registry ------------------------------------------------------------------------------------------------


def test_registry_lists_every_leaf_module() -> None:
    assert FORMATS == ("console", "json", "sarif", "junit", "markdown", "github")
    assert set(reporters.SUFFIXES) == set(FORMATS)
    for fmt in FORMATS:
        assert callable(reporters.get_renderer(fmt))


def test_unknown_format_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="choose one of: console, json"):
        render("yaml", sample())


def test_importing_the_registry_loads_no_leaf_module() -> None:
    code_ = (
        "import sys, auditor.reporters as r\n"
        "leaves = [m for m in sys.modules if m.startswith('auditor.reporters.')]\n"
        "heavy = [m for m in ('xml.etree.ElementTree', 'auditor.policies', 'jsonschema') if m in sys.modules]\n"
        "print(leaves, heavy)\n"
        "r.render('console', __import__('auditor.findings').findings.ScanResult('.', [], []))\n"
        "print('auditor.reporters.sarif' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.splitlines() == ["[] []", "False"]


def test_render_options_are_passed_through() -> None:
    seen: list[RenderOptions] = []

    def fake(result: ScanResult, options: RenderOptions) -> str:
        seen.append(options)
        return ""

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reporters, "get_renderer", lambda fmt: fake)
        reporters.render("console", sample(), color=True, policies=list(POLICIES), show_suppressed=True)
    assert seen == [RenderOptions(color=True, policies=POLICIES, show_suppressed=True)]


# --- snapshots -----------------------------------------------------------------------------------------------

SNAPSHOT_CASES = [
    ("console", False, "console.txt"),
    ("console", True, "console-show-suppressed.txt"),
    ("json", False, "report.json"),
    ("sarif", False, "report.sarif"),
    ("junit", False, "junit.xml"),
    ("markdown", False, "report.md"),
    ("markdown", True, "report-show-suppressed.md"),
    ("github", False, "github.txt"),
]


@pytest.mark.parametrize(("fmt", "show_suppressed", "filename"), SNAPSHOT_CASES)
def test_snapshot(fmt: str, show_suppressed: bool, filename: str) -> None:
    out = render(fmt, sample(), policies=POLICIES, show_suppressed=show_suppressed)
    assert_well_formed(fmt, out, sample())
    snapshot = SNAPSHOTS / filename
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(out, encoding="utf-8", newline="\n")
    assert snapshot.is_file(), f"missing snapshot {snapshot}; run with KEYAUDIT_UPDATE_SNAPSHOTS=1"
    assert out == snapshot.read_text(encoding="utf-8"), f"{filename} changed; review, then KEYAUDIT_UPDATE_SNAPSHOTS=1"


def test_no_stale_snapshots() -> None:
    assert sorted(p.name for p in SNAPSHOTS.iterdir()) == sorted(name for _, _, name in SNAPSHOT_CASES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_clean_scan_and_one_without_policies(fmt: str) -> None:
    for result, policies in ((clean(), POLICIES), (clean(), ()), (sample(), ()), (ScanResult("x", [], []), ())):
        assert_well_formed(fmt, render(fmt, result, policies=policies), result)


# --- console -------------------------------------------------------------------------------------------------


def test_console_groups_by_file_and_summarises() -> None:
    out = render("console", sample(), policies=POLICIES)
    lines = out.splitlines()
    assert lines[0] == ".dockerignore"
    gh_token = ("     3  HIGH      BLD-01  secret-in-build-arg-or-env  "
                "Build argument GITHUB_TOKEN is named like a secret")
    assert lines.index("Dockerfile") < lines.index(gh_token)
    assert "  12:5  CRITICAL  BLD-01  secret-in-build-arg-or-env  Build argument OPENAI_API_KEY" in out
    assert "[evidence sk-proj-...(164 chars)]" in out
    assert "STRIPE_SECRET_KEY" not in out  # suppressed, hidden by default
    assert "  k8s/secret.yaml:4: error: could not parse YAML" in out
    assert out.count(f"see {DOCS}/BLD-01.md") == 1
    assert "HCK-02" not in out  # no hint for a rule whose only finding is hidden
    assert lines[-2] == "3 findings (critical: 1, high: 1, medium: 1, low: 0, info: 0), 1 suppressed"
    assert lines[-1] == "7 files scanned in 0.25s (skipped: 1 binary, 1 ignored)"


def test_console_colour_only_on_request() -> None:
    assert not ANSI.search(render("console", sample(), color=False))
    coloured = render("console", sample(), color=True)
    assert "\x1b[1;35mCRITICAL\x1b[0m" in coloured
    assert "\x1b[33mMEDIUM\x1b[0m" in coloured
    assert "\x1b[1;31mHIGH    \x1b[0m" in coloured  # padded to CRITICAL, the widest label in its file


def test_console_clean() -> None:
    assert render("console", clean()).splitlines() == ["No findings.", "3 files scanned in 0.00s"]
    only_suppressed = dataclasses.replace(sample(), findings=sample().suppressed, diagnostics=[])
    assert render("console", only_suppressed).splitlines()[0] == "No findings (1 suppressed)."


def test_console_neutralises_terminal_escapes_in_names() -> None:
    evil = finding(BLD01, "Docker\x1b[2Jfile", 1, 1, "Build argument A\x1b]0;pwned\x07\nFAKE LINE\u202e is set")
    out = render("console", ScanResult(".", [evil], []))
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[2J" in out
    assert "\\x0aFAKE LINE\\u202e" in out


# --- json ----------------------------------------------------------------------------------------------------


def test_json_carries_every_finding_field() -> None:
    report = json.loads(render("json", sample(), policies=POLICIES))
    assert report["version"] == 1
    assert report["tool"] == {"name": "keyaudit", "version": "0.1.0"}
    assert report["partial"] is False
    assert report["rules"] == ["BLD-01", "HCK-02", "HCK-06", "IGN-02"]
    assert report["summary"]["critical"] == 1
    assert report["summary"]["medium"] == 1
    assert report["summary"]["total"] == 3
    assert report["summary"]["suppressed"] == 1
    first = report["findings"][0]
    expected = {f.name for f in dataclasses.fields(Finding)}
    assert set(first) == expected
    assert first["location"] == {"path": ".dockerignore", "line": 1, "column": None, "end_line": None}
    assert [f["rule_id"] for f in report["suppressed"]] == ["HCK-02"]
    assert report["suppressed"][0]["suppressed"] == "inline: test account, revoked"
    assert report["diagnostics"] == [{"path": "k8s/secret.yaml", "line": 4, "level": "error",
                                      "message": "could not parse YAML (ScannerError); rest of file skipped"}]


def test_json_schema_rejects_what_it_should() -> None:
    validator = report_validator()
    report = json.loads(render("json", sample()))
    validator.validate(report)
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda r: r.update(extra=1),
        lambda r: r["findings"][0].update(value="sk-proj-abc"),  # no field may carry a value
        lambda r: r["findings"][0].update(suppressed="baseline"),  # active findings are unsuppressed
        lambda r: r["suppressed"][0].update(suppressed=None),
        lambda r: r["findings"][0]["location"].update(line=0),
        lambda r: r["summary"].pop("files_scanned"),
        lambda r: r.pop("partial"),
        lambda r: r.update(partial="yes"),
    ]
    for mutate in mutations:
        broken = json.loads(json.dumps(report))
        mutate(broken)
        assert not validator.is_valid(broken)


# --- sarif ---------------------------------------------------------------------------------------------------


def sarif_run(result: ScanResult, policies: tuple[Policy, ...] = POLICIES) -> dict[str, Any]:
    doc = json.loads(render("sarif", result, policies=policies))
    assert doc["version"] == "2.1.0"
    run: dict[str, Any] = doc["runs"][0]
    return run


def test_sarif_is_valid_sarif_2_1_0() -> None:
    validator = sarif_validator()
    for result in (sample(), clean()):
        validator.validate(json.loads(render("sarif", result, policies=POLICIES)))
    broken = json.loads(render("sarif", sample(), policies=POLICIES))
    broken["runs"][0]["results"][0]["level"] = "critical"
    assert not validator.is_valid(broken)


def test_sarif_rules_describe_every_policy_that_ran() -> None:
    driver = sarif_run(sample())["tool"]["driver"]
    assert driver["name"] == "keyaudit"
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == ["BLD-01", "HCK-02", "HCK-06", "IGN-02"]
    bld = driver["rules"][0]
    assert bld["name"] == "secret-in-build-arg-or-env"
    assert bld["shortDescription"]["text"] == BLD01.title
    assert bld["fullDescription"]["text"] == BLD01.docs["what"]
    assert bld["helpUri"] == BLD01.help_uri
    assert bld["defaultConfiguration"] == {"level": "error"}
    assert bld["properties"]["security-severity"] == "8.0"
    assert bld["properties"]["precision"] == "high"
    assert "security" in bld["properties"]["tags"]
    assert "build-time-injection" in bld["properties"]["tags"]
    assert "```\nARG OPENAI_API_KEY\nRUN ./fetch-model.sh\n```" in bld["help"]["markdown"]
    assert "https://docs.docker.com/build/building/secrets/" in bld["help"]["text"]
    ign = driver["rules"][3]
    assert ign["defaultConfiguration"] == {"level": "warning"}
    assert ign["properties"]["security-severity"] == "5.5"


def test_sarif_results() -> None:
    run = sarif_run(sample())
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert len(results) == 4  # suppressed included
    for r in results:
        assert rules[r["ruleIndex"]] == r["ruleId"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith(("/", "file:"))
    crit = next(r for r in results if r["locations"][0]["physicalLocation"]["region"].get("startColumn") == 5)
    assert crit["level"] == "error"
    assert crit["partialFingerprints"] == {"keyaudit/v1": "BLD-01:Dockerfile:OPENAI_API_KEY"}
    assert crit["properties"]["evidence"] == "sk-proj-...(164 chars)"
    no_col = next(r for r in results if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 3)
    assert no_col["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    ign = next(r for r in results if r["ruleId"] == "IGN-02")
    assert ign["level"] == "warning"
    suppressed = [r for r in results if "suppressions" in r]
    assert [s["suppressions"] for s in suppressed] == [
        [{"kind": "inSource", "status": "accepted", "justification": "test account, revoked"}]
    ]
    notes = run["invocations"][0]
    assert notes["executionSuccessful"] is True
    assert notes["toolExecutionNotifications"][0]["level"] == "error"
    assert notes["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 4}


@pytest.mark.parametrize(("severity", "level"), [
    (Severity.CRITICAL, "error"), (Severity.HIGH, "error"), (Severity.MEDIUM, "warning"),
    (Severity.LOW, "note"), (Severity.INFO, "note"),
])
def test_sarif_levels(severity: Severity, level: str) -> None:
    result = ScanResult(".", [finding(BLD01, "a", 1, None, "m", severity=severity)], [])
    assert sarif_run(result)["results"][0]["level"] == level


def test_sarif_fingerprint_survives_line_moves_and_suppressions_map_by_source() -> None:
    base = finding(BLD01, "dir with space/Dockerfile", 3, 1, "m", name="TOKEN")
    moved = dataclasses.replace(base, location=Location("dir with space/Dockerfile", 40, 1))
    first, second = (sarif_run(ScanResult(".", [f], []))["results"][0] for f in (base, moved))
    assert first["partialFingerprints"] == second["partialFingerprints"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dir%20with%20space/Dockerfile"
    kinds = {}
    for reason in ("baseline", "config: vendored test data", "inline: fixture"):
        res = sarif_run(ScanResult(".", [dataclasses.replace(base, suppressed=reason)], []))["results"][0]
        kinds[reason] = res["suppressions"][0]
    assert kinds["baseline"] == {"kind": "external", "status": "accepted", "justification": "baseline"}
    assert kinds["config: vendored test data"]["justification"] == "vendored test data"
    assert kinds["inline: fixture"]["kind"] == "inSource"


def test_sarif_describes_rules_without_a_policy_from_their_findings() -> None:
    run = sarif_run(sample(), policies=())
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["BLD-01", "HCK-02", "HCK-06", "IGN-02"]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == BLD01.title


# --- partial results and cluster locations -------------------------------------------------------------------

K8S02 = dataclasses.replace(
    POLICIES[1], id="K8S-02", name="literal-secret-in-running-workload", title="Literal key in a running workload",
    category="hardcoded-secret", targets=("cluster",),
)


def cluster_result(partial: bool = True) -> ScanResult:
    """What `keyaudit cluster` returns: object paths, line 1, a context named like a kubeconfig user@cluster."""
    findings = [
        finding(K8S02, "admin@kind-shop/shop-prod/Deployment/api", 1, None,
                "OPENAI_API_KEY in container api of Deployment shop-prod/api is set to a literal",
                severity=Severity.CRITICAL, evidence="sk-proj-...(164 chars)", name="OPENAI_API_KEY",
                route="Deployment/api.spec.template.spec.containers[api].env.OPENAI_API_KEY"),
        finding(K8S02, "admin@kind-shop/ClusterRole/secret reader", 1, None, "cluster-scoped, odd name"),
    ]
    diagnostics = [
        Diagnostic("admin@kind-shop", None, 'forbidden: cannot list secrets in namespace payments; grant verbs: '
                   '["list"] on resources: ["secrets"] ("apiGroups: [""]")', "warning"),
        Diagnostic("admin@kind-shop", None, "listing pods: GET /api/v1/pods: timed out (result partial)", "error"),
        Diagnostic("admin@kind-shop", None, "the audit of this cluster is partial: some resources could not be read "
                   "(see the other diagnostics)", "warning"),
    ]
    return ScanResult(root="admin@kind-shop", findings=findings, diagnostics=diagnostics,
                      stats=ScanStats(files_seen=40, files_scanned=12, documents_parsed=12), tool_version="0.1.0",
                      rules=("K8S-02",), partial=partial, uri_scheme="kube")


def test_cluster_sarif_uses_absolute_kube_uris_and_is_valid() -> None:
    doc = json.loads(render("sarif", cluster_result(), policies=POLICIES))
    sarif_validator().validate(doc)
    run = doc["runs"][0]
    artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert artifacts == [{"uri": "kube://admin%40kind-shop/ClusterRole/secret%20reader"},
                         {"uri": "kube://admin%40kind-shop/shop-prod/Deployment/api"}]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert all("uriBaseId" not in n["locations"][0]["physicalLocation"]["artifactLocation"]
               for n in notes if "locations" in n)
    assert notes[1]["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "kube://admin%40kind-shop"}
    api = run["results"][1]
    assert api["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "Deployment/api.spec.template.spec.containers[api].env.OPENAI_API_KEY"}]


def test_sarif_partial_result_is_not_a_successful_execution() -> None:
    validator = sarif_validator()
    partial = json.loads(render("sarif", cluster_result(partial=True)))
    complete = json.loads(render("sarif", cluster_result(partial=False)))
    for doc in (partial, complete):
        validator.validate(doc)
    invocation = partial["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    first = invocation["toolExecutionNotifications"][0]
    assert first["level"] == "error"
    assert first["descriptor"] == {"id": "partial"}
    assert first["message"]["text"].startswith("Results are partial: 2 API errors/permissions missing")
    assert len(invocation["toolExecutionNotifications"]) == 4  # the marker and the three diagnostics
    assert complete["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert len(complete["runs"][0]["invocations"][0]["toolExecutionNotifications"]) == 3


def test_scan_results_keep_srcroot_relative_uris() -> None:
    scan_like = dataclasses.replace(cluster_result(partial=False), uri_scheme=None)
    run = sarif_run(scan_like)
    artifact = run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "admin%40kind-shop/shop-prod/Deployment/api", "uriBaseId": "%SRCROOT%"}


def test_json_and_console_say_a_result_is_partial() -> None:
    report = json.loads(render("json", cluster_result()))
    report_validator().validate(report)
    assert report["partial"] is True
    assert report["findings"][1]["location"]["path"] == "admin@kind-shop/shop-prod/Deployment/api"
    lines = render("console", cluster_result()).splitlines()
    assert lines[-3].startswith("2 findings")
    assert lines[-2] == "Results are partial: 2 API errors/permissions missing (see Diagnostics)."
    one = dataclasses.replace(cluster_result(), diagnostics=cluster_result().diagnostics[1:])
    assert "Results are partial: 1 API error/permission missing" in render("console", one)
    unknown = dataclasses.replace(cluster_result(), diagnostics=[])
    assert "Results are partial: some input could not be read" in render("console", unknown)
    assert "partial" not in render("console", cluster_result(partial=False)).splitlines()[-2]
    assert "Results are partial" not in render("console", sample())
    assert json.loads(render("json", sample()))["partial"] is False


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_cluster_result(fmt: str) -> None:
    for partial in (True, False):
        result = cluster_result(partial)
        assert_well_formed(fmt, render(fmt, result, policies=POLICIES, show_suppressed=True), result)


# --- junit ---------------------------------------------------------------------------------------------------


def test_junit_suites_per_rule() -> None:
    root = ET.fromstring(render("junit", sample(), policies=POLICIES))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "3", "1", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["BLD-01 secret-in-build-arg-or-env", "HCK-02 secret-literal-in-env-map",
                            "HCK-06 secret-variable-default", "IGN-02 env-file-not-dockerignored", "diagnostics"]
    bld = suites["BLD-01 secret-in-build-arg-or-env"]
    assert bld.get("failures") == "2"
    failure = bld.find("testcase/failure")
    assert failure is not None
    assert failure.get("type") == "high"
    passing = suites["HCK-06 secret-variable-default"].findall("testcase")
    assert len(passing) == 1
    assert list(passing[0]) == []
    assert list(suites["HCK-02 secret-literal-in-env-map"].iter("failure")) == []  # suppressed: hidden by default
    error = suites["diagnostics"].find("testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("could not parse YAML")


def test_junit_suppressed_are_skipped_when_shown() -> None:
    root = ET.fromstring(render("junit", sample(), show_suppressed=True))
    skipped = list(root.iter("skipped"))
    assert [s.get("message") for s in skipped] == ["suppressed: inline: test account, revoked"]
    assert root.get("skipped") == "1"


def test_junit_escapes_markup_and_control_characters() -> None:
    nasty = 'Variable <A&B> "quoted" \x00\x1b ]]> end'
    out = render("junit", ScanResult(".", [finding(BLD01, "a&b<c>.env", 2, None, nasty, name="<x>")], []))
    root = ET.fromstring(out)
    failure = next(root.iter("failure"))
    assert failure.get("message") == 'Variable <A&B> "quoted" \\x00\\x1b ]]> end'
    case = next(root.iter("testcase"))
    assert case.get("file") == "a&b<c>.env"
    assert case.get("name") == "a&b<c>.env:2 <x>"


# --- markdown ------------------------------------------------------------------------------------------------


def test_markdown_escaping() -> None:
    assert text("a|b `c` *d*") == "a\\|b \\`c\\` \\*d\\*"
    assert text("line1\nline2") == "line1 line2"
    assert code("sk-...(12 chars)") == "`sk-...(12 chars)`"
    assert code("a`b") == "``a`b``"
    assert code("`x|y`") == "`` `x\\|y` ``"


def test_markdown_pr_comment() -> None:
    out = render("markdown", sample(), policies=POLICIES)
    assert out.startswith("## keyaudit report\n")
    assert "| critical | 1 |" in out
    assert "| **total** | **3** |" in out
    assert "### `Dockerfile`" in out
    assert f"| 12:5 | critical | [BLD-01](<{DOCS}/BLD-01.md>) secret-in-build-arg-or-env |" in out
    assert "| `sk-proj-...(164 chars)` |" in out
    assert "STRIPE" not in out
    assert "<details>" not in out
    shown = render("markdown", sample(), show_suppressed=True)
    assert "<details><summary>1 suppressed finding</summary>" in shown
    assert "- `k8s/secret.yaml:4` error: could not parse YAML" in out


def test_markdown_hostile_message_keeps_the_table_intact() -> None:
    f = finding(BLD01, "a|b`c.yaml", 1, None, "Name `X|Y` <img src=x>\n| forged | row |", evidence="ab`|`cd")
    out = render("markdown", ScanResult(".", [f], []))
    assert_well_formed("markdown", out, ScanResult(".", [f], []))
    assert not re.search(r"(?<!\\)<img", out)
    assert "\n| forged" not in out


# --- github --------------------------------------------------------------------------------------------------


def test_github_escaping_matches_actions_toolkit() -> None:
    assert escape_data("100%\r\nok: a,b") == "100%25%0D%0Aok: a,b"
    assert escape_property("100%\r\nok: a,b") == "100%25%0D%0Aok%3A a%2Cb"


def test_github_annotations() -> None:
    lines = render("github", sample(), policies=POLICIES).splitlines()
    assert len(lines) == 4  # 3 findings + 1 diagnostic; the suppressed one is hidden
    assert lines[0].startswith(
        "::error file=Dockerfile,line=12,col=5,title=BLD-01 Secret passed as a Docker build argument or ENV::"
        "Build argument OPENAI_API_KEY holds an OpenAI API key: it is stored"
    )
    assert lines[0].endswith(f"[evidence sk-proj-...(164 chars)]%0A{DOCS}/BLD-01.md")
    assert lines[1].startswith("::error file=Dockerfile,line=3,title=")  # most severe first, no col when unknown
    assert lines[2].startswith("::warning file=.dockerignore,line=1,title=IGN-02 ")
    assert lines[3].startswith("::warning file=k8s/secret.yaml,line=4,title=")
    shown = render("github", sample(), show_suppressed=True).splitlines()
    assert shown[3].startswith("::notice file=deploy/compose.yaml,line=14,col=9,")
    assert "(suppressed: inline: test account%2C revoked)" not in shown[3]  # data, not a property
    assert "(suppressed: inline: test account, revoked)" in shown[3]


def test_github_cannot_be_made_to_emit_a_second_command() -> None:
    f = finding(BLD01, "x,line=1::y.env", 2, None, "Variable A\n::set-output name=x::owned\r\n::add-mask::z")
    out = render("github", ScanResult(".", [f], []))
    assert out.count("\n") == 1
    assert out.startswith("::error file=x%2Cline=1%3A%3Ay.env,line=2,")
    assert "A%0A::set-output" in out
    assert "%0D%0A::add-mask" in out


@pytest.mark.parametrize(("severity", "command"), [
    (Severity.CRITICAL, "error"), (Severity.HIGH, "error"), (Severity.MEDIUM, "warning"),
    (Severity.LOW, "notice"), (Severity.INFO, "notice"),
])
def test_github_commands(severity: Severity, command: str) -> None:
    out = render("github", ScanResult(".", [finding(BLD01, "a", 1, None, "m", severity=severity)], []))
    assert out.startswith(f"::{command} ")


# --- redaction -----------------------------------------------------------------------------------------------

ALLOWED_FINDING_FIELDS = {
    "rule_id": "str", "rule_name": "str", "title": "str", "category": "str", "severity": "Severity",
    "confidence": "Confidence", "message": "str", "location": "Location", "help_uri": "str",
    "evidence": "str | None", "fingerprint": "str | None", "name": "str | None", "route": "str | None",
    "identity": "str", "suppressed": "str | None",
}


def test_finding_has_no_field_that_could_hold_a_raw_value() -> None:
    """Reporters print every Finding field. Adding one (a Value, a snippet, a source line) must be reviewed:
    update this list only if the new field cannot carry a secret.
    """
    assert {f.name: f.type for f in dataclasses.fields(Finding)} == ALLOWED_FINDING_FIELDS
    hints = typing.get_type_hints(Finding) | typing.get_type_hints(Location)
    assert Value not in {t for h in hints.values() for t in (h, *typing.get_args(h))}
    assert {f.name for f in dataclasses.fields(Location)} == {"path", "line", "column", "end_line"}


SECRETS = [
    "sk-proj-" + "Ab3xQ9" * 25 + "T3BlbkFJ",
    "AKIA" + "Z7Q2M4N6P8R1T3V5",
    "ghp_" + "k2Jd8sLq0Wm3Zx7Rv1Ty5Nb9Pc4Hg6Ef2Ua8",
    "hunter2-but-longer-Passw0rd!",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_prints_a_planted_secret(fmt: str) -> None:
    values = [Value(s, ValueKind.LITERAL) for s in SECRETS]
    findings = [
        finding(BLD01, f"svc{i}/Dockerfile", i + 1, 3, f"Build argument KEY_{i} holds a literal secret",
                severity=Severity.CRITICAL, evidence=v.redacted, name=f"KEY_{i}", fingerprint=f"{i:032x}",
                suppressed="baseline" if i == 3 else None)
        for i, v in enumerate(values)
    ]
    result = ScanResult(".", findings, [Diagnostic("svc0/compose.yaml", 2, "could not parse YAML")],
                        stats=ScanStats(files_scanned=4), tool_version="0.1.0", rules=("BLD-01",))
    for show in (False, True):
        out = render(fmt, result, policies=POLICIES, show_suppressed=show)
        assert_well_formed(fmt, out, result)
        for secret in SECRETS:
            assert secret not in out
            assert secret[len(secret) // 3:][:16] not in out  # no fragment of the body either
        assert redact(SECRETS[0]) in out  # the redacted evidence is what gets shown
