"""The CI model shared by every CI parser (GitHub Actions, GitLab CI, CircleCI, Bitbucket, Azure Pipelines).

A CI parser sets ``doc.data`` to a :class:`CIDocument` and registers every env/variable/input value as a
:class:`~auditor.model.Site` on the document; the rules in :mod:`auditor.rules.ci` read only this model, so a
new CI system gets them all by producing it::

    CIDocument(system, pipelines=[Pipeline(jobs=[Job(steps=[Step(script=parse_script(...))])])])

Shape:

- :class:`Pipeline`: a workflow / pipeline file (or a composite action): triggers, pipeline-level
  :class:`Binding` s (env / variables), :class:`Job` s, input defaults, permissions.
- :class:`Job`: its deployment :class:`JobEnvironment` (``environment:``), env bindings, :class:`Step` s,
  a reusable-workflow call (:attr:`Job.uses` + forwarded secrets), :class:`Container` s (job container and
  services, with their credentials), artifacts and caches.
- :class:`Step`: a script (:class:`~auditor.parsers.shell.Script`, already parsed with exact lines) or an
  action call (:class:`ActionRef` + ``with`` bindings), its env bindings, checkout and artifact details.
- :class:`SecretUse`: every reference to a CI-held secret, wherever it appears (env value, ``with:`` input,
  script text, forwarded secret, ``secrets: inherit``), with its location and how it is used (whole store,
  dynamic index, ``fromJSON``). Parsers fill ``secrets`` lists at the level where the reference is written.

A :class:`Binding` couples a name to the Site holding its value and to the secrets that value references:
env/variables are :attr:`SiteKind.ENV` sites (phase CI, the job's canonical environment), ``with:`` inputs,
credentials, forwarded secrets and input defaults are :attr:`SiteKind.CONFIG_KEY` sites whose
``context["role"]`` is one of the ``ROLE_*`` constants below.

Expressions: :func:`parse_expression` reads the ``${{ ... }}`` language (GitHub Actions, Azure template
expressions) into context references (``secrets.X``, ``github.event.pull_request.head.sha``) and the
functions around them; GitLab/CircleCI/Bitbucket parsers produce :class:`SecretUse` directly.

What a new CI parser must fill for the rules to work (see :mod:`auditor.parsers.github_actions`):

- every env/variables entry as an ENV Site (``doc.sites``) and a :class:`Binding` at its level; a binding
  whose value references a CI secret carries it in ``Binding.secrets`` (scripts treat that variable as a
  secret; LOG-03 reads the ENV sites for ``CI_DEBUG_TRACE``/``system.debug``);
- ``Pipeline.ambient_secrets = True`` when the CI injects settings variables into every job (GitLab,
  CircleCI, Bitbucket): a script reading an undeclared secret-named ``$VAR`` then has a secret in scope;
- each script section as a :class:`Step` with ``script=parse_script(text, origin=yaml_scalar_origin(view,
  source), expressions=<the CI's expression pattern or None>)`` so lines are exact;
- ``Step.secrets`` / ``Job.secrets`` / ``Pipeline.secrets``: every :class:`SecretUse` written at that level
  (ENV-02, ENV-05 and LOG-02 read them through :meth:`Pipeline.all_secrets`);
- ``Job.environment`` with ``canonical=auditor.environment.canonical(name)``; ``Job.artifacts`` for
  ``artifacts:paths``, caches, ``store_artifacts``/``persist_to_workspace`` (kind artifact/cache/workspace).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from auditor.model import Location, Site
from auditor.parsers.shell import Script

__all__ = [
    "ROLE_CREDENTIAL",
    "ROLE_INPUT",
    "ROLE_INPUT_DEFAULT",
    "ROLE_SECRET_FORWARD",
    "ActionRef",
    "Artifact",
    "Binding",
    "CIDocument",
    "CISystem",
    "Checkout",
    "Container",
    "ContextRef",
    "Expression",
    "Job",
    "JobEnvironment",
    "Permissions",
    "Pipeline",
    "SecretUse",
    "Step",
    "Via",
    "parse_expression",
    "secret_env",
]

# Site.context["role"] of CONFIG_KEY sites made by CI parsers
ROLE_INPUT = "input"  # a `with:` input of an action / reusable workflow
ROLE_CREDENTIAL = "credential"  # container/service/registry credentials (username, password)
ROLE_SECRET_FORWARD = "secret-forward"  # `secrets:` passed to a reusable workflow
ROLE_INPUT_DEFAULT = "input-default"  # default of a workflow_call/dispatch or action input


class CISystem(StrEnum):
    GITHUB_ACTIONS = "github-actions"
    GITLAB = "gitlab-ci"
    CIRCLECI = "circleci"
    BITBUCKET = "bitbucket"
    AZURE = "azure-pipelines"


class Via(StrEnum):
    """How a secret reference reaches the job."""

    ENV = "env"  # bound to an environment variable
    INPUT = "input"  # passed as an action / reusable-workflow input
    SCRIPT = "script"  # written inline in a script (substituted into the script text)
    FORWARD = "forward"  # forwarded to a reusable workflow (`secrets:` entry or `inherit`)
    CREDENTIAL = "credential"  # container / service / registry credentials
    CONDITION = "condition"  # an `if:` condition
    OTHER = "other"  # outputs, names, anything else


# --------------------------------------------------------------------------------------------- secrets


@dataclass(frozen=True, slots=True)
class SecretUse:
    """One reference to a secret held by the CI system."""

    name: str  # the secret's name as written ("NPM_TOKEN"); "*" for the whole store or a dynamic index
    location: Location
    via: Via
    route: str = ""  # "jobs.build.steps[2].env.NPM_TOKEN"
    binding: str | None = None  # the env var / input / forwarded name it is bound to
    whole: bool = False  # every secret at once: toJSON(secrets), `secrets: inherit`
    dynamic: bool = False  # secrets[<non-literal>]: any secret, chosen at run time
    unredacted: bool = False  # fromJSON(secrets.X): the decoded fields are not masked in logs
    transformed: bool = False  # wrapped in a function that rewrites the value (format(), replace...)

    @property
    def key(self) -> str:
        """Case-insensitive identity of the secret (GitHub secret names are case-insensitive)."""
        return self.name.upper()


@dataclass(frozen=True, slots=True)
class Binding:
    """A name bound to a value: env var, CI variable, ``with:`` input, credential, forwarded secret, input default."""

    name: str
    site: Site  # the Site registered on the Document (value classified there)
    secrets: tuple[SecretUse, ...] = ()  # the secrets the value references
    lines: tuple[int, ...] = ()  # source line of each line of a multi-line value (empty: single line)

    def line_of(self, index: int) -> int:
        """Source line of the value's ``index``-th text line (the site's line when unknown)."""
        return self.lines[index] if 0 <= index < len(self.lines) else self.site.location.line

    @property
    def location(self) -> Location:
        return self.site.location

    @property
    def text(self) -> str | None:
        """The raw value (may be a secret: never print it)."""
        return self.site.value.text if self.site.value is not None else None


# ------------------------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True)
class ActionRef:
    """``uses: owner/repo[/path]@ref``, ``docker://image``, ``./local``; builtins for other CI systems."""

    raw: str
    line: int
    column: int = 1
    kind: str = "action"  # "action" | "docker" | "local" | "workflow" (reusable workflow) | "builtin" | "orb"
    name: str = ""  # "actions/checkout", "docker/build-push-action" (lower case; path kept); builtin/orb name
    ref: str | None = None  # "v4", "v4.1.7", a commit SHA, a branch

    @property
    def major(self) -> int | None:
        """Major version of a ``vN[.x.y]`` ref; None for SHAs, branches and anything else."""
        if self.ref is None:
            return None
        m = re.match(r"^v?(\d+)(?:\.\d+){0,2}$", self.ref)
        return int(m.group(1)) if m else None

    def is_(self, *names: str) -> bool:
        """``step.uses.is_("actions/checkout")``: the action is one of ``names`` (sub-paths included)."""
        return any(self.name == n or self.name.startswith(n + "/") for n in names)


@dataclass(frozen=True, slots=True)
class Checkout:
    """A repository checkout (``actions/checkout``) and what it leaves behind."""

    line: int
    persist_credentials: bool | None  # None: not set (the action's default, true)
    persist_line: int | None = None
    ref: str | None = None  # raw `ref:` value (may hold expressions)
    ref_line: int | None = None
    repository: str | None = None
    action: ActionRef | None = None


@dataclass(frozen=True, slots=True)
class Artifact:
    """Paths uploaded as a build artifact, saved to a cache or persisted to a workspace."""

    kind: str  # "artifact" | "cache" | "workspace"
    paths: tuple[tuple[str, int], ...]  # (pattern, line); excludes ("!x") included as written
    line: int
    include_hidden: bool | None = None  # upload-artifact `include-hidden-files` (None: not set)
    action: ActionRef | None = None


@dataclass(slots=True)
class Step:
    index: int
    line: int
    route: str  # "jobs.build.steps[2]"
    name: str | None = None
    id: str | None = None
    uses: ActionRef | None = None
    inputs: dict[str, Binding] = field(default_factory=dict)  # `with:` (name -> binding)
    env: list[Binding] = field(default_factory=list)
    script: Script | None = None  # parsed shell (None for non-shell steps and unparsed shells)
    script_text: str | None = field(default=None, repr=False)  # raw script (python/cmd shells included)
    script_line: int | None = None
    shell: str | None = None  # "bash", "sh", "pwsh", "python", "bash -x {0}"... as configured
    shell_line: int | None = None  # line of the step's own `shell:` key, if any
    condition: str | None = None
    secrets: list[SecretUse] = field(default_factory=list)  # every secret referenced in the step
    checkout: Checkout | None = None
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass(slots=True)
class Container:
    role: str  # "container" (job container) | "service"
    name: str  # "container" or the service name
    line: int
    image: str | None = None
    credentials: list[Binding] = field(default_factory=list)  # username / password
    env: list[Binding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JobEnvironment:
    """A job's deployment environment (``environment: production`` / ``{name: ..., url: ...}``)."""

    name: str  # as written (may contain an expression)
    line: int
    canonical: str | None  # auditor.environment.canonical(name): "prod", "staging"...
    dynamic: bool = False  # the name is computed by an expression


@dataclass(frozen=True, slots=True)
class Permissions:
    line: int
    scopes: tuple[tuple[str, str], ...] = ()  # ("contents", "write")...
    preset: str | None = None  # "read-all" | "write-all" | "{}" (no permissions)

    @property
    def writes(self) -> bool:
        return self.preset == "write-all" or any(level == "write" for _, level in self.scopes)


@dataclass(slots=True)
class Job:
    id: str
    line: int
    route: str  # "jobs.build"
    name: str | None = None
    environment: JobEnvironment | None = None
    env: list[Binding] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    uses: ActionRef | None = None  # reusable-workflow call
    inputs: dict[str, Binding] = field(default_factory=dict)  # `with:` of a reusable-workflow call
    forwarded: list[Binding] = field(default_factory=list)  # `secrets:` entries of a reusable-workflow call
    secrets_inherit_line: int | None = None  # `secrets: inherit`
    secrets: list[SecretUse] = field(default_factory=list)  # job-level references (env, containers, calls...)
    containers: list[Container] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)  # job-level artifacts/caches (GitLab, CircleCI)
    permissions: Permissions | None = None
    runs_on: str | None = None
    default_shell: str | None = None
    needs: tuple[str, ...] = ()
    condition: str | None = None

    def all_secrets(self) -> Iterator[SecretUse]:
        """Job-level references, then each step's."""
        yield from self.secrets
        for step in self.steps:
            yield from step.secrets


@dataclass(slots=True)
class Pipeline:
    system: CISystem
    path: str
    line: int = 1
    kind: str = "workflow"  # "workflow" | "action" (composite/docker action) | "pipeline" | "template"
    name: str | None = None
    triggers: dict[str, int] = field(default_factory=dict)  # event -> line ("pull_request_target": 3)
    env: list[Binding] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    inputs: list[Binding] = field(default_factory=list)  # input defaults (workflow_call/dispatch, action inputs)
    secrets: list[SecretUse] = field(default_factory=list)  # pipeline-level references
    permissions: Permissions | None = None
    default_shell: str | None = None
    # True when variables defined in the CI settings reach scripts as environment variables without being
    # declared in the file (GitLab, CircleCI, Bitbucket): a secret-named `$VAR` read by a script is then a
    # secret in scope. False for GitHub Actions (secrets must be mapped explicitly).
    ambient_secrets: bool = False

    def all_secrets(self) -> Iterator[SecretUse]:
        yield from self.secrets
        for job in self.jobs:
            yield from job.all_secrets()


@dataclass(slots=True)
class CIDocument:
    system: CISystem
    pipelines: list[Pipeline] = field(default_factory=list)
    # repository files this one pulls in as more CI configuration (GitLab `include: local`), as written: paths
    # from the repository root, globs allowed; the scanner reads them as documents of the same system
    includes: list[str] = field(default_factory=list)


def secret_env(pipeline: Pipeline, job: Job, step: Step | None = None) -> dict[str, Binding]:
    """Environment variables that carry a secret into ``step`` (or the job), inner levels winning.

    A step-level ``TOKEN: plain`` shadows a job-level ``TOKEN: ${{ secrets.X }}``: only bindings whose
    effective value references a secret are returned.
    """
    effective: dict[str, Binding] = {}
    levels: list[list[Binding]] = [pipeline.env, job.env]
    if step is not None:
        levels.append(step.env)
    for bindings in levels:
        for binding in bindings:
            effective[binding.name] = binding
    return {name: b for name, b in effective.items() if b.secrets}


# ------------------------------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class ContextRef:
    """A reference to a context in an expression: ``secrets.NPM_TOKEN``, ``github.event.pull_request.head.sha``."""

    context: str  # lower case: "secrets", "github", "env", "vars", "inputs", "needs", "steps", "matrix"...
    path: tuple[str, ...]  # members as written ("NPM_TOKEN",); "*" for a dynamic index or a filter
    dynamic: bool = False  # an index computed at run time: secrets[matrix.name]
    functions: tuple[str, ...] = ()  # enclosing function calls, outermost first, lower case

    @property
    def dotted(self) -> str:
        return ".".join((self.context, *self.path))


@dataclass(frozen=True, slots=True)
class Expression:
    refs: tuple[ContextRef, ...] = ()
    functions: tuple[str, ...] = ()  # every function called, lower case

    def of(self, context: str) -> Iterator[ContextRef]:
        return (r for r in self.refs if r.context == context)

    def secret_uses(self, location: Location, via: Via, route: str = "", binding: str | None = None
                    ) -> Iterator[SecretUse]:
        """One :class:`SecretUse` per ``secrets`` reference (``github.token`` counts as GITHUB_TOKEN)."""
        for ref in self.refs:
            if ref.context == "github" and ref.path[:1] == ("token",):
                yield SecretUse("GITHUB_TOKEN", location, via, route, binding)
                continue
            if ref.context != "secrets":
                continue
            whole = not ref.path and not ref.dynamic
            name = ref.path[0] if ref.path and ref.path[0] != "*" else "*"
            yield SecretUse(
                name, location, via, route, binding, whole=whole, dynamic=ref.dynamic,
                unredacted="fromjson" in ref.functions,
                transformed=any(f in _REWRITING_FUNCTIONS for f in ref.functions),
            )


# Functions whose result is a rewritten form of a secret (Azure template expressions have these; GitHub's
# format()/toJSON() of a single secret keep the value intact, so masking still finds it).
_REWRITING_FUNCTIONS = frozenset({"replace", "upper", "lower", "split", "trim", "substring", "base64"})
_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d[\w.]*)"
    r"|(?P<ident>[A-Za-z_][\w-]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[.\[\](),!<>*])"
    r"|(?P<other>\S)"
    r")"
)
_LITERALS = frozenset({"true", "false", "null"})


@lru_cache(maxsize=4096)
def parse_expression(text: str) -> Expression:
    """Context references and function calls of an expression's inner text (``secrets.X``, ``toJSON(secrets)``).

    Tolerant: unknown syntax is skipped, never raised on. Index access with a string literal
    (``secrets['X']``) is a member; any other index (``secrets[matrix.name]``) is dynamic.
    """
    tokens: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        tokens.append((kind, m.group(kind)))
    refs: list[ContextRef] = []
    functions: list[str] = []
    stack: list[tuple[str, int]] = []  # (function, paren depth at its call)
    depth = 0
    i = 0
    n = len(tokens)
    while i < n:
        kind, value = tokens[i]
        if kind == "op" and value == "(":
            depth += 1
            i += 1
            continue
        if kind == "op" and value == ")":
            if stack and stack[-1][1] == depth:
                stack.pop()
            depth -= 1
            i += 1
            continue
        if kind != "ident" or (i > 0 and tokens[i - 1] == ("op", ".")):
            i += 1
            continue
        if i + 1 < n and tokens[i + 1] == ("op", "("):
            functions.append(value.lower())
            depth += 1
            stack.append((value.lower(), depth))
            i += 2
            continue
        if value.lower() in _LITERALS:
            i += 1
            continue
        path: list[str] = []
        dynamic = False
        j = i + 1
        while j < n:
            if tokens[j] == ("op", ".") and j + 1 < n and tokens[j + 1][0] in {"ident", "num"}:
                path.append(tokens[j + 1][1])
                j += 2
            elif tokens[j] == ("op", ".") and j + 1 < n and tokens[j + 1] == ("op", "*"):
                path.append("*")
                j += 2
            elif tokens[j] == ("op", "[") and j + 2 < n and tokens[j + 1][0] == "str" and tokens[j + 2] == ("op", "]"):
                path.append(tokens[j + 1][1][1:-1].replace("''", "'"))
                j += 3
            elif tokens[j] == ("op", "["):
                path.append("*")
                dynamic = True
                j += 1  # the index expression is read as ordinary tokens
                break
            else:
                break
        refs.append(ContextRef(value.lower(), tuple(path), dynamic, tuple(f for f, _ in stack)))
        i = j
    return Expression(tuple(refs), tuple(functions))
