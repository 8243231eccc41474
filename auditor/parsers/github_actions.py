"""GitHub Actions workflows (``.github/workflows/*.yml``) and actions (``action.yml`` / ``action.yaml``).

Produces the shared CI model (:mod:`auditor.parsers.ci_model`) in ``doc.data`` and these sites:

- ``env`` at workflow, job, step, job-container and service level: :attr:`SiteKind.ENV`, :attr:`Phase.CI`,
  route ``env.X`` / ``jobs.<id>.env.X`` / ``jobs.<id>.steps[<i>].env.X`` /
  ``jobs.<id>.services.<svc>.env.X``; context ``{"level": "workflow|job|step|container|service", "job": id}``.
- ``with:`` inputs of steps and of reusable-workflow calls: :attr:`SiteKind.CONFIG_KEY`, context role
  ``input`` and ``action`` (``docker/login-action``); container/service ``credentials``: role
  ``credential``; ``secrets:`` forwarded to a reusable workflow: role ``secret-forward``; defaults of
  ``workflow_call``/``workflow_dispatch``/action inputs: role ``input-default``.

Every site's value is classified once by :func:`auditor.detect.values.classify` (``${{ secrets.X }}`` is a
CI_SECRET reference). Sites carry the job's environment (``environment:`` canonicalised with
:func:`auditor.environment.canonical`, else the one inferred from the path). ``run:`` scripts are parsed by
:mod:`auditor.parsers.shell` with the positions of the YAML scalar, so every command keeps its source line,
including in ``|`` and ``>`` block scalars.
"""

from __future__ import annotations

import re

from auditor.detect.values import classify
from auditor.environment import canonical
from auditor.model import Diagnostic, DocKind, Document, Location, Phase, Site, SiteKind
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ROLE_INPUT,
    ROLE_INPUT_DEFAULT,
    ROLE_SECRET_FORWARD,
    ActionRef,
    Artifact,
    Binding,
    Checkout,
    CIDocument,
    CISystem,
    Container,
    Job,
    JobEnvironment,
    Permissions,
    Pipeline,
    SecretUse,
    Step,
    Via,
    parse_expression,
)
from auditor.parsers.shell import GHA_EXPRESSIONS, SourceText, Span, find_expressions, parse_script, yaml_scalar_origin
from auditor.parsers.yamlnodes import View, mapping_roots

_USES = re.compile(r"^(?P<name>[^@\s]+)@(?P<ref>[^\s@]+)$")
_BASH_SHELLS = ("bash", "sh")
_POWERSHELL = ("pwsh", "powershell")
_ARTIFACT_ACTIONS = {
    "actions/upload-artifact": "artifact",
    "actions/cache": "cache",
    "actions/cache/save": "cache",
}


def parse(doc: Document, text: str) -> None:
    ci = CIDocument(CISystem.GITHUB_ACTIONS)
    doc.data = ci
    source = SourceText(text)
    for root in mapping_roots(doc, text, f"a {doc.kind.value} file"):
        reader = _Reader(doc, source)
        if doc.kind is DocKind.GITHUB_ACTION:
            ci.pipelines.append(reader.action(root))
        else:
            ci.pipelines.append(reader.workflow(root))


def parse_uses(raw: str, line: int, column: int = 1, *, job_level: bool = False) -> ActionRef:
    """``actions/checkout@v4`` -> ActionRef(kind="action", name="actions/checkout", ref="v4")."""
    text = raw.strip()
    if text.startswith("docker://"):
        return ActionRef(text, line, column, "docker", text[len("docker://"):].lower())
    if text.startswith("./") or text.startswith("../"):
        kind = "workflow" if job_level else "local"
        return ActionRef(text, line, column, kind, text)
    m = _USES.match(text)
    if m is None:
        return ActionRef(text, line, column, "workflow" if job_level else "action", text.lower())
    name = m.group("name").lower()
    kind = "workflow" if job_level or "/.github/workflows/" in name else "action"
    return ActionRef(text, line, column, kind, name, m.group("ref"))


def _truthy(text: str | None) -> bool | None:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "on", "1"}:
        return True
    if lowered in {"false", "no", "off", "0"}:
        return False
    return None


class _Reader:
    def __init__(self, doc: Document, source: SourceText) -> None:
        self.doc = doc
        self.source = source

    def warn(self, line: int, message: str) -> None:
        self.doc.diagnostics.append(Diagnostic(self.doc.path, line, message, "warning"))

    def loc(self, view: View) -> Location:
        return Location(self.doc.path, view.line, view.column)

    # -- scalars and expressions
    def scalar(self, view: View | None) -> str | None:
        """A scalar's text (null -> None); None for collections."""
        if view is None or not view.is_scalar or view.is_null:
            return None
        return view.text

    def spans(self, view: View) -> list[Span]:
        """The ``${{ }}`` expressions of a scalar, each at its own line and column."""
        text = view.raw_text or ""
        if "${{" not in text:
            return []
        return find_expressions(text, origin=yaml_scalar_origin(view, self.source))

    def uses_in(self, view: View, via: Via, route: str, binding: str | None = None) -> list[SecretUse]:
        """Secret references in a scalar value."""
        out: list[SecretUse] = []
        for span in self.spans(view):
            location = Location(self.doc.path, span.line, span.column)
            out.extend(parse_expression(span.text).secret_uses(location, via, route, binding))
        return out

    def condition_uses(self, view: View | None, route: str) -> list[SecretUse]:
        text = self.scalar(view)
        if view is None or text is None:
            return []
        if "${{" in text:
            return self.uses_in(view, Via.CONDITION, route)
        return list(parse_expression(text).secret_uses(self.loc(view), Via.CONDITION, route))

    def binding(self, key: View, value: View, kind: SiteKind, route: str, *, environment: str | None,
                context: dict[str, str], via: Via) -> Binding | None:
        name = key.text
        if name is None:
            return None
        if value.is_mapping or value.is_sequence:
            return None  # not a value GitHub accepts here; nothing to classify
        text = "" if value.is_null else (value.raw_text or "")
        site = Site(kind, name, classify(text), Location(self.doc.path, key.line, key.column), Phase.CI,
                    environment, route, context)
        self.doc.sites.append(site)
        return Binding(name, site, tuple(self.uses_in(value, via, route, name)), self.value_lines(value, text))

    def value_lines(self, value: View, text: str) -> tuple[int, ...]:
        """Source line of each text line of a multi-line scalar (``build-args: |`` entries)."""
        if "\n" not in text.rstrip("\n"):
            return ()
        origin = yaml_scalar_origin(value, self.source)
        out: list[int] = []
        offset = 0
        for part in text.split("\n"):
            stripped = len(part) - len(part.lstrip())
            out.append(origin[min(offset + stripped, len(origin) - 1)][0])
            offset += len(part) + 1
        return tuple(out)

    def env_block(self, view: View | None, route: str, environment: str | None, context: dict[str, str],
                  sink: list[SecretUse]) -> list[Binding]:
        """``env:`` as a mapping; an expression (``env: ${{ fromJSON(...) }}``) only contributes its secrets."""
        if view is None:
            return []
        if view.is_scalar:
            sink.extend(self.uses_in(view, Via.ENV, route))
            return []
        out: list[Binding] = []
        for key, value in view.items():
            name = key.text or ""
            binding = self.binding(key, value, SiteKind.ENV, f"{route}.{name}", environment=environment,
                                   context=context, via=Via.ENV)
            if binding is not None:
                out.append(binding)
        return out

    def inputs_block(self, view: View | None, route: str, environment: str | None, context: dict[str, str]
                     ) -> dict[str, Binding]:
        out: dict[str, Binding] = {}
        if view is None:
            return out
        for key, value in view.items():
            name = key.text or ""
            binding = self.binding(key, value, SiteKind.CONFIG_KEY, f"{route}.{name}", environment=environment,
                                   context={**context, "role": ROLE_INPUT}, via=Via.INPUT)
            if binding is not None:
                out[name] = binding
        return out

    def input_defaults(self, view: View | None, route: str, pipeline: Pipeline) -> None:
        """``inputs: {name: {default: ...}}`` of workflow_call / workflow_dispatch / actions."""
        if view is None:
            return
        for key, spec in view.items():
            entry = spec.entry("default")
            if entry is None or key.text is None:
                continue
            _, default = entry
            if not default.is_scalar:
                continue
            text = "" if default.is_null else (default.raw_text or "")
            site = Site(SiteKind.CONFIG_KEY, key.text, classify(text), Location(self.doc.path, default.line,
                        default.column), Phase.CI, self.doc.environment, f"{route}.{key.text}.default",
                        {"role": ROLE_INPUT_DEFAULT})
            self.doc.sites.append(site)
            uses = tuple(self.uses_in(default, Via.OTHER, site.route, key.text))
            pipeline.inputs.append(Binding(key.text, site, uses))
            pipeline.secrets.extend(uses)

    def permissions(self, view: View | None) -> Permissions | None:
        if view is None:
            return None
        if view.is_scalar:
            return Permissions(view.line, (), self.scalar(view) or None)
        if view.is_mapping:
            scopes = tuple((k.text or "", (self.scalar(v) or "").lower()) for k, v in view.items())
            return Permissions(view.line, scopes, "{}" if not scopes else None)
        return None

    def shell_of(self, view: View | None) -> str | None:
        if view is None:
            return None
        run = view.get("run")
        return self.scalar(run.get("shell")) if run is not None else None

    # -- workflows
    def workflow(self, root: View) -> Pipeline:
        pipeline = Pipeline(CISystem.GITHUB_ACTIONS, self.doc.path, root.line, "workflow",
                            self.scalar(root.get("name")))
        self.triggers(root.get("on"), pipeline)
        pipeline.permissions = self.permissions(root.get("permissions"))
        pipeline.default_shell = self.shell_of(root.get("defaults"))
        pipeline.env = self.env_block(root.get("env"), "env", self.doc.environment, {"level": "workflow"},
                                      pipeline.secrets)
        for binding in pipeline.env:
            pipeline.secrets.extend(binding.secrets)
        jobs = root.get("jobs")
        if jobs is not None and not jobs.is_mapping:
            self.warn(jobs.line, "`jobs` is not a mapping; jobs not read")
        elif jobs is not None:
            for key, value in jobs.items():
                if key.text is not None and value.is_mapping:
                    pipeline.jobs.append(self.job(key.text, key, value, pipeline))
        return pipeline

    def triggers(self, view: View | None, pipeline: Pipeline) -> None:
        if view is None:
            return
        if view.is_scalar and view.text:
            pipeline.triggers[view.text] = view.line
        elif view.is_sequence:
            for item in view:
                if item.text:
                    pipeline.triggers[item.text] = item.line
        elif view.is_mapping:
            for key, value in view.items():
                if key.text is None:
                    continue
                pipeline.triggers[key.text] = key.line
                if key.text in {"workflow_call", "workflow_dispatch"} and value.is_mapping:
                    self.input_defaults(value.get("inputs"), f"on.{key.text}.inputs", pipeline)

    def job(self, job_id: str, key: View, view: View, pipeline: Pipeline) -> Job:
        route = f"jobs.{job_id}"
        job = Job(job_id, key.line, route, self.scalar(view.get("name")))
        job.environment = self.environment(view.get("environment"))
        environment = (job.environment.canonical if job.environment and job.environment.canonical
                       else self.doc.environment)
        job.permissions = self.permissions(view.get("permissions"))
        job.default_shell = self.shell_of(view.get("defaults"))
        job.runs_on = self.runs_on(view.get("runs-on"))
        job.condition = self.scalar(view.get("if"))
        job.secrets.extend(self.condition_uses(view.get("if"), f"{route}.if"))
        needs = view.get("needs")
        if needs is not None:
            job.needs = tuple(x for x in ([needs.text] if needs.is_scalar else [i.text for i in needs]) if x)
        context = {"level": "job", "job": job_id}
        job.env = self.env_block(view.get("env"), f"{route}.env", environment, context, job.secrets)
        for binding in job.env:
            job.secrets.extend(binding.secrets)
        self.containers(view, job, route, environment)
        outputs = view.get("outputs")
        if outputs is not None:
            for out_key, out_value in outputs.items():
                if out_value.is_scalar:
                    job.secrets.extend(self.uses_in(out_value, Via.OTHER, f"{route}.outputs.{out_key.text}"))
        uses = view.get("uses")
        if uses is not None and uses.text:
            self.workflow_call(job, view, uses, route, environment)
        steps = view.get("steps")
        if steps is not None:
            if not steps.is_sequence:
                self.warn(steps.line, f"`steps` of job {job_id} is not a list; steps not read")
            else:
                shell = job.default_shell or pipeline.default_shell or self.platform_shell(job.runs_on)
                for index, step_view in enumerate(steps):
                    if step_view.is_mapping:
                        job.steps.append(self.step(
                            step_view, index, f"{route}.steps[{index}]", environment=environment,
                            context={"level": "step", "job": job_id, "step": str(index)}, default_shell=shell))
        return job

    def environment(self, view: View | None) -> JobEnvironment | None:
        if view is None:
            return None
        name_view = view.get("name") if view.is_mapping else view
        name = self.scalar(name_view)
        if name is None or name_view is None:
            return None
        dynamic = "${{" in name
        return JobEnvironment(name, name_view.line, None if dynamic else canonical(name.strip()), dynamic)

    def runs_on(self, view: View | None) -> str | None:
        if view is None:
            return None
        if view.is_scalar:
            return self.scalar(view)
        if view.is_sequence:
            return " ".join(i.text for i in view if i.text)
        labels = view.get("labels")
        if labels is not None:
            return self.runs_on(labels)
        return self.scalar(view.get("group"))

    @staticmethod
    def platform_shell(runs_on: str | None) -> str:
        return "pwsh" if runs_on and "windows" in runs_on.lower() and "${{" not in runs_on else "bash"

    def containers(self, view: View, job: Job, route: str, environment: str | None) -> None:
        spec = view.get("container")
        if spec is not None:
            job.containers.append(self.container(spec, "container", "container", f"{route}.container", job=job,
                                                 environment=environment))
        services = view.get("services")
        if services is not None:
            for key, value in services.items():
                if key.text is not None:
                    job.containers.append(self.container(value, "service", key.text,
                                                         f"{route}.services.{key.text}", job=job,
                                                         environment=environment))

    def container(self, view: View, role: str, name: str, route: str, *, job: Job, environment: str | None
                  ) -> Container:
        container = Container(role, name, view.line)
        if view.is_scalar:
            container.image = self.scalar(view)
            return container
        container.image = self.scalar(view.get("image"))
        context = {"level": role, "job": job.id, "service": name}
        container.env = self.env_block(view.get("env"), f"{route}.env", environment, context, job.secrets)
        for env_binding in container.env:
            job.secrets.extend(env_binding.secrets)
        credentials = view.get("credentials")
        if credentials is not None:
            for key, value in credentials.items():
                binding = self.binding(key, value, SiteKind.CONFIG_KEY, f"{route}.credentials.{key.text}",
                                       environment=environment, context={**context, "role": ROLE_CREDENTIAL},
                                       via=Via.CREDENTIAL)
                if binding is not None:
                    container.credentials.append(binding)
                    job.secrets.extend(binding.secrets)
        return container

    def workflow_call(self, job: Job, view: View, uses: View, route: str, environment: str | None) -> None:
        job.uses = parse_uses(uses.text or "", uses.line, uses.column, job_level=True)
        context = {"level": "job", "job": job.id, "action": job.uses.name}
        job.inputs = self.inputs_block(view.get("with"), f"{route}.with", environment, context)
        for input_binding in job.inputs.values():
            job.secrets.extend(input_binding.secrets)
        secrets = view.get("secrets")
        if secrets is None:
            return
        if secrets.is_scalar and (secrets.text or "").strip() == "inherit":
            job.secrets_inherit_line = secrets.line
            job.secrets.append(SecretUse("*", self.loc(secrets), Via.FORWARD, f"{route}.secrets", whole=True))
            return
        for key, value in secrets.items():
            binding = self.binding(key, value, SiteKind.CONFIG_KEY, f"{route}.secrets.{key.text}",
                                   environment=environment, context={**context, "role": ROLE_SECRET_FORWARD},
                                   via=Via.FORWARD)
            if binding is not None:
                job.forwarded.append(binding)
                job.secrets.extend(binding.secrets)

    def step(self, view: View, index: int, route: str, *, environment: str | None, context: dict[str, str],
             default_shell: str) -> Step:
        step = Step(index, view.line, route, self.scalar(view.get("name")), self.scalar(view.get("id")))
        step.condition = self.scalar(view.get("if"))
        step.secrets.extend(self.condition_uses(view.get("if"), f"{route}.if"))
        step.env = self.env_block(view.get("env"), f"{route}.env", environment, context, step.secrets)
        for binding in step.env:
            step.secrets.extend(binding.secrets)
        uses = view.get("uses")
        if uses is not None and uses.text:
            step.uses = parse_uses(uses.text, uses.line, uses.column)
            step.inputs = self.inputs_block(view.get("with"), f"{route}.with", environment,
                                            {**context, "action": step.uses.name})
            for binding in step.inputs.values():
                step.secrets.extend(binding.secrets)
            self.action_details(step, view)
        run = view.get("run")
        if run is not None and run.is_scalar and not run.is_null:
            shell = view.get("shell")
            step.shell_line = shell.line if shell is not None else None
            self.run(step, run, route, self.scalar(shell) or default_shell)
        return step

    def run(self, step: Step, run: View, route: str, shell: str) -> None:
        text = run.raw_text or ""
        step.shell = shell
        step.script_text = text
        step.script_line = run.line + (1 if run.style in ("|", ">") else 0)
        origin = yaml_scalar_origin(run, self.source)
        words = shell.split()
        program = words[0].rsplit("/", 1)[-1].lower() if words else "bash"
        spans: list[Span]
        if program in _BASH_SHELLS or program in _POWERSHELL or program in {"zsh", "dash", "ksh"}:
            dialect = "powershell" if program in _POWERSHELL else "posix"
            step.script = parse_script(text, origin=origin, expressions=GHA_EXPRESSIONS, dialect=dialect)
            spans = list(step.script.exprs())
            for line, message in step.script.errors[:3]:
                self.warn(line, f"shell script of {route}: {message}; the rest of the script read as far as possible")
        else:
            spans = find_expressions(text, origin=origin)
        for span in spans:
            location = Location(self.doc.path, span.line, span.column)
            step.secrets.extend(parse_expression(span.text).secret_uses(location, Via.SCRIPT, f"{route}.run"))

    def action_details(self, step: Step, view: View) -> None:
        assert step.uses is not None
        with_view = view.get("with")
        if step.uses.is_("actions/checkout"):
            persist = with_view.get("persist-credentials") if with_view is not None else None
            ref = with_view.get("ref") if with_view is not None else None
            repository = with_view.get("repository") if with_view is not None else None
            step.checkout = Checkout(
                step.line, _truthy(self.scalar(persist)), persist.line if persist is not None else None,
                self.scalar(ref), ref.line if ref is not None else None, self.scalar(repository), step.uses)
        kind = _ARTIFACT_ACTIONS.get(step.uses.name)
        if kind is not None and with_view is not None:
            path = with_view.get("path")
            paths: list[tuple[str, int]] = []
            if path is not None and path.is_scalar and not path.is_null:
                origin = yaml_scalar_origin(path, self.source)
                text = path.raw_text or ""
                offset = 0
                for raw_line in text.split("\n"):
                    pattern = raw_line.strip()
                    if pattern and not pattern.startswith("#"):
                        paths.append((pattern, origin[min(offset, len(origin) - 1)][0]))
                    offset += len(raw_line) + 1
            hidden = _truthy(self.scalar(with_view.get("include-hidden-files")))
            step.artifacts.append(Artifact(kind, tuple(paths), step.line, hidden, step.uses))

    # -- actions (action.yml)
    def action(self, root: View) -> Pipeline:
        pipeline = Pipeline(CISystem.GITHUB_ACTIONS, self.doc.path, root.line, "action", self.scalar(root.get("name")))
        self.input_defaults(root.get("inputs"), "inputs", pipeline)
        runs = root.get("runs")
        if runs is None or not runs.is_mapping:
            return pipeline
        job = Job("runs", runs.line, "runs", pipeline.name)
        environment = self.doc.environment
        job.env = self.env_block(runs.get("env"), "runs.env", environment, {"level": "job", "job": "runs"},
                                 job.secrets)
        for binding in job.env:
            job.secrets.extend(binding.secrets)
        steps = runs.get("steps")
        if steps is not None:
            for index, step_view in enumerate(steps):
                if step_view.is_mapping:
                    job.steps.append(self.step(
                        step_view, index, f"runs.steps[{index}]", environment=environment,
                        context={"level": "step", "job": "runs", "step": str(index)}, default_shell="bash"))
        pipeline.jobs.append(job)
        return pipeline
