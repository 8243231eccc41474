"""CI rules over the shared CI model (:mod:`auditor.parsers.ci_model`): any document whose ``data`` is a
:class:`~auditor.parsers.ci_model.CIDocument` is checked, whatever CI system produced it.

- BLD-06 secrets passed as image build arguments (``--build-arg``, build-push/bake action inputs)
- HCK-11 hardcoded credentials: container/service credentials, registry logins, secret-named inputs
- LOG-01 secrets printed to the log; LOG-02 masking defeated; LOG-03 debug logging switched on
- LOG-04 secrets on a command line; LOG-05 credentials persisted into artifacts or caches
- LOG-06 untrusted PR code checked out and run with secrets in scope (GitHub Actions triggers)
- ENV-02 one repository-level secret serving jobs of different environments; ENV-05 over-provisioned secrets

Script rules share one pass per step over its commands: :mod:`auditor.rules.ci_scripts`.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.detect.values import classify, looks_secret
from auditor.environment import canonical, infer_environment
from auditor.model import Confidence, Document, Repository, Severity, SiteKind, Value, ValueKind
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ROLE_INPUT,
    ROLE_INPUT_DEFAULT,
    ROLE_SECRET_FORWARD,
    Artifact,
    Binding,
    CIDocument,
    CISystem,
    Job,
    Pipeline,
    SecretUse,
    Step,
    Via,
    parse_expression,
    secret_env,
)
from auditor.rules import Hit, RuleContext
from auditor.rules.ci_scripts import (
    ARG_NAME,
    BUILD_ACTIONS,
    BUILD_TOOLS,
    DANGEROUS_TRIGGERS,
    DEBUG_FLAGS,
    LOGIN_ACTIONS,
    SHELLS,
    STORE_HINTS,
    UNTRUSTED_REFS,
    WORKSPACE_PATHS,
    StepScan,
    bld06_message,
    carries_credentials,
    ci_location,
    ci_pipelines,
    is_job_token,
    program_of,
    script_hits,
    secret_label,
)
from auditor.rules.envfiles import holds_secret, provider_match

# --------------------------------------------------------------------------------------------- BLD-06


def ci_build_arg_secret(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-06: a secret passed to an image build as a build argument, in a CI script or build action."""
    yield from script_hits(repo, ctx, "BLD-06")
    for doc, pipeline in ci_pipelines(repo):
        for job in pipeline.jobs:
            scope_job = secret_env(pipeline, job)
            for step in job.steps:
                if step.uses is None or not step.uses.is_(*BUILD_ACTIONS):
                    continue
                scope = {**scope_job, **secret_env(pipeline, job, step)}
                for input_name in ("build-args", "set"):
                    binding = step.inputs.get(input_name)
                    if binding is not None:
                        yield from _action_build_args(doc, step, binding, input_name, scope=scope, ctx=ctx)


def _action_build_args(doc: Document, step: Step, binding: Binding, input_name: str, *,
                       scope: dict[str, Binding], ctx: RuleContext) -> Iterator[Hit]:
    text = binding.text or ""
    action = step.uses.name if step.uses is not None else "the build action"
    for index, raw in enumerate(text.split("\n")):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        if input_name == "set":
            m = re.match(r"^[^=]*\.args\.([^=]+)=(.*)$", entry, re.S)
            if m is None:
                continue
            key, value = m.group(1).strip(), m.group(2)
            if not ARG_NAME.match(key):
                continue
        else:
            key, sep, value = entry.partition("=")
            key = key.strip()
            if not sep or not ARG_NAME.match(key):
                continue
        line = binding.line_of(index) if binding.lines else binding.location.line
        reason: str | None = None
        severity: Severity | None = None
        literal: Value | None = None
        for span_text in re.findall(r"\$\{\{(.*?)\}\}", value, re.S):
            expression = parse_expression(span_text.strip())
            uses = list(expression.secret_uses(binding.location, Via.INPUT))
            if uses:
                reason = f"carries {secret_label(uses[0].name)}"
                break
            env_refs = [r.path[0] for r in expression.of("env") if r.path and r.path[0] in scope]
            if env_refs:
                reason = f"carries {secret_label(scope[env_refs[0]].secrets[0].name)} (via env.{env_refs[0]})"
                break
        if reason is None:
            classified = classify(value)
            named = holds_secret(key, ctx)
            if classified.kind is ValueKind.LITERAL:
                detector = provider_match(value)
                if detector is not None or (named and looks_secret(value, name_is_secret=True)):
                    reason = f"holds a literal {detector.label if detector else 'secret'}"
                    severity = Severity.CRITICAL if detector is not None else None
                    literal = classified
            elif named and classified.kind not in (ValueKind.EMPTY, ValueKind.PLACEHOLDER):
                reason = "passes a secret-named value"
        if reason is not None:
            yield Hit(ci_location(doc, line), bld06_message(key, reason, f"`{action}` `{input_name}:`"), value=literal,
                      severity=severity, name=key, route=f"{binding.site.route}")


# --------------------------------------------------------------------------------------------- LOG-01/02/04


def secret_printed_to_log(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-01: with a secret in scope, a script prints it (echo, env dumps, set -x, cat .env, curl -v)."""
    yield from script_hits(repo, ctx, "LOG-01")


def secret_masking_defeated(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-02: fromJSON(secrets.X), or a secret transformed (base64, substring, jq...) then printed or exported."""
    yield from script_hits(repo, ctx, "LOG-02")
    seen: set[tuple[str, int, str]] = set()
    for doc, pipeline in ci_pipelines(repo):
        for use in pipeline.all_secrets():
            if not use.unredacted:
                continue
            key = (doc.path, use.location.line, use.name)
            if key in seen:
                continue
            seen.add(key)
            yield Hit(use.location, f"`fromJSON(secrets.{use.name})` decodes a structured secret: the runner masks "
                      "only the whole secret string, so the fields it yields are shown in clear wherever they are "
                      f"printed; store each field as its own secret ({use.name}_USER, {use.name}_PASSWORD...)",
                      name=use.name, route=use.route or None)


def secret_on_command_line(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-04: a secret passed as a command-line argument (docker login -p, curl -u/-H, helm --set)."""
    yield from script_hits(repo, ctx, "LOG-04")


# --------------------------------------------------------------------------------------------- LOG-03


def debug_logging_enabled(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-03: CI debug logging switched on in configuration (and OPENAI_LOG/TF_LOG debug levels)."""
    for doc in repo.documents:
        is_ci = isinstance(doc.data, CIDocument)
        for site in doc.sites_of(SiteKind.ENV, SiteKind.VARIABLE):
            if site.value is None:
                continue
            name = site.name.upper()
            value = site.value.text.strip().strip("\"'").lower()
            if is_ci and name in DEBUG_FLAGS and value in DEBUG_FLAGS[name]:
                yield Hit(site.location, f"{site.name} is set to {value} in {doc.path}: debug logging prints "
                          "expanded commands, environment and service output, and some runners unmask variables in "
                          "debug mode (GitLab `CI_DEBUG_TRACE`); remove it and enable debug logging only for a "
                          "single re-run when needed", name=site.name, route=site.route or None)
            elif is_ci and name == "TF_LOG" and value in {"trace", "debug"}:
                yield Hit(site.location, f"TF_LOG={value.upper()} in CI prints provider requests and responses, "
                          "which can include credentials and secret attributes; remove it",
                          severity=Severity.LOW, name=site.name, route=site.route or None)
            elif name == "OPENAI_LOG" and value == "debug":
                prod = (site.environment or doc.environment) == "prod"
                yield Hit(site.location, "OPENAI_LOG=debug makes the OpenAI SDK log full requests and responses "
                          "(prompts, completions and request headers) to stderr; remove it"
                          + ("" if prod else " (not a production file: low)"),
                          severity=None if prod else Severity.LOW, name=site.name, route=site.route or None)


# --------------------------------------------------------------------------------------------- HCK-11


def hardcoded_ci_credentials(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """HCK-11: literal container/service/registry passwords, secret-named inputs and forwarded secrets."""
    for doc, pipeline in ci_pipelines(repo):
        for binding in pipeline.inputs:
            hit = _literal_credential(doc, binding, ctx, strict=False)
            if hit is not None:
                yield hit
        for job in pipeline.jobs:
            for container in job.containers:
                for binding in container.credentials:
                    if binding.name.lower() == "password":
                        hit = _literal_credential(doc, binding, ctx, strict=True,
                                                  what=f"{container.role} `{container.name}` registry password")
                        if hit is not None:
                            yield hit
            for binding in job.forwarded:
                hit = _literal_credential(doc, binding, ctx, strict=True, what="secret forwarded to "
                                          f"`{job.uses.name if job.uses else 'a reusable workflow'}`")
                if hit is not None:
                    yield hit
            for binding in job.inputs.values():
                hit = _literal_credential(doc, binding, ctx, strict=False)
                if hit is not None:
                    yield hit
            for step in job.steps:
                login = step.uses is not None and step.uses.is_(*LOGIN_ACTIONS)
                for name, binding in step.inputs.items():
                    if login and name.lower() == "password":
                        hit = _literal_credential(doc, binding, ctx, strict=True,
                                                  what=f"`{step.uses.name if step.uses else ''}` password")
                    else:
                        hit = _literal_credential(doc, binding, ctx, strict=False)
                    if hit is not None:
                        yield hit


def _literal_credential(doc: Document, binding: Binding, ctx: RuleContext, *, strict: bool,
                        what: str | None = None) -> Hit | None:
    """A literal credential: any non-placeholder literal when ``strict`` (a password field), else SECRET_VALUE."""
    value = binding.site.value
    if value is None or value.kind is not ValueKind.LITERAL:
        return None
    detector = provider_match(value.text)
    if not strict and detector is None:
        if not holds_secret(binding.name, ctx):
            return None
        if not looks_secret(value.text, name_is_secret=True):
            return None
    role = binding.site.context.get("role", "")
    if what is None:
        what = {ROLE_INPUT: f"input `{binding.name}`", ROLE_INPUT_DEFAULT: f"default of input `{binding.name}`",
                ROLE_CREDENTIAL: f"credential `{binding.name}`",
                ROLE_SECRET_FORWARD: f"forwarded secret `{binding.name}`"}.get(role, binding.name)
    label = detector.label if detector is not None else "secret"
    system = doc.data.system if isinstance(doc.data, CIDocument) else CISystem.GITHUB_ACTIONS
    hint = STORE_HINTS.get(system, STORE_HINTS[CISystem.GITHUB_ACTIONS])
    return Hit(binding.location, f"the {what} is a literal {label} in {doc.path}: everyone who can read the "
               f"repository (and its forks) can use it; {hint}, then rotate it", value=value,
               severity=Severity.CRITICAL if detector is not None else None,
               confidence=Confidence.HIGH if detector is not None or strict else Confidence.MEDIUM,
               name=binding.name, route=binding.site.route or None)


# --------------------------------------------------------------------------------------------- LOG-05


def credentials_persisted_in_artifact(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-05: the workspace (with checkout's persisted token) or credential files uploaded as artifacts/caches."""
    for doc, pipeline in ci_pipelines(repo):
        for job in pipeline.jobs:
            for artifact in job.artifacts:
                yield from _artifact_hits(doc, job, artifact, None)
            for step in job.steps:
                for artifact in step.artifacts:
                    yield from _artifact_hits(doc, job, artifact, step)


def _artifact_hits(doc: Document, job: Job, artifact: Artifact, step: Step | None) -> Iterator[Hit]:
    earlier = [s.checkout for s in job.steps if s.checkout is not None and (step is None or s.index < step.index)]
    persisted = [c for c in earlier if c.persist_credentials is not False
                 and (c.action is None or c.action.major is None or c.action.major < 6)]
    for pattern, line in artifact.paths:
        cleaned = pattern.strip().strip("\"'")
        if cleaned.startswith("!"):
            continue
        if carries_credentials(cleaned):
            where = {"artifact": "uploaded as a build artifact (downloadable by anyone with read access to the "
                                 "repository's CI runs; for a public repository, everyone)",
                     "cache": "saved to the CI cache (restored by other workflows and branches of the repository)",
                     "workspace": "persisted to the pipeline workspace"}.get(artifact.kind, "stored")
            name = posixpath.basename(cleaned.rstrip("/"))
            yield Hit(ci_location(doc, line), f"`{name}` is a credential file and is "
                      f"{where}; leave it out of the paths (or exclude it with `!{cleaned}`)",
                      severity=Severity.HIGH if artifact.kind == "artifact" else Severity.MEDIUM, name=cleaned)
        elif cleaned in WORKSPACE_PATHS and artifact.kind == "artifact" and persisted \
                and _uploads_hidden_files(artifact):
            explicit = all(c.persist_credentials is True for c in persisted)
            github = persisted[0].action is None or persisted[0].action.is_("actions/checkout")
            checkout, token, setting = (
                ("`actions/checkout`", "GITHUB_TOKEN", "`persist-credentials: false`") if github
                else ("`checkout`", "System.AccessToken", "no `persistCredentials: true`"))
            yield Hit(ci_location(doc, line), "this step uploads the whole workspace, including `.git/config`, where "
                      f"{checkout} (line {persisted[0].line}) persisted the job's {token}: anyone who "
                      f"can download the artifact gets the token; set {setting} on the checkout "
                      "and upload only the build output", severity=Severity.LOW if explicit else None,
                      name="workspace")


def _uploads_hidden_files(artifact: Artifact) -> bool:
    """upload-artifact >= v4.4 leaves out hidden files (``.git``) unless ``include-hidden-files: true``."""
    if artifact.include_hidden is not None:
        return artifact.include_hidden
    action = artifact.action
    if action is None or action.ref is None:
        return True
    m = re.match(r"^v?(\d+)(?:\.(\d+))?", action.ref)
    if m is None:
        return False  # a SHA or branch: cannot tell
    major, minor = int(m.group(1)), int(m.group(2)) if m.group(2) else None
    if major < 4:
        return True
    return major == 4 and minor is not None and minor < 4


# --------------------------------------------------------------------------------------------- LOG-06


def untrusted_checkout_with_secrets(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """LOG-06: a privileged trigger checks out PR code and runs it while secrets are in scope."""
    for doc, pipeline in ci_pipelines(repo):
        triggers = [t for t in DANGEROUS_TRIGGERS if t in pipeline.triggers]
        if not triggers:
            continue
        for job in pipeline.jobs:
            if _same_repo_guard(job.condition):
                continue
            untrusted = _untrusted_checkout(job)
            if untrusted is None:
                continue
            step, line = untrusted
            runner = _runs_code_after(job, step)
            if runner is None:
                continue
            secrets = _privileged(pipeline, job)
            if secrets is None:
                continue
            yield Hit(ci_location(doc, line),
                      f"`{triggers[0]}` workflow: job {job.id} checks out the pull request's code "
                      f"(step {step.index + 1}) and runs it (step {runner.index + 1}) while {secrets} in scope: a "
                      "pull request from a fork can read and exfiltrate them; run untrusted code in a `pull_request` "
                      "workflow without secrets and hand its results to a privileged `workflow_run` job as artifacts",
                      name=job.id, route=step.route)


def _same_repo_guard(condition: str | None) -> bool:
    if not condition:
        return False
    text = condition.replace(" ", "")
    guards = ("head.repo.full_name==github.repository",
              "github.repository==github.event.pull_request.head.repo.full_name",
              "head.repo.fork==false", "!github.event.pull_request.head.repo.fork")
    return any(guard in text for guard in guards)


def _mentions_untrusted(text: str | None) -> bool:
    if not text:
        return False
    if "refs/pull/" in text:
        return True
    for span in re.findall(r"\$\{\{(.*?)\}\}", text, re.S):
        for ref in parse_expression(span.strip()).refs:
            if any(ref.dotted.startswith(prefix) or ref.dotted == prefix.rstrip(".") for prefix in UNTRUSTED_REFS):
                return True
    return False


def _untrusted_checkout(job: Job) -> tuple[Step, int] | None:
    for step in job.steps:
        checkout = step.checkout
        if checkout is not None and (_mentions_untrusted(checkout.ref) or _mentions_untrusted(checkout.repository)):
            return step, checkout.ref_line or step.line
        if step.script is not None:
            for command in step.script.walk():
                program = program_of(command)
                words = [w.text for w in command.argv()[1:]]
                if program == "gh" and words[:2] == ["pr", "checkout"]:
                    return step, command.line
                if program == "git" and words[:1] and words[0] in {"fetch", "checkout", "switch", "pull"} and any(
                        re.search(r"(?:^|[/:])pull/[^/\s]+/(?:head|merge)", w) or _mentions_untrusted(w)
                        for w in words[1:]):
                    return step, command.line
    return None


def _runs_code_after(job: Job, checkout_step: Step) -> Step | None:
    for step in job.steps:
        if step.index <= checkout_step.index:
            continue
        if step.uses is not None and step.uses.kind == "local":
            return step
        if step.script is None:
            continue
        for command in step.script.walk():
            name = command.argv()[0].text if command.argv() else ""
            if program_of(command) in BUILD_TOOLS or name.startswith("./") or (
                    "/" in name and not name.startswith("/usr/") and not name.startswith("/bin/")):
                return step
            if program_of(command) in SHELLS and any(not w.text.startswith("-") for w in command.argv()[1:]):
                return step
    return None


def _privileged(pipeline: Pipeline, job: Job) -> str | None:
    names = sorted({u.name for u in (*pipeline.secrets, *job.all_secrets())})
    if names:
        return StepScan._names(names) + (" is" if len(names) == 1 else " are")
    permissions = job.permissions or pipeline.permissions
    persisted = any(s.checkout is not None and s.checkout.persist_credentials is not False for s in job.steps)
    if persisted and (permissions is None or permissions.writes):
        return "the repository's GITHUB_TOKEN (persisted by the checkout, with write permissions) is"
    return None


# --------------------------------------------------------------------------------------------- ENV-05


def overprovisioned_secrets(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ENV-05: every secret handed over at once: `secrets: inherit`, toJSON(secrets), secrets[<dynamic>]."""
    seen: set[tuple[str, int, int | None]] = set()
    for doc, pipeline in ci_pipelines(repo):
        for use in pipeline.all_secrets():
            if not (use.whole or use.dynamic):
                continue
            key = (doc.path, use.location.line, use.location.column)
            if key in seen:
                continue
            seen.add(key)
            if use.via is Via.FORWARD:
                message = ("`secrets: inherit` passes every repository, organization and environment secret to the "
                           "called workflow, which needs only some of them; forward the ones it declares, by name "
                           "(`secrets: {NPM_TOKEN: ${{ secrets.NPM_TOKEN }}}`)")
            elif use.dynamic:
                message = ("`secrets[...]` with a computed index lets the expression reach any secret of the "
                           "repository (and a compromised input choose which); reference the few secrets needed "
                           "explicitly, e.g. one `if:`-guarded step per environment")
            else:
                message = ("the whole `secrets` context is serialized into the job (`toJSON(secrets)`): every secret "
                           "becomes readable by this step and the value is a single JSON blob the runner cannot mask "
                           "field by field; pass only the secrets the step needs, one by one")
            yield Hit(use.location, message, name="inherit" if use.via is Via.FORWARD else "secrets",
                      route=use.route or None)


# --------------------------------------------------------------------------------------------- ENV-02


@dataclass(frozen=True, slots=True)
class _EnvUse:
    doc: Document
    job: Job
    use: SecretUse
    environment: str | None
    declared: bool


def secret_shared_across_environments(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """ENV-02: one repository-level secret used by jobs of different environments without `environment:`."""
    by_secret: dict[str, list[_EnvUse]] = defaultdict(list)
    for doc, pipeline in ci_pipelines(repo):
        if pipeline.kind == "action" or "workflow_call" in pipeline.triggers:
            continue  # secrets of reusable workflows and actions come from their caller
        for job in pipeline.jobs:
            environment, declared = _job_environment(doc, job)
            if declared and environment is None:
                continue  # computed environment name: cannot tell
            first: dict[str, SecretUse] = {}
            for use in (*pipeline.secrets, *job.all_secrets()):
                if use.whole or use.dynamic or use.name == "*" or is_job_token(use.name):
                    continue
                if any(use.key == allowed.upper() for allowed in ctx.allowed_names):
                    continue
                first.setdefault(use.key, use)
            for key, use in first.items():
                by_secret[key].append(_EnvUse(doc, job, use, environment, declared))
    for uses in by_secret.values():
        environments = sorted({u.environment for u in uses if u.environment})
        if len(environments) < 2:
            continue
        for entry in uses:
            if entry.declared or entry.environment is None:
                continue
            others = sorted({f"{u.environment} ({u.job.id})" for u in uses
                             if u.environment and u.environment != entry.environment})
            yield Hit(entry.use.location, f"secret {entry.use.name} is used by job {entry.job.id} "
                      f"({entry.environment}) without `environment:`, and by jobs for {', '.join(others[:3])}: one "
                      "repository-level value serves several environments, so a leak in one exposes all and "
                      "rotation cannot be staged; add `environment:` to each deploying job and store "
                      f"{entry.use.name} as an environment secret in each (with protection rules for production)",
                      name=entry.use.name, route=entry.use.route or None)


_ENV_TOKEN_SPLIT = re.compile(r"[-_.\s/:()]+")


def _job_environment(doc: Document, job: Job) -> tuple[str | None, bool]:
    """(environment, declared): the job's `environment:` (canonical or as written), else one inferred."""
    if job.environment is not None:
        if job.environment.dynamic:
            return None, True
        return job.environment.canonical or job.environment.name.strip().lower(), True
    for text in (job.id, job.name or ""):
        for token in _ENV_TOKEN_SPLIT.split(text.lower()):
            found = canonical(token) if token else None
            if found is not None and found != "local":
                return found, False
    return infer_environment(doc.path), False
