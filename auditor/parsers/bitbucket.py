"""Bitbucket Pipelines (``bitbucket-pipelines.yml``) -> the shared CI model (:mod:`auditor.parsers.ci_model`).

One :class:`Pipeline` per file (``ambient_secrets=True``: workspace, repository and deployment variables reach
every step's environment by name, secured or not). Every ``step`` is a :class:`Job` (it has its own image,
services, deployment environment and artifacts), wherever it appears: ``default``, ``branches``, ``tags``,
``bookmarks``, ``pull-requests`` and ``custom`` pipelines, inside ``parallel`` groups and ``stage`` blocks, and in
``definitions`` (steps written there as anchors are read once, where they are defined).

- ``script`` lines form one shell :class:`Step` (they run in one shell); ``pipe:`` items are steps of their own
  whose ``variables:`` are the pipe container's environment (:attr:`SiteKind.ENV`, level ``step``);
  ``after-script`` is a second shell step.
- ``deployment: production`` (on the step or its ``stage``) is the job's :class:`JobEnvironment`: deployment
  variables are scoped to it.
- ``image`` (global or per step) with ``username``/``password`` or ``aws: {access-key, secret-key}``: a
  container with credentials (:attr:`SiteKind.CONFIG_KEY`, role ``credential``); ``definitions.services``
  with their ``variables:`` (ENV sites, level ``service``); the global image and the service definitions are
  held by template jobs ``image`` and ``definitions``.
- ``artifacts`` (list or ``{paths: [...]}``) are artifacts; ``definitions.caches`` paths are caches.
- custom pipeline ``variables:`` (``- name: X, default: ...``) are input defaults.

References are ``$VAR`` / ``${VAR}``; secret-named ones are :class:`SecretUse` s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from auditor.model import Document, SiteKind
from auditor.parsers.ci_model import (
    ROLE_CREDENTIAL,
    ActionRef,
    Artifact,
    Binding,
    CIDocument,
    CISystem,
    Container,
    Job,
    Pipeline,
    Step,
    Via,
)
from auditor.parsers.gitlab_ci import YamlCIReader
from auditor.parsers.shell import SourceText
from auditor.parsers.yamlnodes import View, mapping_roots

__all__ = ["parse"]

_SECTIONS = ("default", "branches", "tags", "bookmarks", "pull-requests", "custom")
_MAX_NESTING = 6


def parse(doc: Document, text: str) -> None:
    ci = CIDocument(CISystem.BITBUCKET)
    doc.data = ci
    for root in mapping_roots(doc, text, "a Bitbucket Pipelines file"):
        ci.pipelines.append(_BitbucketReader(doc, SourceText(text)).config(root))


class _BitbucketReader(YamlCIReader):
    system = CISystem.BITBUCKET
    expressions = None
    ambient = True

    def __init__(self, doc: Document, source: SourceText) -> None:
        super().__init__(doc, source)
        self.seen_steps: set[int] = set()
        self.pipeline = Pipeline(CISystem.BITBUCKET, doc.path, 1, "pipeline", ambient_secrets=True)

    def config(self, root: View) -> Pipeline:
        pipeline = self.pipeline
        pipeline.line = root.line
        image = root.get("image")
        if image is not None:
            holder = Job("image", image.line, "image")
            holder.containers.append(self.container(image, "container", "image", "image", holder))
            pipeline.jobs.append(holder)
        definitions = root.get("definitions")
        if definitions is not None and definitions.is_mapping:
            holder = Job("definitions", definitions.line, "definitions")
            services = definitions.get("services")
            for key, spec in services.items() if services is not None else ():
                if key.text is not None and spec.is_mapping:
                    holder.containers.append(self.container(spec, "service", key.text,
                                                            f"definitions.services.{key.text}", holder))
            caches = definitions.get("caches")
            for key, spec in caches.items() if caches is not None else ():
                path = spec.get("path") if spec.is_mapping else spec
                paths = self.paths(path)
                if key.text is not None and paths:
                    holder.artifacts.append(Artifact("cache", tuple(paths), key.line))
            pipeline.jobs.append(holder)
            for route, step in self.find_steps(definitions, "definitions", 0):
                self.add(self.job(step, route, None))
        pipelines = root.get("pipelines")
        if pipelines is not None and not pipelines.is_mapping:
            self.warn(pipelines.line, "`pipelines` is not a mapping; pipelines not read")
        elif pipelines is not None:
            for section in _SECTIONS:
                view = pipelines.get(section)
                if view is None:
                    continue
                if section == "default":
                    self.items(view, "pipelines.default", None)
                    continue
                for key, items in view.items():
                    self.items(items, f"pipelines.{section}.{key.text}", None, custom=section == "custom")
        return pipeline

    def add(self, job: Job | None) -> None:
        if job is not None:
            self.pipeline.jobs.append(job)

    def find_steps(self, view: View, route: str, depth: int) -> Iterator[tuple[str, View]]:
        """``step:`` mappings anywhere under ``definitions`` (step anchors)."""
        if depth > _MAX_NESTING:
            return
        if view.is_mapping:
            for key, value in view.items():
                if key.text == "step" and value.is_mapping:
                    yield f"{route}.step", value
                elif key.text not in {"services", "caches"}:
                    yield from self.find_steps(value, f"{route}.{key.text}", depth + 1)
        elif view.is_sequence:
            for index, item in enumerate(view):
                yield from self.find_steps(item, f"{route}[{index}]", depth + 1)

    def items(self, view: View, route: str, deployment: View | None, *, custom: bool = False, depth: int = 0) -> None:
        """A pipeline's list of ``step`` / ``parallel`` / ``stage`` / ``variables`` items."""
        if depth > _MAX_NESTING:
            return
        if view.is_mapping and view.get("steps") is not None:  # parallel: {fail-fast: true, steps: [...]}
            view = view.get("steps") or view
        if not view.is_sequence:
            return
        for index, item in enumerate(view):
            item_route = f"{route}[{index}]"
            for key, value in item.items():
                name = key.text
                if name == "step" and value.is_mapping:
                    self.add(self.job(value, f"{item_route}.step", deployment))
                elif name == "parallel":
                    self.items(value, f"{item_route}.parallel", deployment, depth=depth + 1)
                elif name == "stage" and value.is_mapping:
                    steps = value.get("steps")
                    if steps is not None:
                        self.items(steps, f"{item_route}.stage.steps", value.get("deployment") or deployment,
                                   depth=depth + 1)
                elif name == "variables" and custom:
                    self.input_defaults(value, f"{item_route}.variables", self.pipeline)

    def job(self, view: View, route: str, deployment: View | None) -> Job | None:
        if id(view.node) in self.seen_steps:
            return None  # an anchored step used again: read where it is defined
        self.seen_steps.add(id(view.node))
        name = self.scalar(view.get("name"))
        job = Job(name or route, view.line, route, name)
        job.environment = self.environment(view.get("deployment") or deployment)
        environment = job.environment.canonical if job.environment else self.doc.environment
        image = view.get("image")
        if image is not None:
            job.containers.append(self.container(image, "container", "image", f"{route}.image", job, environment))
        services = view.get("services")
        for item in services or []:
            if item.text:
                job.containers.append(Container("service", item.text, item.line))
        scope: dict[str, Binding] = {}
        script = view.get("script")
        shell_items = [item for item in self.script_items(script) if item.text is not None]
        if shell_items:
            job.steps.append(self.script_step(shell_items, 0, f"{route}.script", name=name or route, shell="bash",
                                              scope=scope))
        for index, item in enumerate(script if script is not None and script.is_sequence else []):
            pipe = item.get("pipe") if item.is_mapping else None
            if pipe is not None and pipe.text:
                job.steps.append(self.pipe(item, pipe, len(job.steps), f"{route}.script[{index}]", job, environment,
                                           scope))
        after = self.script_items(view.get("after-script"))
        if after:
            job.steps.append(self.script_step(after, len(job.steps), f"{route}.after-script",
                                              name=f"{name or route} (after-script)", shell="bash", scope=scope))
        artifacts = view.get("artifacts")
        paths_view = artifacts.get("paths") if artifacts is not None and artifacts.is_mapping else artifacts
        paths = self.paths(paths_view)
        if artifacts is not None and paths:
            job.artifacts.append(Artifact("artifact", tuple(paths), artifacts.line))
        return job

    def pipe(self, item: View, pipe: View, index: int, route: str, job: Job, environment: str | None,
             scope: Mapping[str, Binding]) -> Step:
        text = pipe.text or ""
        name, _, ref = text.partition(":")
        step = Step(index, item.line, route, text, uses=ActionRef(text, pipe.line, pipe.column, "pipe", name.lower(),
                                                                  ref or None))
        step.env = self.variables(item.get("variables"), f"{route}.variables", environment=environment,
                                  context={"level": "step", "job": job.id, "step": str(index), "action": name},
                                  scope=scope)
        for binding in step.env:
            step.secrets.extend(binding.secrets)
        return step

    def container(self, view: View, role: str, name: str, route: str, job: Job,
                  environment: str | None = None) -> Container:
        """``image: name`` or ``image: {name, username, password, aws: {...}}``; a service definition."""
        environment = environment or self.doc.environment
        if view.is_scalar:
            return Container(role, name, view.line, self.scalar(view))
        image = view.get("image") if role == "service" else view
        image_name = self.scalar(image.get("name") if image is not None and image.is_mapping else image)
        container = Container(role, name if role == "service" else image_name or name, view.line, image_name)
        context = {"level": role, "job": job.id, "service": name}
        if role == "service":
            container.env = self.variables(view.get("variables"), f"{route}.variables", environment=environment,
                                           context=context, scope={})
            for binding in container.env:
                job.secrets.extend(binding.secrets)
        holders = [image] if image is not None and image.is_mapping else []
        aws = image.get("aws") if image is not None and image.is_mapping else None
        if aws is not None and aws.is_mapping:
            holders.append(aws)
        for holder in holders:
            for key, value in holder.items():
                if key.text not in {"username", "password", "access-key", "secret-key"}:
                    continue
                credential = self.binding(key, value, f"{route}.{key.text}", environment=environment,
                                          context={**context, "role": ROLE_CREDENTIAL}, scope={},
                                          kind=SiteKind.CONFIG_KEY, via=Via.CREDENTIAL)
                if credential is not None:
                    container.credentials.append(credential)
                    job.secrets.extend(credential.secrets)
        return container
