"""Azure Pipelines (``azure-pipelines*.yml``, files under ``.azure-pipelines/``) -> the shared CI model.

One :class:`Pipeline` per file. ``ambient_secrets`` is False: Azure maps plain variables into the environment,
but secret variables (set in the UI, variable groups, Key Vault) reach a script only through an explicit
``env:`` mapping or a ``$(name)`` macro substituted into the script text, and both are visible here.

Structure: ``stages[].jobs[]``, ``jobs[]`` or a bare ``steps:`` list (one implicit job ``job``); ``job:`` and
``deployment:`` jobs (deployment strategies ``runOnce``/``rolling``/``canary`` with their lifecycle hooks
``preDeploy``, ``deploy``, ``routeTraffic``, ``postRouteTraffic``, ``on.failure``/``on.success``). ``template:``
references are other files (read when they are under ``.azure-pipelines/`` or named ``azure-pipelines*``).

Sites (all :attr:`Phase.CI`):

- ``variables:`` at pipeline, stage and job level, in the mapping form (``name: value``) and the list form
  (``- name: x`` / ``value: y``, the site on the ``value:`` line): :attr:`SiteKind.ENV`; the binding is named
  like the environment variable Azure maps it to (``system.debug`` -> ``SYSTEM_DEBUG``), the site keeps the name
  as written (LOG-03 reads ``system.debug``). Stage variables are part of each of its jobs' variables.
- step ``env:``: ENV sites (level ``step``); container ``env``: level ``container``/``service``.
- task ``inputs:``: :attr:`SiteKind.CONFIG_KEY`, role ``input``, context ``action`` = the task (``docker@2``);
  ``- group: name`` (variable groups, Key Vault-linked or not): a CONFIG_KEY site with role ``variable-group``
  whose value is a secret-store reference; ``parameters:`` defaults: role ``input-default``.

Scripts: ``script`` (bash; cmd on Windows pools, read with the same tokenizer), ``bash``, ``pwsh``/``powershell``
(PowerShell dialect), and the inline scripts of ``Bash@3``, ``PowerShell@2``, ``AzureCLI@2``, ``AzurePowerShell@5``
and ``CmdLine@2``; ``Docker@2`` ``build``/``buildAndPush`` ``arguments`` are read as the ``docker build`` command
line they become (BLD-06). ``$(name)`` macros and ``${{ ... }}`` template expressions are opaque expressions.

Secret references: a ``$(name)`` macro or ``$[variables.name]`` whose name is secret-like, is listed by an
``AzureKeyVault`` task's ``SecretsFilter``, or is set with ``##vso[task.setvariable ...;issecret=true]``; a
variable of the file whose value holds such a reference passes it on. ``System.AccessToken`` is the job's own
token. Artifacts: ``publish:``, ``PublishPipelineArtifact``, ``PublishBuildArtifacts`` (artifact), ``Cache``
(cache). ``checkout: self`` with ``persistCredentials: true`` is a :class:`Checkout` that persists the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from auditor.model import Document, Location, SiteKind
from auditor.parsers.ci_model import (
    ROLE_INPUT,
    ActionRef,
    Artifact,
    Binding,
    Checkout,
    CIDocument,
    CISystem,
    Container,
    Job,
    Pipeline,
    SecretUse,
    Step,
    Via,
)
from auditor.parsers.gitlab_ci import YamlCIReader, store_value
from auditor.parsers.shell import SourceText, Span, parse_script
from auditor.parsers.yamlnodes import View, mapping_roots

__all__ = ["AZURE_EXPRESSIONS", "parse"]

# $(name) macros and ${{ ... }} template expressions, substituted before the shell runs; group 1 is the inner text
AZURE_EXPRESSIONS = re.compile(
    r"\$(?:\{\{|\((?=[A-Za-z_][\w.-]*\)))((?<=\{\{).*?(?=\}\})|(?<=\()[A-Za-z_][\w.-]*(?=\)))(?:\}\}|\))", re.S)
_MACRO = re.compile(r"\$\(([A-Za-z_][\w.-]*)\)|\$\[\s*variables(?:\.([A-Za-z_][\w.-]*)|\[\s*'([^']+)'\s*\])")
_SET_SECRET = re.compile(r"##vso\[task\.setvariable\b[^\]]*?\bvariable=([\w.-]+)[^\]]*?\bissecret=true", re.I)
_SET_SECRET_REVERSED = re.compile(r"##vso\[task\.setvariable\b[^\]]*?\bissecret=true[^\]]*?\bvariable=([\w.-]+)",
                                  re.I)
_KEYVAULT_FILTER = re.compile(r"^\s*secretsfilter\s*:\s*['\"]?([^'\"\n#]+)", re.I | re.M)
_STEP_SHELLS = {"script": ("bash", "posix"), "bash": ("bash", "posix"), "pwsh": ("pwsh", "powershell"),
                "powershell": ("powershell", "powershell")}
# task (lower case, without the version) -> (inputs holding an inline script, shell)
_SCRIPT_TASKS: dict[str, tuple[tuple[str, ...], str]] = {
    "bash": (("script",), "bash"),
    "cmdline": (("script",), "cmd"),
    "powershell": (("script",), "pwsh"),
    "azurepowershell": (("inline", "inlinescript"), "pwsh"),
    "azurecli": (("inlinescript",), "bash"),
}
_ARTIFACT_TASKS = {
    "publishpipelineartifact": ("artifact", ("targetpath", "path")),
    "publishbuildartifacts": ("artifact", ("pathtopublish",)),
    "cache": ("cache", ("path",)),
}
_HOOKS = ("preDeploy", "deploy", "routeTraffic", "postRouteTraffic")


def parse(doc: Document, text: str) -> None:
    ci = CIDocument(CISystem.AZURE)
    doc.data = ci
    known = _known_secrets(text)
    for root in mapping_roots(doc, text, "an Azure Pipelines file"):
        reader = _AzureReader(doc, SourceText(text))
        reader.known_secrets |= known
        ci.pipelines.append(reader.config(root))


def _known_secrets(text: str) -> set[str]:
    """Names the file makes secret: ``issecret=true`` logging commands, ``AzureKeyVault`` secret filters."""
    names = {m.group(1) for m in _SET_SECRET.finditer(text)} | {m.group(1) for m in _SET_SECRET_REVERSED.finditer(text)}
    for m in _KEYVAULT_FILTER.finditer(text):
        names.update(n.strip() for n in m.group(1).split(",") if n.strip() and n.strip() != "*")
    return names


def env_name(name: str) -> str:
    """The environment variable Azure maps a variable to: ``system.debug`` -> ``SYSTEM_DEBUG``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


class _AzureReader(YamlCIReader):
    system = CISystem.AZURE
    expressions = AZURE_EXPRESSIONS
    ambient = False

    def __init__(self, doc: Document, source: SourceText) -> None:
        super().__init__(doc, source)
        self.pipeline = Pipeline(CISystem.AZURE, doc.path, 1, "pipeline", ambient_secrets=False)

    # -- references
    def is_secret_name(self, name: str) -> bool:
        lowered = {n.lower() for n in self.known_secrets}
        return name.lower() in lowered or super().is_secret_name(name)

    def references(self, text: str) -> Iterator[tuple[str, int]]:
        for m in _MACRO.finditer(text):
            name = m.group(1) or m.group(2) or m.group(3)
            if name:
                yield name, m.start()

    def resolve(self, name: str, location: Location, via: Via, route: str, binding: str | None,
                scope: Mapping[str, Binding]) -> SecretUse | None:
        wanted = name.upper()
        for bound in reversed(list(scope.values())):  # Azure variable names are case-insensitive
            if bound.site.name.upper() == wanted or bound.name.upper() == wanted:
                return super().resolve(bound.name, location, via, route, binding, {bound.name: bound})
        return super().resolve(name, location, via, route, binding, {})

    def expression_uses(self, span: Span, route: str, scope: Mapping[str, Binding]) -> list[SecretUse]:
        offset = self.source.offset(span.line, span.column)
        if self.source.text[offset:offset + 2] != "$(":
            return []  # a ${{ }} template expression: compile time, secrets are not available there
        use = self.resolve(span.text, self.loc(span.line, span.column), Via.SCRIPT, route, None, scope)
        return [use] if use is not None else []

    # -- variables
    def azure_variables(self, view: View | None, route: str, *, environment: str | None, level: str,
                        context: Mapping[str, str], scope: Mapping[str, Binding], holder: Job | None = None
                        ) -> list[Binding]:
        """Mapping form, or the list form with ``name``/``value``, ``group`` and ``template`` entries."""
        out: list[Binding] = []
        if view is None:
            return out
        visible = dict(scope)
        entries: list[tuple[View, View, View | None]] = []
        if view.is_mapping:
            entries = [(key, value, None) for key, value in view.items()]
        elif view.is_sequence:
            for item in view:
                name = item.get("name")
                value = item.get("value")
                group = item.get("group")
                if name is not None and value is not None:
                    entry = item.entry("value")
                    entries.append((name, value, entry[0] if entry else None))
                elif group is not None and group.text:
                    self.site(SiteKind.CONFIG_KEY, group.text, store_value(f"variable-group:{group.text}"), group,
                              f"{route}.group", environment, {**context, "role": "variable-group"})
        for key, value, at in entries:
            binding = self.binding(key, value, f"{route}.{key.text}", environment=environment,
                                   context={**context, "level": level}, scope=visible, at=at)
            if binding is None:
                continue
            renamed = Binding(env_name(binding.name), binding.site, binding.secrets, binding.lines)
            out.append(renamed)
            visible[renamed.name] = renamed
        return out

    # -- structure
    def config(self, root: View) -> Pipeline:
        pipeline = self.pipeline
        pipeline.line = root.line
        for trigger in ("trigger", "pr", "schedules"):
            view = root.get(trigger)
            if view is not None:
                pipeline.triggers[trigger] = view.line
        self.input_defaults(root.get("parameters"), "parameters", pipeline)
        pipeline.env = self.azure_variables(root.get("variables"), "variables", environment=self.doc.environment,
                                            level="pipeline", context={}, scope={})
        for binding in pipeline.env:
            pipeline.secrets.extend(binding.secrets)
        self.resources(root.get("resources"))
        scope = {b.name: b for b in pipeline.env}
        windows = self.windows(root.get("pool"))
        steps = root.get("steps")
        if steps is not None:
            job = Job("job", steps.line, "job")
            job.steps = self.steps(steps, "steps", job, self.doc.environment, scope, windows)
            pipeline.jobs.append(job)
        self.jobs(root.get("jobs"), "jobs", [], scope, windows)
        stages = root.get("stages")
        for index, stage in enumerate(stages if stages is not None and stages.is_sequence else []):
            if not stage.is_mapping or stage.get("stage") is None:
                continue
            stage_id = self.scalar(stage.get("stage")) or f"stages[{index}]"
            route = f"stages.{stage_id}"
            stage_vars = self.azure_variables(stage.get("variables"), f"{route}.variables",
                                              environment=self.doc.environment, level="stage",
                                              context={"stage": stage_id}, scope=scope)
            self.jobs(stage.get("jobs"), f"{route}.jobs", stage_vars, {**scope, **{b.name: b for b in stage_vars}},
                      self.windows(stage.get("pool")) or windows)
        return pipeline

    @staticmethod
    def windows(pool: View | None) -> bool:
        image = pool.get("vmImage") if pool is not None and pool.is_mapping else None
        return image is not None and "windows" in (image.text or "").lower()

    def resources(self, view: View | None) -> None:
        containers = view.get("containers") if view is not None and view.is_mapping else None
        if containers is None or not containers.is_sequence:
            return
        holder = Job("resources", containers.line, "resources.containers")
        for item in containers:
            name = self.scalar(item.get("container")) if item.is_mapping else None
            if name is None:
                continue
            holder.containers.append(self.container(item, "container", name, f"resources.containers.{name}", holder,
                                                    self.doc.environment, {}))
        self.pipeline.jobs.append(holder)

    def jobs(self, view: View | None, route: str, inherited: list[Binding], scope: Mapping[str, Binding],
             windows: bool) -> None:
        for index, item in enumerate(view if view is not None and view.is_sequence else []):
            if not item.is_mapping:
                continue
            kind = "deployment" if item.get("deployment") is not None else "job" if item.get("job") is not None \
                else None
            if kind is None:
                continue  # - template: other-file.yml
            job_id = self.scalar(item.get(kind)) or f"{route}[{index}]"
            self.pipeline.jobs.append(self.job(job_id, item, f"{route}.{job_id}", inherited, scope,
                                               self.windows(item.get("pool")) or windows))

    def job(self, job_id: str, view: View, route: str, inherited: list[Binding], scope: Mapping[str, Binding],
            windows: bool) -> Job:
        job = Job(job_id, view.line, route, self.scalar(view.get("displayName")))
        job.environment = self.environment(view.get("environment"))
        environment = job.environment.canonical if job.environment and job.environment.canonical \
            else self.doc.environment
        job.condition = self.scalar(view.get("condition"))
        depends = view.get("dependsOn")
        if depends is not None:
            job.needs = tuple(x for x in ([depends.text] if depends.is_scalar else [i.text for i in depends]) if x)
        own = self.azure_variables(view.get("variables"), f"{route}.variables", environment=environment, level="job",
                                   context={"job": job_id}, scope=scope)
        job.env = [*inherited, *own]
        for binding in own:
            job.secrets.extend(binding.secrets)
        visible = {**scope, **{b.name: b for b in own}}
        container = view.get("container")
        if container is not None:
            job.containers.append(self.container(container, "container", "container", f"{route}.container", job,
                                                 environment, visible))
        services = view.get("services")
        for key, value in services.items() if services is not None else ():
            if key.text is not None:
                job.containers.append(self.container(value, "service", key.text, f"{route}.services.{key.text}", job,
                                                     environment, visible))
        lists: list[tuple[str, View]] = []
        steps = view.get("steps")
        if steps is not None:
            lists.append((f"{route}.steps", steps))
        strategy = view.get("strategy")
        for name, body in strategy.items() if strategy is not None and strategy.is_mapping else ():
            if not body.is_mapping:
                continue
            for hook in _HOOKS:
                hook_view = body.get(hook)
                hook_steps = hook_view.get("steps") if hook_view is not None else None
                if hook_steps is not None:
                    lists.append((f"{route}.strategy.{name.text}.{hook}.steps", hook_steps))
            on = body.get("on")
            for outcome, outcome_view in on.items() if on is not None else ():
                outcome_steps = outcome_view.get("steps")
                if outcome_steps is not None:
                    lists.append((f"{route}.strategy.{name.text}.on.{outcome.text}.steps", outcome_steps))
        for list_route, list_view in lists:
            job.steps.extend(self.steps(list_view, list_route, job, environment, visible, windows, len(job.steps)))
        return job

    def container(self, view: View, role: str, name: str, route: str, job: Job, environment: str | None,
                  scope: Mapping[str, Binding]) -> Container:
        if view.is_scalar:
            return Container(role, name, view.line, self.scalar(view))
        container = Container(role, name, view.line, self.scalar(view.get("image")))
        container.env = self.variables(view.get("env"), f"{route}.env", environment=environment,
                                       context={"level": role, "job": job.id, "service": name}, scope=scope)
        for binding in container.env:
            job.secrets.extend(binding.secrets)
        return container

    # -- steps
    def steps(self, view: View, route: str, job: Job, environment: str | None, scope: Mapping[str, Binding],
              windows: bool, start: int = 0) -> list[Step]:
        out: list[Step] = []
        if not view.is_sequence:
            self.warn(view.line, f"`steps` of {job.route} is not a list; steps not read")
            return out
        for position, item in enumerate(view):
            if item.is_mapping:
                step = self.step(item, start + len(out), f"{route}[{position}]", job, environment, scope, windows)
                if step is not None:
                    out.append(step)
        return out

    def step(self, view: View, index: int, route: str, job: Job, environment: str | None,
             scope: Mapping[str, Binding], windows: bool) -> Step | None:
        name = self.scalar(view.get("displayName")) or self.scalar(view.get("name"))
        context = {"level": "step", "job": job.id, "step": str(index)}
        env = self.variables(view.get("env"), f"{route}.env", environment=environment, context=context, scope=scope)
        visible = {**scope, **{b.name: b for b in env}}
        step: Step | None = None
        for key, (shell, dialect) in _STEP_SHELLS.items():
            body = view.get(key)
            if body is not None and body.is_scalar and not body.is_null:
                step = self.script_step([body], index, route, name=name, shell="cmd" if key == "script" and windows
                                        else shell, scope=visible, env=env, dialect=dialect)
                step.line = view.line
                break
        task = view.get("task")
        if step is None and task is not None and task.text:
            step = self.task(view, task, index, route, name, job, environment, visible, env)
        checkout = view.get("checkout")
        publish = view.get("publish")
        if step is None:
            step = Step(index, view.line, route, name)
            step.env = env
        if checkout is not None:
            persist = view.get("persistCredentials")
            value = (self.scalar(persist) or "").strip().lower() if persist is not None else ""
            step.uses = ActionRef(f"checkout: {checkout.text or ''}", checkout.line, checkout.column, "builtin",
                                  "checkout")
            step.checkout = Checkout(view.line, value == "true", persist.line if persist is not None else None,
                                     repository=self.scalar(checkout), action=step.uses)
        if publish is not None:
            step.artifacts.append(Artifact("artifact", tuple(self.paths(publish)), view.line))
        for binding in env:
            step.secrets.extend(binding.secrets)
        return step

    def task(self, view: View, task: View, index: int, route: str, name: str | None, job: Job,
             environment: str | None, scope: Mapping[str, Binding], env: list[Binding]) -> Step:
        full = (task.text or "").strip()
        base, _, version = full.partition("@")
        kind = base.lower()
        ref = ActionRef(full, task.line, task.column, "task", full.lower(), version or None)
        inputs = view.get("inputs")
        lowered = {(k.text or "").lower(): (k, v) for k, v in inputs.items()} if inputs is not None else {}
        step: Step | None = None
        consumed: set[str] = set()
        spec = _SCRIPT_TASKS.get(kind)
        if spec is not None:
            names, shell = spec
            if kind == "azurecli":
                script_type = (self.scalar(lowered.get("scripttype", (task, task))[1]) or "bash").lower()
                shell = "pwsh" if script_type in {"ps", "pscore"} else "cmd" if script_type == "batch" else "bash"
            for input_name in names:
                found = lowered.get(input_name)
                if found is not None and found[1].is_scalar and not found[1].is_null:
                    consumed.add(input_name)
                    step = self.script_step([found[1]], index, route, name=name, shell=shell, scope=scope, env=env,
                                            dialect="powershell" if shell == "pwsh" else "posix")
                    break
        elif kind == "docker" and lowered.get("arguments") is not None:
            command = (self.scalar(lowered.get("command", (task, task))[1]) or "").lower()
            if command in {"build", "buildandpush"}:
                consumed.add("arguments")
                step = self.docker_build(lowered["arguments"][1], index, route, name, scope, env)
        if kind == "azurekeyvault":
            consumed.add("secretsfilter")  # a list of secret names, read by _known_secrets
        if step is None:
            step = Step(index, view.line, route, name)
            step.env = env
        step.line = view.line
        step.uses = ref
        artifact = _ARTIFACT_TASKS.get(kind)
        if artifact is not None:
            artifact_kind, path_inputs = artifact
            for input_name in path_inputs:
                found = lowered.get(input_name)
                if found is not None:
                    step.artifacts.append(Artifact(artifact_kind, tuple(self.paths(found[1])), view.line))
                    break
        for input_name, (key, value) in lowered.items():
            if input_name in consumed:
                continue
            binding = self.binding(key, value, f"{route}.inputs.{key.text}", environment=environment,
                                   context={"level": "step", "job": job.id, "step": str(index), "role": ROLE_INPUT,
                                            "action": full.lower()},
                                   scope=scope, kind=SiteKind.CONFIG_KEY, via=Via.INPUT)
            if binding is not None:
                step.inputs[binding.name] = binding
                step.secrets.extend(binding.secrets)
        return step

    def docker_build(self, arguments: View, index: int, route: str, name: str | None, scope: Mapping[str, Binding],
                     env: list[Binding]) -> Step | None:
        """``Docker@2`` build arguments, read as the ``docker build ...`` command line the task runs."""
        if not arguments.is_scalar or arguments.is_null:
            return None
        text = arguments.raw_text or ""
        origin = self.origin(arguments)
        prefix = "docker build "
        step = Step(index, arguments.line, route, name)
        step.env = env
        step.shell = "bash"
        step.script_text = prefix + text
        step.script_line = arguments.line
        step.script = parse_script(prefix + text, origin=[origin[0]] * len(prefix) + origin,
                                   expressions=self.expressions)
        step.secrets.extend(self.script_uses(step.script, route, scope))
        return step
