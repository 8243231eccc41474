"""GitLab CI (``.gitlab-ci.yml``, ``*.gitlab-ci.yml``, files under ``.gitlab/ci/`` and any file a configuration
includes with ``include: local``: their paths go to ``CIDocument.includes`` and the scanner reads them as GitLab CI).

Produces the shared CI model (:mod:`auditor.parsers.ci_model`) in ``doc.data``: one :class:`Pipeline` per file
(``ambient_secrets=True``: project, group and instance CI/CD variables reach every job's environment by name,
masked or not, without being declared in the file), one :class:`Job` per job, hidden templates (``.name``)
included. Included files are separate documents: each is parsed on its own, and a job that ``extends:`` a
template defined in another file only sees what its own file says.

Sites (all :attr:`Phase.CI`, value classified by :func:`auditor.detect.values.classify`):

- ``variables:`` at top level (route ``variables.X``, context level ``pipeline``), in jobs (``<job>.variables.X``,
  level ``job``), in services (``<job>.services.<name>.variables.X``, level ``service``), and in
  ``workflow:rules`` / job ``rules`` entries: :attr:`SiteKind.ENV`. The ``{value: ..., description: ...}`` form
  is read, with the site on the ``value:`` line. Masked/protected flags live in the project settings and cannot
  be seen here.
- ``secrets:`` (Vault, Azure Key Vault, GCP Secret Manager) and ``id_tokens:``: ENV sites whose value is a
  reference (:attr:`RefKind.STORE` / :attr:`RefKind.CI_SECRET`); the variable is bound to a secret.
- ``spec: inputs:`` defaults: :attr:`SiteKind.CONFIG_KEY` with role ``input-default``.

Scripts: ``before_script`` + ``script`` run in one shell (the runner concatenates them), so they are one
:class:`Step` (``set -x`` in ``before_script`` traces ``script``); ``after_script`` runs in a new shell and is a
second step. Items of a script list keep their own lines; nested lists are flattened as GitLab does;
``!reference [...]`` items point at another job's lines, which are parsed with that job. ``extends:`` is
resolved within the file (variables merged, other keys inherited when the job does not set them), as are
``default:`` and the deprecated top-level ``image``/``services``/``before_script``/``after_script``; YAML anchors
and merge keys are resolved by :mod:`auditor.parsers.yamlnodes`.

Secret references: ``$VAR`` / ``${VAR}`` (``$$`` is an escaped dollar) read a CI/CD variable; when the name is
secret-like (:func:`auditor.detect.names.analyze_name`) and the file does not define it as a plain value, it
is a :class:`SecretUse`. Script variables the file does not define are found by the CI rules through
``ambient_secrets``; the parser lists the secret-named ones as script-level uses.

The helpers shared by the CircleCI, Bitbucket and Azure Pipelines parsers live here too
(:class:`YamlCIReader`, :func:`environment_canonical`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from auditor.detect.names import analyze_name
from auditor.detect.values import classify
from auditor.environment import canonical
from auditor.model import Diagnostic, Document, Location, Phase, RefKind, Site, SiteKind, Value, ValueKind
from auditor.parsers.ci_model import (
    ROLE_INPUT_DEFAULT,
    Artifact,
    Binding,
    CIDocument,
    CISystem,
    Container,
    Job,
    JobEnvironment,
    Pipeline,
    SecretUse,
    Step,
    Via,
)
from auditor.parsers.shell import Script, SourceText, Span, parse_script, yaml_scalar_origin
from auditor.parsers.yamlnodes import View, mapping_roots

__all__ = [
    "GITLAB_EXPRESSIONS",
    "YamlCIReader",
    "environment_canonical",
    "parse",
]

GITLAB_EXPRESSIONS = re.compile(r"\$\[\[(.*?)\]\]", re.S)  # $[[ inputs.x ]] (spec inputs, substituted first)
_SHELL_REF = re.compile(r"\$\$|\$\{([A-Za-z_]\w*)[^}]*\}|\$([A-Za-z_]\w*)")
_ENV_TOKENS = re.compile(r"[-_./\s:]+")
_MAX_EXTENDS = 11  # GitLab's own limit on `extends` depth
_KEYWORDS = frozenset({
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script",
    "after_script", "spec", "types",
})
_SCRIPT_KEYS = ("before_script", "script", "after_script")


def environment_canonical(name: str) -> str | None:
    """``production`` -> prod; ``production/eu-west`` -> prod; ``smarthotel-dev.bookings`` -> dev."""
    text = name.strip()
    found = canonical(text)
    if found is not None:
        return found
    first = re.split(r"[/.]", text, maxsplit=1)[0]
    found = canonical(first)
    if found is not None:
        return found
    for token in _ENV_TOKENS.split(first.lower()):
        found = canonical(token) if token else None
        if found is not None and found != "local":
            return found
    return None


# ------------------------------------------------------------------------------------- shared reader


class YamlCIReader:
    """What every YAML CI parser needs: sites and bindings with secret references, joined script items."""

    system: CISystem = CISystem.GITLAB
    expressions: re.Pattern[str] | None = None  # opaque expressions substituted before the shell runs
    ambient: bool = True  # CI/CD variables reach scripts by name (see Pipeline.ambient_secrets)

    def __init__(self, doc: Document, source: SourceText) -> None:
        self.doc = doc
        self.source = source
        self._sites: dict[tuple[int, str], Site] = {}
        self.known_secrets: set[str] = set()  # names the file itself marks as secrets

    # -- basics
    def warn(self, line: int | None, message: str) -> None:
        self.doc.diagnostics.append(Diagnostic(self.doc.path, line, message, "warning"))

    def loc(self, line: int, column: int | None = None) -> Location:
        return Location(self.doc.path, line, column)

    @staticmethod
    def scalar(view: View | None) -> str | None:
        """A scalar's text (null -> None); None for collections."""
        if view is None or not view.is_scalar or view.is_null:
            return None
        return view.text

    def origin(self, view: View) -> list[tuple[int, int]]:
        return yaml_scalar_origin(view, self.source)

    # -- secret references
    def is_secret_name(self, name: str) -> bool:
        if name in self.known_secrets:
            return True
        info = analyze_name(name)
        return info.secret and not info.file_like

    def references(self, text: str) -> Iterator[tuple[str, int]]:
        """(variable name, offset) of every variable reference in a value (the system's syntax)."""
        for m in _SHELL_REF.finditer(text):
            name = m.group(1) or m.group(2)
            if name:
                yield name, m.start()

    def resolve(self, name: str, location: Location, via: Via, route: str, binding: str | None,
                scope: Mapping[str, Binding]) -> SecretUse | None:
        """The secret a reference to ``name`` reaches: through a binding of the file, or a secret-named variable."""
        bound = scope.get(name)
        if bound is not None:
            if not bound.secrets:
                return None  # a plain value defined in the file
            first = bound.secrets[0]
            return SecretUse(first.name, location, via, route, binding or name, whole=first.whole,
                             dynamic=first.dynamic, unredacted=first.unredacted, transformed=first.transformed)
        if self.is_secret_name(name):
            return SecretUse(name, location, via, route, binding)
        return None

    def value_uses(self, view: View, via: Via, route: str, binding: str | None, scope: Mapping[str, Binding]
                   ) -> list[SecretUse]:
        text = view.raw_text or ""
        if "$" not in text:
            return []
        origin: list[tuple[int, int]] | None = None
        out: list[SecretUse] = []
        for name, offset in self.references(text):
            if origin is None:
                origin = self.origin(view)
            line, column = origin[min(offset, len(origin) - 1)]
            use = self.resolve(name, self.loc(line, column), via, route, binding, scope)
            if use is not None:
                out.append(use)
        return out

    # -- sites and bindings
    def site(self, kind: SiteKind, name: str, value: Value, at: View, route: str, environment: str | None,
             context: Mapping[str, str]) -> Site:
        """A site registered once per source position (anchors and ``extends`` reach the same node again)."""
        key = (id(at.node), name)
        found = self._sites.get(key)
        if found is not None:
            return found
        site = Site(kind, name, value, self.loc(at.line, at.column), Phase.CI, environment, route, dict(context))
        self._sites[key] = site
        self.doc.sites.append(site)
        return site

    def binding(self, key: View, value: View, route: str, *, environment: str | None, context: Mapping[str, str],
                scope: Mapping[str, Binding], kind: SiteKind = SiteKind.ENV, via: Via = Via.ENV,
                at: View | None = None) -> Binding | None:
        """``NAME: value``; ``at`` is where the site is (the key by default)."""
        name = key.text
        if name is None or value.is_mapping or value.is_sequence:
            return None
        text = "" if value.is_null else (value.raw_text or "")
        site = self.site(kind, name, classify(text), at or key, route, environment, context)
        uses = tuple(self.value_uses(value, via, route, name, scope))
        return Binding(name, site, uses, self.value_lines(value, text))

    def value_lines(self, value: View, text: str) -> tuple[int, ...]:
        """Source line of each text line of a multi-line scalar."""
        if "\n" not in text.rstrip("\n"):
            return ()
        origin = self.origin(value)
        out: list[int] = []
        offset = 0
        for part in text.split("\n"):
            stripped = len(part) - len(part.lstrip())
            out.append(origin[min(offset + stripped, len(origin) - 1)][0])
            offset += len(part) + 1
        return tuple(out)

    def variables(self, view: View | None, route: str, *, environment: str | None, context: Mapping[str, str],
                  scope: Mapping[str, Binding], kind: SiteKind = SiteKind.ENV) -> list[Binding]:
        """A ``NAME: value`` mapping; ``NAME: {value: ..., description: ...}`` entries are read at ``value:``."""
        out: list[Binding] = []
        if view is None:
            return out
        if not view.is_mapping:
            if not view.is_null:
                self.warn(view.line, f"`{route}` is not a mapping; its variables are not read")
            return out
        visible = dict(scope)
        for key, spec in view.items():
            name = key.text
            if name is None:
                continue
            at: View | None = None
            value = spec
            if spec.is_mapping:
                entry = spec.entry("value")
                if entry is None:
                    continue
                at, value = entry
            binding = self.binding(key, value, f"{route}.{name}", environment=environment, context=context,
                                   scope=visible, kind=kind, at=at)
            if binding is not None:
                out.append(binding)
                visible[name] = binding
        return out

    def input_defaults(self, view: View | None, route: str, pipeline: Pipeline, *, default_key: str = "default"
                       ) -> None:
        """``name: {default: ...}`` parameter/input declarations -> role ``input-default`` sites."""
        if view is None:
            return
        entries: list[tuple[View, View]] = []
        if view.is_sequence:  # Azure: - name: x  default: y
            for spec in view:
                name = spec.get("name")
                if name is not None:
                    entries.append((name, spec))
        else:
            entries = list(view.items())
        for key, spec in entries:
            if key.text is None or not spec.is_mapping:
                continue
            entry = spec.entry(default_key)
            if entry is None:
                continue
            default_key_view, default = entry
            if not default.is_scalar:
                continue
            binding = self.binding(key, default, f"{route}.{key.text}.{default_key}", environment=self.doc.environment,
                                   context={"role": ROLE_INPUT_DEFAULT}, scope={}, kind=SiteKind.CONFIG_KEY,
                                   via=Via.OTHER, at=default_key_view)
            if binding is not None:
                pipeline.inputs.append(binding)
                pipeline.secrets.extend(binding.secrets)

    # -- scripts
    def script_items(self, view: View | None, depth: int = 0) -> list[View]:
        """The scalar lines of a script: a string, or a list (nested lists flattened, ``!reference`` skipped)."""
        if view is None or view.is_null or depth > 10:
            return []
        if view.is_scalar:
            return [view]
        if not view.is_sequence or view.tag == "!reference":
            return []
        out: list[View] = []
        for item in view:
            out.extend(self.script_items(item, depth + 1))
        return out

    def joined(self, items: list[View]) -> tuple[str, list[tuple[int, int]]]:
        """The items as one script (one line each) and the source position of every character (plus one past
        the end); the newline between two items takes the position just past the first."""
        parts: list[str] = []
        origin: list[tuple[int, int]] = []
        past_end = (1, 1)
        for item in items:
            text = item.raw_text or ""
            positions = self.origin(item)
            if parts:
                parts.append("\n")
                origin.append(past_end)
            parts.append(text)
            origin.extend(positions[:len(text)])
            past_end = positions[-1]
        origin.append(past_end)
        return "".join(parts), origin

    def script_step(self, items: list[View], index: int, route: str, *, name: str | None, shell: str,
                    scope: Mapping[str, Binding], dialect: str = "posix", env: list[Binding] | None = None) -> Step:
        """A step running ``items`` as one script, with its secret references."""
        first = items[0]
        step = Step(index, first.line, route, name)
        step.env = env or []
        step.shell = shell
        text, origin = self.joined(items)
        step.script_text = text
        step.script_line = first.line + (1 if first.style in ("|", ">") else 0)
        step.script = parse_script(text, origin=origin, expressions=self.expressions, dialect=dialect)
        for line, message in step.script.errors[:3]:
            self.warn(line, f"shell script of {route}: {message}; the rest of the script read as far as possible")
        step.secrets.extend(self.script_uses(step.script, f"{route}", {**scope, **{b.name: b for b in step.env}}))
        return step

    def script_uses(self, script: Script, route: str, scope: Mapping[str, Binding]) -> list[SecretUse]:
        out: list[SecretUse] = []
        seen: set[tuple[str, int, int]] = set()
        for span in script.exprs():
            for use in self.expression_uses(span, route, scope):
                key = (use.name, span.line, span.column)
                if key not in seen:
                    seen.add(key)
                    out.append(use)
        if not self.ambient:
            return out
        assigned = {a.name for command in script.walk() for a in command.assignments}
        assigned |= {w.text for command in script.walk() if command.program == "read" for w in command.argv()[1:]}
        for var in script.vars():
            if var.name in assigned or var.name in scope or var.op in {"len", "!", ":+", "+"}:
                continue
            if not self.is_secret_name(var.name):
                continue
            key = (var.name, var.line, var.column)
            if key not in seen:
                seen.add(key)
                out.append(SecretUse(var.name, self.loc(var.line, var.column), Via.SCRIPT, route))
        return out

    def expression_uses(self, span: Span, route: str, scope: Mapping[str, Binding]) -> list[SecretUse]:
        """Secrets an opaque expression of a script reads (none for GitLab inputs or CircleCI parameters)."""
        return []

    # -- artifacts and environments
    def paths(self, view: View | None, prefix: str = "") -> list[tuple[str, int]]:
        """Path patterns of a scalar or a list of scalars, each at its line."""
        if view is None:
            return []
        items = [view] if view.is_scalar else list(view) if view.is_sequence else []
        out: list[tuple[str, int]] = []
        for item in items:
            text = self.scalar(item)
            if not text:
                continue
            for offset, raw_line in _lines_with_offsets(text):
                pattern = raw_line.strip()
                if pattern and not pattern.startswith("#"):
                    line = item.line if item.style not in ("|", ">") and "\n" not in text else \
                        self.origin(item)[min(offset, len(text))][0]
                    out.append((prefix + pattern, line))
        return out

    def environment(self, view: View | None) -> JobEnvironment | None:
        """``environment: production`` / ``environment: {name: production}``."""
        if view is None:
            return None
        name_view = view.get("name") if view.is_mapping else view
        name = self.scalar(name_view)
        if name is None or name_view is None or not name.strip():
            return None
        found = environment_canonical(name)
        dynamic = found is None and any(mark in name for mark in ("$", "<<"))
        return JobEnvironment(name, name_view.line, found, dynamic)


def _lines_with_offsets(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for part in text.split("\n"):
        yield offset + (len(part) - len(part.lstrip())), part
        offset += len(part) + 1


def store_value(text: str) -> Value:
    """A value held by a secret store (``secrets:`` entries), never a literal."""
    return Value(text, ValueKind.REFERENCE, RefKind.STORE, text)


# --------------------------------------------------------------------------------------------- GitLab


def parse(doc: Document, text: str) -> None:
    ci = CIDocument(CISystem.GITLAB)
    doc.data = ci
    pipeline = Pipeline(CISystem.GITLAB, doc.path, 1, "pipeline", ambient_secrets=True)
    reader = _GitLabReader(doc, SourceText(text))
    configs = 0
    for root in mapping_roots(doc, text, "a GitLab CI file"):
        keys = set(root.keys())
        if keys == {"spec"}:  # the header document of a CI/CD component or an included file
            spec = root.get("spec")
            if spec is not None:
                reader.input_defaults(spec.get("inputs"), "spec.inputs", pipeline)
            continue
        if not configs:
            pipeline.line = root.line
        configs += 1
        ci.includes.extend(_local_includes(root.get("include")))
        reader.config(root, pipeline)
    ci.pipelines.append(pipeline)


def _local_includes(include: View | None) -> Iterator[str]:
    """``include: path``, ``include: [path, {local: path}]``: the local files (remote, project, template and
    component includes live elsewhere)."""
    if include is None:
        return
    items = list(include) if include.is_sequence else [include]
    for item in items:
        if item.is_scalar and item.text and "://" not in item.text:
            yield item.text
        elif item.is_mapping:
            local = item.get_text("local")
            if local:
                yield local


class _GitLabReader(YamlCIReader):
    system = CISystem.GITLAB
    expressions = GITLAB_EXPRESSIONS
    ambient = True

    def __init__(self, doc: Document, source: SourceText) -> None:
        super().__init__(doc, source)
        self.templates: dict[str, View] = {}

    def config(self, root: View, pipeline: Pipeline) -> None:
        environment = self.doc.environment
        context = {"level": "pipeline"}
        pipeline.env.extend(self.variables(root.get("variables"), "variables", environment=environment,
                                           context=context, scope={}))
        workflow = root.get("workflow")
        rules = workflow.get("rules") if workflow is not None else None
        for index, rule in enumerate(rules or []):
            scope = {b.name: b for b in pipeline.env}
            pipeline.env.extend(self.variables(rule.get("variables"), f"workflow.rules[{index}].variables",
                                               environment=environment, context=context, scope=scope))
        for binding in pipeline.env:
            pipeline.secrets.extend(binding.secrets)
        default = root.get("default")
        defaults: dict[str, View] = {}
        for keyword in ("image", "services", "before_script", "after_script"):
            found = (default.get(keyword) if default is not None else None) or root.get(keyword)
            if found is not None:
                defaults[keyword] = found
        jobs: list[tuple[str, View, View]] = []
        for key, value in root.items():
            job_id = key.text
            if job_id is None or job_id in _KEYWORDS:
                continue
            if not value.is_mapping:
                if not value.is_null and not job_id.startswith("."):
                    self.warn(key.line, f"job {job_id} is not a mapping; not read")
                continue
            self.templates[job_id] = value
            jobs.append((job_id, key, value))
        for job_id, key, value in jobs:
            pipeline.jobs.append(self.job(job_id, key, value, pipeline, defaults))

    def lineage(self, view: View) -> list[View]:
        """The job, then what it ``extends`` (depth first, nearest first), without cycles."""
        out: list[View] = []
        seen: set[int] = set()

        def visit(current: View, depth: int) -> None:
            if id(current.node) in seen or depth > _MAX_EXTENDS:
                return
            seen.add(id(current.node))
            out.append(current)
            extends = current.get("extends")
            names = [extends.text] if extends is not None and extends.is_scalar else \
                [i.text for i in extends] if extends is not None and extends.is_sequence else []
            for parent in reversed([n for n in names if n]):  # the last listed wins: visit it first
                template = self.templates.get(parent)
                if template is not None:
                    visit(template, depth + 1)

        visit(view, 0)
        return out

    def job(self, job_id: str, key: View, view: View, pipeline: Pipeline, defaults: Mapping[str, View]) -> Job:
        lineage = self.lineage(view)

        def inherited(name: str) -> View | None:
            for item in lineage:
                found = item.get(name)
                if found is not None:
                    return found
            return None

        job = Job(job_id, key.line, job_id)
        job.environment = self.environment(inherited("environment"))
        environment = job.environment.canonical if job.environment and job.environment.canonical \
            else self.doc.environment
        inherit = inherited("inherit")
        use_defaults = _inherits(inherit, "default")
        use_globals = _inherits(inherit, "variables")
        scope: dict[str, Binding] = {b.name: b for b in pipeline.env} if use_globals else {}
        context = {"level": "job", "job": job_id}
        for item in reversed(lineage):  # variables are merged, the job's own last (it wins)
            for binding in self.variables(item.get("variables"), f"{job_id}.variables", environment=environment,
                                          context=context, scope=scope):
                job.env.append(binding)
                scope[binding.name] = binding
        rules = view.get("rules")
        for index, rule in enumerate(rules or []):
            for binding in self.variables(rule.get("variables"), f"{job_id}.rules[{index}].variables",
                                          environment=environment, context=context, scope=scope):
                job.env.append(binding)
                scope[binding.name] = binding
        self.store_bindings(job, inherited("secrets"), inherited("id_tokens"), environment, scope)
        for binding in job.env:
            if binding.site.context.get("source") != "id_tokens":
                job.secrets.extend(binding.secrets)
        self.containers(job, inherited("image") or (defaults.get("image") if use_defaults else None),
                        inherited("services") or (defaults.get("services") if use_defaults else None),
                        environment, scope)
        job.needs = tuple(self._needs(view.get("needs")))
        before = inherited("before_script") or (defaults.get("before_script") if use_defaults else None)
        after = inherited("after_script") or (defaults.get("after_script") if use_defaults else None)
        main_items = self.script_items(before) + self.script_items(inherited("script"))
        if main_items:
            job.steps.append(self.script_step(main_items, 0, f"{job_id}.script", name=job_id, shell="sh",
                                              scope=scope))
        after_items = self.script_items(after)
        if after_items:
            job.steps.append(self.script_step(after_items, len(job.steps), f"{job_id}.after_script",
                                              name=f"{job_id} (after_script)", shell="sh", scope=scope))
        self.artifacts(job, view)
        return job

    def store_bindings(self, job: Job, secrets: View | None, id_tokens: View | None, environment: str | None,
                       scope: dict[str, Binding]) -> None:
        """``secrets:`` (external secret stores) and ``id_tokens:`` bind a variable to a secret."""
        for source, view in (("secrets", secrets), ("id_tokens", id_tokens)):
            if view is None:
                continue
            for key, spec in view.items():
                name = key.text
                if name is None:
                    continue
                route = f"{job.id}.{source}.{name}"
                if source == "secrets":
                    store = next((k for k in ("vault", "azure_key_vault", "gcp_secret_manager", "akeyless")
                                  if spec.get(k) is not None), "store")
                    value = store_value(f"{store}:{name}")
                else:
                    value = Value(f"id_token:{name}", ValueKind.REFERENCE, RefKind.CI_SECRET, name)
                site = self.site(SiteKind.ENV, name, value, key, route, environment,
                                 {"level": "job", "job": job.id, "source": source})
                use = SecretUse(name, self.loc(key.line, key.column), Via.ENV, route, name)
                binding = Binding(name, site, (use,))
                job.env.append(binding)
                scope[name] = binding

    def containers(self, job: Job, image: View | None, services: View | None, environment: str | None,
                   scope: Mapping[str, Binding]) -> None:
        if image is not None:
            name_view = image.get("name") if image.is_mapping else image
            job.containers.append(Container("container", "image", image.line, self.scalar(name_view)))
        for index, item in enumerate(services or []):
            name_view = item.get("name") if item.is_mapping else item
            image_name = self.scalar(name_view)
            alias = self.scalar(item.get("alias")) if item.is_mapping else None
            label = alias or image_name or f"services[{index}]"
            container = Container("service", label, item.line, image_name)
            if item.is_mapping:
                container.env = self.variables(item.get("variables"), f"{job.id}.services.{label}.variables",
                                               environment=environment,
                                               context={"level": "service", "job": job.id, "service": label},
                                               scope=scope)
                for binding in container.env:
                    job.secrets.extend(binding.secrets)
            job.containers.append(container)

    def artifacts(self, job: Job, view: View) -> None:
        artifacts = view.get("artifacts")
        if artifacts is not None and artifacts.is_mapping:
            paths = self.paths(artifacts.get("paths")) + self.paths(artifacts.get("exclude"), "!")
            if paths:
                job.artifacts.append(Artifact("artifact", tuple(paths), artifacts.line))
        cache = view.get("cache")
        caches = [cache] if cache is not None and cache.is_mapping else list(cache) if cache is not None else []
        for item in caches:
            if item.is_mapping:
                paths = self.paths(item.get("paths"))
                if paths:
                    job.artifacts.append(Artifact("cache", tuple(paths), item.line))

    def _needs(self, view: View | None) -> Iterator[str]:
        for item in view or []:
            name = self.scalar(item.get("job")) if item.is_mapping else self.scalar(item)
            if name:
                yield name


def _inherits(inherit: View | None, what: str) -> bool:
    """``inherit: {default: false}`` turns defaults off for the job (a list keeps only some: treated as on)."""
    if inherit is None:
        return True
    value = inherit.get(what)
    if value is None or not value.is_scalar:
        return True
    return (value.text or "").strip().lower() not in {"false", "no", "off"}
