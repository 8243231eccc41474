"""CircleCI (``.circleci/config.yml``) -> the shared CI model (:mod:`auditor.parsers.ci_model`).

One :class:`Pipeline` per file (``ambient_secrets=True``: project environment variables and contexts reach every
job's environment by name). Jobs are the ``jobs:`` entries; reusable ``commands:`` and ``executors:`` are
read as template jobs (ids ``commands.<name>`` / ``executors.<name>``) so that their scripts, environment and
credentials are checked where they are written. A job that uses an executor sees its environment.

Sites (all :attr:`Phase.CI`):

- ``environment:`` of jobs, executors, docker images and ``run`` steps: :attr:`SiteKind.ENV` (routes
  ``jobs.<id>.environment.X``, ``jobs.<id>.docker[0].environment.X``, ``jobs.<id>.steps[2].run.environment.X``).
- docker image ``auth`` (``username``/``password``) and ``aws_auth`` keys: :attr:`SiteKind.CONFIG_KEY`, role
  ``credential`` (HCK-11 reads the literal passwords).
- pipeline, job and command ``parameters`` defaults: role ``input-default``; orb/command step parameters:
  role ``input``.

Steps: ``run`` (string or ``{command, shell, environment, name}``; ``shell: /bin/bash -x...`` is kept for LOG-01),
``store_artifacts`` (artifact), ``persist_to_workspace`` (workspace), ``save_cache`` (cache), ``when``/``unless``
blocks (their steps are read in place), orb commands and custom commands (an :class:`ActionRef` of kind
``orb``/``command``/``builtin``). ``<< pipeline.parameters.x >>`` / ``<< parameters.x >>`` are opaque expressions
substituted before the shell runs (never secrets). Workflow ``context:`` names that name an environment
(``aws-production``, ``staging-secrets``) become the job's :class:`JobEnvironment`: contexts are how CircleCI
restricts secrets to an environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from auditor.model import Document, SiteKind
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ROLE_INPUT,
    ActionRef,
    Artifact,
    Binding,
    CIDocument,
    CISystem,
    Container,
    Job,
    JobEnvironment,
    Pipeline,
    Step,
    Via,
)
from auditor.parsers.gitlab_ci import YamlCIReader, environment_canonical
from auditor.parsers.shell import SourceText
from auditor.parsers.yamlnodes import View, mapping_roots

__all__ = ["CIRCLECI_EXPRESSIONS", "parse"]

CIRCLECI_EXPRESSIONS = re.compile(r"<<\s*((?:pipeline\.)?parameters\.[\w.-]+|pipeline\.[\w.-]+)\s*>>")
_DEFAULT_SHELL = "/bin/bash -eo pipefail"
_BUILTINS = frozenset({"checkout", "setup_remote_docker", "attach_workspace", "add_ssh_keys", "store_test_results",
                       "deploy", "restore_cache"})


def parse(doc: Document, text: str) -> None:
    ci = CIDocument(CISystem.CIRCLECI)
    doc.data = ci
    for root in mapping_roots(doc, text, "a CircleCI config"):
        ci.pipelines.append(_CircleReader(doc, SourceText(text)).config(root))


class _CircleReader(YamlCIReader):
    system = CISystem.CIRCLECI
    expressions = CIRCLECI_EXPRESSIONS
    ambient = True

    def __init__(self, doc: Document, source: SourceText) -> None:
        super().__init__(doc, source)
        self.executors: dict[str, Job] = {}
        self.commands: set[str] = set()

    def config(self, root: View) -> Pipeline:
        pipeline = Pipeline(CISystem.CIRCLECI, self.doc.path, root.line, "pipeline", ambient_secrets=True)
        self.input_defaults(root.get("parameters"), "parameters", pipeline)
        contexts = self.contexts(root.get("workflows"))
        commands = root.get("commands")
        self.commands = set(commands.keys()) if commands is not None else set()
        executors = root.get("executors")
        for key, spec in executors.items() if executors is not None else ():
            if key.text is not None and spec.is_mapping:
                job = Job(f"executors.{key.text}", key.line, f"executors.{key.text}")
                self.executor(job, spec, self.doc.environment, {})
                self.executors[key.text] = job
                pipeline.jobs.append(job)
        for key, spec in commands.items() if commands is not None else ():
            if key.text is not None and spec.is_mapping:
                job = Job(f"commands.{key.text}", key.line, f"commands.{key.text}")
                self.input_defaults(spec.get("parameters"), f"commands.{key.text}.parameters", pipeline)
                job.steps = self.steps(spec.get("steps"), f"commands.{key.text}.steps", job, self.doc.environment,
                                       {})
                pipeline.jobs.append(job)
        jobs = root.get("jobs")
        if jobs is not None and not jobs.is_mapping:
            self.warn(jobs.line, "`jobs` is not a mapping; jobs not read")
        elif jobs is not None:
            for key, spec in jobs.items():
                if key.text is not None and spec.is_mapping:
                    pipeline.jobs.append(self.job(key.text, key, spec, pipeline, contexts.get(key.text, [])))
        return pipeline

    def contexts(self, workflows: View | None) -> dict[str, list[View]]:
        """Job name -> the ``context:`` values it runs with, across workflows."""
        out: dict[str, list[View]] = {}
        for _, workflow in workflows.items() if workflows is not None else ():
            jobs = workflow.get("jobs") if workflow.is_mapping else None
            for item in jobs or []:
                if not item.is_mapping:
                    continue
                for key, spec in item.items():
                    context = spec.get("context") if spec.is_mapping else None
                    if key.text is None or context is None:
                        continue
                    values = [context] if context.is_scalar else list(context)
                    out.setdefault(key.text, []).extend(v for v in values if v.is_scalar)
        return out

    def job(self, job_id: str, key: View, spec: View, pipeline: Pipeline, contexts: list[View]) -> Job:
        route = f"jobs.{job_id}"
        job = Job(job_id, key.line, route)
        job.environment = self.context_environment(contexts)
        environment = job.environment.canonical if job.environment else self.doc.environment
        self.input_defaults(spec.get("parameters"), f"{route}.parameters", pipeline)
        scope: dict[str, Binding] = {}
        executor = spec.get("executor")
        executor_name = self.scalar(executor.get("name") if executor is not None and executor.is_mapping
                                    else executor)
        if executor_name and executor_name in self.executors:
            for binding in self.executors[executor_name].env:
                job.env.append(binding)
                scope[binding.name] = binding
        self.executor(job, spec, environment, scope)
        shell = self.scalar(spec.get("shell"))
        job.default_shell = shell
        job.steps = self.steps(spec.get("steps"), f"{route}.steps", job, environment, scope, shell)
        return job

    def context_environment(self, contexts: list[View]) -> JobEnvironment | None:
        for view in contexts:
            name = self.scalar(view)
            found = environment_canonical(name) if name else None
            if name and found is not None:
                return JobEnvironment(name, view.line, found)
        return None

    def executor(self, job: Job, spec: View, environment: str | None, scope: dict[str, Binding]) -> None:
        """Environment and docker images of a job or an executor definition."""
        context = {"level": "job", "job": job.id}
        for binding in self.variables(spec.get("environment"), f"{job.route}.environment", environment=environment,
                                      context=context, scope=scope):
            job.env.append(binding)
            scope[binding.name] = binding
            job.secrets.extend(binding.secrets)
        docker = spec.get("docker")
        for index, image in enumerate(docker if docker is not None and docker.is_sequence else []):
            if not image.is_mapping:
                continue
            route = f"{job.route}.docker[{index}]"
            role = "container" if index == 0 else "service"
            name = self.scalar(image.get("name")) or self.scalar(image.get("image")) or f"docker[{index}]"
            container = Container(role, name, image.line, self.scalar(image.get("image")))
            container.env = self.variables(image.get("environment"), f"{route}.environment", environment=environment,
                                           context={"level": role, "job": job.id, "service": name}, scope=scope)
            for binding in container.env:
                job.secrets.extend(binding.secrets)
            for block in ("auth", "aws_auth"):
                credentials = image.get(block)
                for cred_key, cred_value in credentials.items() if credentials is not None else ():
                    credential = self.binding(cred_key, cred_value, f"{route}.{block}.{cred_key.text}",
                                           environment=environment, scope=scope, kind=SiteKind.CONFIG_KEY,
                                           via=Via.CREDENTIAL,
                                           context={"level": role, "job": job.id, "service": name,
                                                    "role": ROLE_CREDENTIAL})
                    if credential is not None:
                        container.credentials.append(credential)
                        job.secrets.extend(credential.secrets)
            job.containers.append(container)

    def steps(self, view: View | None, route: str, job: Job, environment: str | None, scope: Mapping[str, Binding],
              shell: str | None = None, start: int = 0, depth: int = 0) -> list[Step]:
        out: list[Step] = []
        if view is None or depth > 8:
            return out
        if not view.is_sequence:
            self.warn(view.line, f"`steps` of {job.route} is not a list; steps not read")
            return out
        for item in view:
            index = start + len(out)
            step_route = f"{route}[{index}]"
            if item.is_scalar:
                name = item.text or ""
                out.append(Step(index, item.line, step_route, name, uses=self.ref(name, item)))
                continue
            if not item.is_mapping:
                continue
            for key, spec in item.items():
                name = key.text or ""
                if name in {"when", "unless"} and spec.is_mapping:
                    out.extend(self.steps(spec.get("steps"), f"{step_route}.{name}.steps", job, environment, scope,
                                          shell, index, depth + 1))
                    continue
                step = self.step(name, key, spec, index, step_route, job, environment, scope, shell)
                if step is not None:
                    out.append(step)
        for index, step in enumerate(out):
            step.index = index
        return out

    def step(self, name: str, key: View, spec: View, index: int, route: str, job: Job, environment: str | None,
             scope: Mapping[str, Binding], shell: str | None) -> Step | None:
        context = {"level": "step", "job": job.id, "step": str(index)}
        if name == "run":
            command = spec if spec.is_scalar else spec.get("command")
            if command is None or not command.is_scalar or command.is_null:
                return None
            env = self.variables(spec.get("environment"), f"{route}.run.environment", environment=environment,
                                 context=context, scope=scope) if spec.is_mapping else []
            shell_view = spec.get("shell") if spec.is_mapping else None
            step = self.script_step([command], index, route, name=self.scalar(spec.get("name")) if spec.is_mapping
                                    else None, shell=self.scalar(shell_view) or shell or _DEFAULT_SHELL,
                                    scope=scope, env=env)
            step.line = key.line
            step.shell_line = shell_view.line if shell_view is not None else None
            for binding in env:
                step.secrets.extend(binding.secrets)
            return step
        step = Step(index, key.line, route, name, uses=self.ref(name, key))
        if name == "store_artifacts" and spec.is_mapping:
            step.artifacts.append(Artifact("artifact", tuple(self.paths(spec.get("path"))), key.line))
        elif name == "persist_to_workspace" and spec.is_mapping:
            step.artifacts.append(Artifact("workspace", tuple(self.paths(spec.get("paths"))), key.line))
        elif name == "save_cache" and spec.is_mapping:
            step.artifacts.append(Artifact("cache", tuple(self.paths(spec.get("paths"))), key.line))
        elif name not in _BUILTINS and spec.is_mapping:
            for input_key, value in spec.items():
                given = self.binding(input_key, value, f"{route}.{name}.{input_key.text}", environment=environment,
                                     context={**context, "role": ROLE_INPUT, "action": name}, scope=scope,
                                     kind=SiteKind.CONFIG_KEY, via=Via.INPUT)
                if given is not None:
                    step.inputs[given.name] = given
                    step.secrets.extend(given.secrets)
        return step

    def ref(self, name: str, view: View) -> ActionRef:
        if name in _BUILTINS or name == "run":
            return ActionRef(name, view.line, view.column, "builtin", name)
        if "/" in name:
            return ActionRef(name, view.line, view.column, "orb", name.lower())
        kind = "command" if name in self.commands else "builtin"
        return ActionRef(name, view.line, view.column, kind, name)
