"""CI rules (BLD-06, HCK-11, LOG-01..06, ENV-02, ENV-05) over the shared CI model."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.detect.values import classify
from auditor.findings import Finding
from auditor.model import DocKind, Document, Location, Phase, Repository, Severity, Site, SiteKind
from auditor.parsers.ci_model import (
    Artifact,
    Binding,
    CIDocument,
    CISystem,
    Job,
    JobEnvironment,
    Pipeline,
    SecretUse,
    Step,
    Via,
)
from auditor.parsers.shell import parse_script
from auditor.rules import RuleContext
from auditor.rules import ci as rules
from auditor.scan import ScanOptions, scan

from .conftest import SHARED

CI_RULES = ("BLD-06", "HCK-11", "LOG-01", "LOG-02", "LOG-03", "LOG-04", "LOG-05", "LOG-06", "ENV-02", "ENV-05")


def run(tmp_path: Path, files: dict[str, str], *rule_ids: str) -> list[Finding]:
    root = tmp_path / "repo"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    result = scan(root, ScanOptions(config=Config(select=rule_ids or CI_RULES), jobs=1))
    assert not [d for d in result.diagnostics if d.level == "error"], result.diagnostics
    return result.findings


def lines(findings: list[Finding], rule_id: str) -> list[int]:
    return sorted(f.location.line for f in findings if f.rule_id == rule_id)


def workflow(steps: str, *, env: str = "", on: str = "push", job_extra: str = "") -> dict[str, str]:
    """A one-job workflow; ``steps`` is YAML indented for the steps list (6 spaces)."""
    body = f"on: {on}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
    if job_extra:
        body += textwrap.indent(textwrap.dedent(job_extra), "    ")
    if env:
        body += "    env:\n" + textwrap.indent(textwrap.dedent(env), "      ")
    body += "    steps:\n" + textwrap.indent(textwrap.dedent(steps), "      ")
    return {".github/workflows/ci.yml": body}


def line_in(files: dict[str, str], needle: str) -> int:
    text = next(iter(files.values()))
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --------------------------------------------------------------------------------------------- LOG-01


def test_log01_set_x_order_and_set_plus_x(tmp_path: Path) -> None:
    files = workflow("""\
        - run: |
            set -x
            deploy
            set +x
          env:
            TOKEN: ${{ secrets.TOKEN }}
        - run: |
            set +x
            echo ok
          env:
            TOKEN: ${{ secrets.TOKEN }}
        - run: set -x
    """)
    assert lines(run(tmp_path, files, "LOG-01"), "LOG-01") == [line_in(files, "set -x")]


def test_log01_echo_sinks(tmp_path: Path) -> None:
    files = workflow("""\
        - env:
            TOKEN: ${{ secrets.TOKEN }}
          run: |
            echo "t=$TOKEN"
            echo "$TOKEN" | docker login --password-stdin -u u r
            echo "$TOKEN" > token.txt
            echo "$TOKEN" | tee token.txt
            X=$(echo "$TOKEN")
            echo "::add-mask::$TOKEN"
            echo "masked now: $TOKEN"
    """)
    assert lines(run(tmp_path, files, "LOG-01"), "LOG-01") == [line_in(files, 'echo "t='), line_in(files, "| tee")]


def test_log01_taint_flows_through_assignments(tmp_path: Path) -> None:
    files = workflow("""\
        - env:
            RAW: ${{ secrets.RAW }}
          run: |
            COPY="$RAW"
            echo "$COPY"
            COPY=nothing
            echo "$COPY"
    """)
    assert lines(run(tmp_path, files, "LOG-01"), "LOG-01") == [line_in(files, 'echo "$COPY"')]


def test_log01_expansions_that_do_not_print_the_value(tmp_path: Path) -> None:
    files = workflow("""\
        - env:
            TOKEN: ${{ secrets.TOKEN }}
          run: |
            echo "token set: ${TOKEN:+yes}" "length ${#TOKEN}"
            echo "fallback: ${TOKEN:-none}"
    """)
    assert lines(run(tmp_path, files, "LOG-01"), "LOG-01") == [line_in(files, "fallback")]


def test_log01_github_token_is_low(tmp_path: Path) -> None:
    files = workflow("- run: echo ${{ secrets.GITHUB_TOKEN }}\n")
    (finding,) = run(tmp_path, files, "LOG-01")
    assert finding.severity is Severity.LOW


def test_log01_no_secret_in_scope_no_finding(tmp_path: Path) -> None:
    files = workflow("""\
        - run: |
            set -x
            env
            printenv
            echo "$TOKEN_NAME_ONLY"
    """)
    assert run(tmp_path, files, "LOG-01") == []


# --------------------------------------------------------------------------------------------- LOG-02


def test_log02_transforms_and_hashes(tmp_path: Path) -> None:
    files = workflow("""\
        - env:
            K: ${{ secrets.K }}
          run: |
            echo "$K" | rev
            echo "$K" | sha256sum
            printf '%s' "${K#sk-}"
            echo "${#K}"
            H=$(echo "$K" | md5sum)
            echo "$H"
            D=$(printf %s "$K" | base64)
            echo "::add-mask::$D"
            echo "$D"
            E=$(printf %s "$K" | base64)
            echo "e=$E" >> $GITHUB_OUTPUT
    """)
    assert lines(run(tmp_path, files, "LOG-02"), "LOG-02") == [
        line_in(files, "| rev"), line_in(files, "${K#sk-}"), line_in(files, "GITHUB_OUTPUT")]


def test_log02_fromjson_anywhere(tmp_path: Path) -> None:
    files = workflow("""\
        - uses: acme/deploy@v1
          with:
            password: ${{ fromJSON(secrets.DB).password }}
    """)
    assert lines(run(tmp_path, files, "LOG-02"), "LOG-02") == [line_in(files, "fromJSON")]


# --------------------------------------------------------------------------------------------- LOG-04


@pytest.mark.parametrize(
    ("script", "fires"),
    [
        ('docker login -u u -p "$PW" r', True),
        ('docker login -u u --password="$PW" r', True),
        ('echo "$PW" | docker login -u u --password-stdin r', False),
        ('podman login --username u --password "$PW" r', True),
        ('helm registry login r -u u -p "$PW"', True),
        ('curl -u "u:$PW" https://x', True),
        ('curl -u "$USERNAME" https://x', False),
        ('curl -H "Authorization: token $PW" https://x', True),
        ('curl -H "Accept: application/json" https://x', False),
        ('wget --header="X-Api-Key: $PW" https://x', True),
        ('helm upgrade app ./c --set auth.rootPassword="$PW"', True),
        ("helm upgrade app ./c --set image.tag=1.2", False),
        ('git push https://bot:$PW@github.com/acme/x.git', True),
        ("git push https://github.com/acme/x.git", False),
        ('sshpass -p "$PW" ssh host', True),
        ('./deploy --token "$PW"', True),
        ('export OTHER="$PW"', False),
        ("docker login -u u -p changeme r", True),
    ],
)
def test_log04_argv(tmp_path: Path, script: str, fires: bool) -> None:
    files = workflow(f"- run: {json.dumps(script)}\n  env:\n    PW: ${{{{ secrets.PW }}}}\n")
    assert bool(lines(run(tmp_path, files, "LOG-04"), "LOG-04")) is fires


def test_log04_github_token_header_is_low(tmp_path: Path) -> None:
    files = workflow("- run: |\n    curl -H \"Authorization: Bearer ${{ secrets.GITHUB_TOKEN }}\" https://api.github.com\n")
    (finding,) = run(tmp_path, files, "LOG-04")
    assert finding.severity is Severity.LOW


# --------------------------------------------------------------------------------------------- BLD-06


@pytest.mark.parametrize(
    ("script", "fires"),
    [
        ("docker build --build-arg TOKEN=${{ secrets.T }} .", True),
        ("docker build --build-arg NPM_TOKEN .", True),
        ('docker buildx build --build-arg "KEY=$BOUND" .', True),
        ("docker build --build-arg VERSION=${{ github.ref_name }} .", False),
        ("docker build --build-arg API_TOKEN=changeme .", False),
        ("docker build --secret id=t,env=BOUND .", False),
        ("docker compose build --build-arg DB_PASSWORD=$DB_PASSWORD", True),
        ("docker buildx bake --set api.args.SECRET_KEY=${{ secrets.S }}", True),
        ("buildctl build --opt build-arg:TOKEN=$BOUND", True),
        ("docker run --build-arg TOKEN=${{ secrets.T }} x", False),
        ("docker build --build-arg GOOGLE_APPLICATION_CREDENTIALS_FILE=/run/secrets/g .", False),
    ],
)
def test_bld06_commands(tmp_path: Path, script: str, fires: bool) -> None:
    files = workflow(f"- run: {json.dumps(script)}\n  env:\n    BOUND: ${{{{ secrets.B }}}}\n")
    assert bool(lines(run(tmp_path, files, "BLD-06"), "BLD-06")) is fires


def test_bld06_literal_provider_key_is_critical(tmp_path: Path) -> None:
    # assembled at run time so that this file itself holds no provider-format key
    key = "".join(["sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1aC3eG5iK7mO9qS1uW3yA5cE7gI9kM1oQ3sU5T3Blbk",
                   "FJZx8Wv6Ut4Sr2Qp0On8Ml6Kj4Ih2Gf0Ed8Cb6Az4Yx2Wv0Ut8Sr6Qp4On2Ml0Kj8Ih6Gf4Ed2Cb0Az8Yx6Wv4Ut2Sr0Q"])
    files = workflow(f"- run: docker build --build-arg OPENAI_API_KEY={key} .\n")
    findings = run(tmp_path, files, "BLD-06")
    assert [f.severity for f in findings] == [Severity.CRITICAL]
    assert key not in findings[0].message


def test_bld06_build_push_action_lines(tmp_path: Path) -> None:
    files = workflow("""\
        - uses: docker/build-push-action@v6
          env:
            SIGNING: ${{ secrets.SIGNING }}
          with:
            build-args: |
              NODE_ENV=production
              NPM_TOKEN=${{ secrets.NPM_TOKEN }}
              SIGNING_KEY=${{ env.SIGNING }}
            secrets: |
              other=${{ secrets.OTHER }}
    """)
    assert lines(run(tmp_path, files, "BLD-06"), "BLD-06") == [line_in(files, "NPM_TOKEN="),
                                                                 line_in(files, "SIGNING_KEY=")]


# --------------------------------------------------------------------------------------------- HCK-11 / HCK-02


def test_hck11_placeholders_and_refs_are_quiet(tmp_path: Path) -> None:
    files = workflow("""\
        - uses: docker/login-action@v3
          with:
            password: ${{ secrets.PW }}
        - uses: docker/login-action@v3
          with:
            password: changeme
        - uses: acme/x@v1
          with:
            token: short
            api-key: ""
    """)
    assert run(tmp_path, files, "HCK-11") == []


def test_hck02_fires_on_workflow_env_literals(tmp_path: Path) -> None:
    files = workflow(
        "- run: make\n  env:\n    STEP_API_KEY: Zt7pQ2mX9vLk4Rw8Nc3Y\n",
        env="JOB_SECRET: hT6wq9Lp2vXr8zQ4mN7b\nSAFE_REF: ${{ secrets.SAFE_REF }}\n",
    )
    findings = run(tmp_path, files, "HCK-02")
    assert lines(findings, "HCK-02") == sorted([line_in(files, "JOB_SECRET"), line_in(files, "STEP_API_KEY")])
    assert all("Zt7pQ2mX9vLk4Rw8Nc3Y" not in f.message and "hT6wq9Lp2vXr8zQ4mN7b" not in f.message for f in findings)


# --------------------------------------------------------------------------------------------- LOG-05


def test_log05_upload_artifact_versions(tmp_path: Path) -> None:
    files = workflow("""\
        - uses: actions/checkout@v4
        - uses: actions/upload-artifact@v4.3.1
          with:
            path: .
        - uses: actions/upload-artifact@v4
          with:
            path: .
        - uses: actions/upload-artifact@0123456789abcdef0123456789abcdef01234567
          with:
            path: ./
    """)
    assert lines(run(tmp_path, files, "LOG-05"), "LOG-05") == [line_in(files, "path: .")]


def test_log05_explicit_persist_true_is_low(tmp_path: Path) -> None:
    files = workflow("""\
        - uses: actions/checkout@v4
          with:
            persist-credentials: true
        - uses: actions/upload-artifact@v3
          with:
            path: .
    """)
    (finding,) = run(tmp_path, files, "LOG-05")
    assert finding.severity is Severity.LOW


# --------------------------------------------------------------------------------------------- LOG-06


def test_log06_needs_all_three_parts(tmp_path: Path) -> None:
    checkout = "- uses: actions/checkout@v4\n  with:\n    ref: ${{ github.event.pull_request.head.ref }}\n"
    code = "- run: make test\n"
    secret = "  env:\n    K: ${{ secrets.K }}\n"
    restricted = "permissions:\n  contents: read\n"
    assert lines(run(tmp_path / "a", workflow(checkout + code + secret, on="pull_request_target",
                                              job_extra=restricted), "LOG-06"), "LOG-06")
    assert not run(tmp_path / "b", workflow(checkout + code + secret, on="pull_request"), "LOG-06")
    assert not run(tmp_path / "c", workflow(checkout + "- run: echo hi\n" + secret, on="pull_request_target"),
                   "LOG-06")
    assert not run(tmp_path / "d", workflow(checkout.replace("ref: ", "path: ") + code + secret,
                                            on="pull_request_target"), "LOG-06")
    # no secrets referenced, but the persisted default (write) token is in reach of the PR code
    assert lines(run(tmp_path / "e", workflow(checkout + code, on="pull_request_target"), "LOG-06"), "LOG-06")
    assert not run(tmp_path / "f", workflow(checkout + code, on="pull_request_target", job_extra=restricted),
                   "LOG-06")


# --------------------------------------------------------------------------------------------- ENV-02 / ENV-05


def test_env02_declared_environments_are_fine_and_github_token_exempt(tmp_path: Path) -> None:
    text = """\
        on: push
        jobs:
          deploy-staging:
            runs-on: x
            environment: staging
            steps:
              - run: ./d
                env:
                  K: ${{ secrets.K }}
                  T: ${{ secrets.GITHUB_TOKEN }}
          deploy-prod:
            runs-on: x
            environment: production
            steps:
              - run: ./d
                env:
                  K: ${{ secrets.K }}
                  T: ${{ github.token }}
          release-prod:
            runs-on: x
            steps:
              - run: ./r
                env:
                  T: ${{ secrets.GITHUB_TOKEN }}
    """
    assert run(tmp_path, {".github/workflows/d.yml": text}, "ENV-02") == []


def test_env05_literal_index_and_explicit_forwarding_are_fine(tmp_path: Path) -> None:
    files = workflow("""\
        - run: ./x
          env:
            A: ${{ secrets['A'] }}
            B: ${{ toJSON(secrets.B) }}
            C: ${{ toJSON(github) }}
    """)
    assert run(tmp_path, files, "ENV-05") == []


# ------------------------------------------------------------------------------- other CI systems


def _site(kind: SiteKind, name: str, value: str, line: int, role: str | None = None) -> Site:
    context = {"role": role} if role else {}
    return Site(kind, name, classify(value), Location(".gitlab-ci.yml", line), Phase.CI, None, f"x.{name}", context)


def test_rules_run_on_any_ci_model() -> None:
    """A GitLab-like pipeline built by hand (what the next parsers produce) gets the same rules."""
    path = ".gitlab-ci.yml"
    script = parse_script(
        'docker login -u ci -p "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"\n'
        'echo "$DEPLOY_TOKEN"\n'
        "docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
        line=12, expressions=None)
    debug = _site(SiteKind.ENV, "CI_DEBUG_TRACE", "1", 3)
    step = Step(0, 11, "deploy.script", script=script, shell="sh")
    job = Job("deploy", 10, "deploy", environment=JobEnvironment("production", 10, "prod"), steps=[step])
    job.artifacts.append(Artifact("artifact", (("terraform.tfstate", 20), ("dist/", 21)), 19))
    pipeline = Pipeline(CISystem.GITLAB, path, kind="pipeline", ambient_secrets=True,
                        env=[Binding("CI_DEBUG_TRACE", debug)], jobs=[job])
    doc = Document(path, DocKind.GITLAB_CI, sites=[debug], data=CIDocument(CISystem.GITLAB, [pipeline]))
    repo = Repository(root=".", documents=[doc], files=frozenset({path}))
    ctx = RuleContext()

    def hit_lines(check: object) -> list[int]:
        return sorted(h.location.line for h in check(repo, ctx))  # type: ignore[operator]

    assert hit_lines(rules.secret_on_command_line) == [12]
    assert hit_lines(rules.secret_printed_to_log) == [13]
    assert hit_lines(rules.ci_build_arg_secret) == [14]
    assert hit_lines(rules.debug_logging_enabled) == [3]
    assert hit_lines(rules.credentials_persisted_in_artifact) == [20]


def test_env02_across_ci_documents() -> None:
    """ENV-02 groups SecretUse across documents and CI systems by secret name."""
    def doc(path: str, job_id: str, env: JobEnvironment | None, line: int) -> Document:
        use = SecretUse("OPENAI_API_KEY", Location(path, line), Via.ENV)
        job = Job(job_id, 1, job_id, environment=env, secrets=[use])
        pipeline = Pipeline(CISystem.GITLAB, path, jobs=[job])
        return Document(path, DocKind.GITLAB_CI, data=CIDocument(CISystem.GITLAB, [pipeline]))

    docs = [doc("a.yml", "deploy_staging", None, 5), doc("b.yml", "deploy_prod", None, 7),
            doc("c.yml", "release", JobEnvironment("production", 1, "prod"), 9)]
    repo = Repository(root=".", documents=docs, files=frozenset(d.path for d in docs))
    hits = list(rules.secret_shared_across_environments(repo, RuleContext()))
    assert sorted((h.location.path, h.location.line) for h in hits) == [("a.yml", 5), ("b.yml", 7)]
    allowed = RuleContext(allowed_names=frozenset({"OPENAI_API_KEY"}))
    assert list(rules.secret_shared_across_environments(repo, allowed)) == []


# ------------------------------------------------------------------------------------------ corpora


LABELED = SHARED / "corpora" / "labeled"
STARTER = SHARED / "corpora" / "realworld-sample" / "actions__starter-workflows"
_ZIZMOR = {"secrets-inherit": "ENV-05", "overprovisioned-secrets": "ENV-05", "unredacted-secrets": "LOG-02"}


def _labeled_cases() -> list[dict[str, object]]:
    if not (LABELED / "MANIFEST.json").is_file():
        return []
    manifest = json.loads((LABELED / "MANIFEST.json").read_text(encoding="utf-8"))
    return [c for c in manifest["cases"] if c["kind"] == "gha" and c["rule_id"] in _ZIZMOR]


@pytest.mark.parametrize("case", _labeled_cases(), ids=lambda c: str(c["id"]))
def test_zizmor_labeled_cases(tmp_path: Path, case: dict[str, object]) -> None:
    """Every zizmor positive our rule maps to is found on an expected line; negatives stay clean."""
    src = LABELED / str(case["local_path"])
    dest = tmp_path / "repo" / ".github" / "workflows" / src.name
    dest.parent.mkdir(parents=True)
    shutil.copy(src, dest)
    rule_id = _ZIZMOR[str(case["rule_id"])]
    found = set(lines(scan(tmp_path / "repo", ScanOptions(config=Config(select=(rule_id,)), jobs=1)).findings,
                      rule_id))
    expected = set(case.get("expected_lines") or [])  # type: ignore[arg-type]
    if case["label"] == "positive":
        assert found & expected
    else:
        assert not found


# Findings judged true on actions/starter-workflows (see the closing report); anything else is a false positive.
_STARTER_TRUE = {
    ("LOG-04", "ci__dotnet-desktop.yml"), ("LOG-04", "code-scanning__veracode.yml"),
    ("LOG-04", "deployments__ibm.yml"), ("LOG-04", "deployments__tencent.yml"),
}


@pytest.mark.skipif(not STARTER.is_dir(), reason="starter-workflows corpus not available")
def test_starter_workflows_have_no_false_positives(tmp_path: Path) -> None:
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for path in STARTER.rglob("*.y*ml"):
        rel = path.relative_to(STARTER)
        name = rel.name if rel.parts[0] == ".github" else f"{rel.parts[0]}__{rel.name}"
        shutil.copy(path, workflows / name)
    result = scan(tmp_path / "repo", ScanOptions(config=Config(select=CI_RULES), jobs=1))
    got = {(f.rule_id, Path(f.location.path).name) for f in result.findings}
    assert got <= _STARTER_TRUE
    assert ("LOG-04", "deployments__tencent.yml") in got


def test_messages_never_carry_values(tmp_path: Path) -> None:
    planted = ["Zq8x7LpT2mVn4Rw9cK3d", "hT6wq9Lp2vXr8zQ4mN7b", "Wv6Ut4Sr2Qp0On8Ml6Kj", "Yx2Wv0Ut8Sr6Qp4On2Ml"]
    files = workflow(f"""\
        - uses: docker/login-action@v3
          with:
            password: {planted[0]}
        - run: |
            docker build --build-arg API_TOKEN={planted[1]} .
            helm upgrade a ./c --set db.password={planted[2]}
            curl -u "ci:{planted[3]}" https://x
            echo "{planted[3]}"
          env:
            DB_PASSWORD: {planted[2]}
    """, job_extra=f"container:\n  image: x\n  credentials:\n    username: u\n    password: {planted[0]}\n")
    findings = run(tmp_path, files)
    assert {f.rule_id for f in findings} >= {"HCK-11", "BLD-06", "LOG-04"}
    for finding in findings:
        assert not any(secret in finding.message for secret in planted), finding.rule_id


def test_log04_process_substitution_keeps_the_secret_off_argv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "t.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: gcloud auth activate-service-account --key-file <(printf %s \"$GCP_KEY\")\n"
        "        env:\n          GCP_KEY: ${{ secrets.GCP_SA_KEY }}\n"
        "      - run: deploy --api-key \"$API_KEY\"\n        env:\n          API_KEY: ${{ secrets.API_KEY }}\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("LOG-04",)), jobs=1))
    assert [f.location.line for f in result.findings] == [9]


@pytest.mark.parametrize(("pre_commit", "fires"), [
    ("repos:\n  - repo: https://github.com/gitleaks/gitleaks\n    rev: v8.21.2\n    hooks: [{id: gitleaks}]\n", False),
    ("repos:\n  - repo: https://github.com/psf/black\n    rev: 24.8.0\n    hooks: [{id: black}]\n", True),
])
def test_log07_pre_commit_secret_scanner_counts(tmp_path, pre_commit: str, fires: bool) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, scan

    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n")
    (tmp_path / ".pre-commit-config.yaml").write_text(pre_commit)
    result = scan(tmp_path, ScanOptions(config=Config(select=("LOG-07",)), jobs=1))
    assert bool(result.findings) is fires
