"""The normalized model every parser produces and every rule reads.

A repository is a set of documents (one parsed file each). A document holds the *sites* where a secret
may live (an env assignment, a build arg, a variable, a config key, a file copied into an image...).
Each site's value is classified exactly once, by :func:`auditor.detect.values.classify`, as a literal,
a reference, a placeholder, an interpolation or empty; rules ask the model and never re-parse
``${{ secrets.X }}``, ``var.x`` or ``secretKeyRef`` themselves.

Secret values live only in :attr:`Value.text`, which is excluded from ``repr`` and never rendered by
any reporter: use :attr:`Value.redacted` or a fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DocKind(StrEnum):
    """What a file is. Parsers register themselves for one kind each."""

    DOCKERFILE = "dockerfile"
    COMPOSE = "compose"
    ENV_FILE = "env-file"
    GITIGNORE = "gitignore"
    DOCKERIGNORE = "dockerignore"
    TERRAFORM = "terraform"
    TFVARS = "tfvars"
    KUBERNETES = "kubernetes"
    KUSTOMIZATION = "kustomization"
    HELM_VALUES = "helm-values"
    GITHUB_WORKFLOW = "github-workflow"
    GITHUB_ACTION = "github-action"
    GITLAB_CI = "gitlab-ci"
    CIRCLECI = "circleci"
    BITBUCKET = "bitbucket"
    AZURE_PIPELINES = "azure-pipelines"
    FRONTEND_CONFIG = "frontend-config"
    CREDENTIAL_FILE = "credential-file"
    TEXT = "text"


class ValueKind(StrEnum):
    LITERAL = "literal"
    REFERENCE = "reference"  # points at a secret held elsewhere (CI secret, store, variable)
    PLACEHOLDER = "placeholder"  # "changeme", "<your-key>", "xxxx"...
    INTERPOLATED = "interpolated"  # a literal with references inside ("Bearer ${TOKEN}")
    EMPTY = "empty"


class RefKind(StrEnum):
    CI_SECRET = "ci-secret"  # ${{ secrets.X }}, GitLab masked variables...
    CI_CONTEXT = "ci-context"  # ${{ inputs.x }}, ${{ vars.X }}, ${{ env.X }}, << pipeline.parameters.x >>
    ENV_VAR = "env-var"  # $VAR, ${VAR}, $(VAR), %VAR%
    VARIABLE = "variable"  # var.x, local.x, data.x, module.x (Terraform)
    STORE = "store"  # secret-manager URIs, secretKeyRef, ExternalSecret...
    ENCRYPTED = "encrypted"  # SOPS ENC[...], SealedSecret, ansible-vault
    TEMPLATE = "template"  # unrendered {{ ... }} (Helm, Jinja)
    PATH = "path"  # an absolute file path (value of a *_FILE-style name)


class Phase(StrEnum):
    """When the value is in play; the leak surface differs."""

    BUILD = "build"  # baked into an image layer or its metadata
    RUNTIME = "runtime"
    CI = "ci"
    CLIENT = "client"  # inlined into a browser/mobile bundle
    PROVISION = "provision"  # infrastructure-as-code plan/apply


class SiteKind(StrEnum):
    ENV = "env"  # an environment variable assignment
    BUILD_ARG = "build-arg"
    VARIABLE = "variable"  # IaC / CI variable declaration
    CONFIG_KEY = "config-key"  # a key in a config map / values file / provider block
    SECRET_DATA = "secret-data"  # a key of a Secret-like object
    COPY = "copy"  # a file or directory copied into an image
    COMMAND = "command"  # a shell command (RUN, script step)
    OUTPUT = "output"


@dataclass(frozen=True, slots=True, order=True)
class Location:
    path: str  # posix, relative to the scan root ("-" for stdin)
    line: int  # 1-based
    column: int | None = None  # 1-based, where known
    end_line: int | None = None

    def __str__(self) -> str:
        col = f":{self.column}" if self.column else ""
        return f"{self.path}:{self.line}{col}"


@dataclass(frozen=True, slots=True)
class Value:
    """A classified value. ``text`` is the raw value: never print, log or serialize it."""

    text: str = field(repr=False)
    kind: ValueKind
    ref: RefKind | None = None
    ref_name: str | None = None  # "OPENAI_API_KEY" for ${{ secrets.OPENAI_API_KEY }}
    default: str | None = field(default=None, repr=False)  # literal default of ${VAR:-literal}

    @property
    def redacted(self) -> str:
        from auditor.redact import redact

        return redact(self.text)

    @property
    def is_literal(self) -> bool:
        return self.kind is ValueKind.LITERAL

    def __str__(self) -> str:  # never the secret itself
        return f"<{self.kind.value} {self.redacted}>"


@dataclass(frozen=True, slots=True)
class Site:
    """A place in a document where a secret may live."""

    kind: SiteKind
    name: str  # the key/variable name ("OPENAI_API_KEY"), or the path for COPY sites
    value: Value | None
    location: Location
    phase: Phase
    environment: str | None = None
    route: str = ""  # symbolic location, e.g. "services.web.environment.OPENAI_API_KEY"
    context: Mapping[str, str] = field(default_factory=dict)  # e.g. {"instruction": "ARG", "stage": "build"}


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A provider-format key (OpenAI, AWS, GitHub...) found in a file's raw text."""

    detector: str  # "openai", "aws-access-key-id", "private-key"...
    label: str  # "OpenAI API key"
    value: Value
    location: Location
    publishable: bool = False  # publishable-by-design (Stripe pk_, Supabase anon JWT)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem reading or parsing input. Messages never quote file content."""

    path: str
    line: int | None
    message: str
    level: str = "error"  # "error" (input lost) or "warning" (input read with a fallback)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Suppression:
    """An inline ``keyaudit: ignore[ID, ...] reason`` comment."""

    line: int
    rule_ids: frozenset[str]  # empty = every rule
    reason: str


@dataclass(slots=True)
class Document:
    path: str
    kind: DocKind
    environment: str | None = None
    sites: list[Site] = field(default_factory=list)
    keys: list[KeyMatch] = field(default_factory=list)
    suppressions: dict[int, Suppression] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    data: Any = None  # kind-specific parse result (e.g. a list of Dockerfile instructions)

    def sites_of(self, *kinds: SiteKind) -> Iterator[Site]:
        return (s for s in self.sites if s.kind in kinds)


IgnorePredicate = Callable[[str], bool]


@dataclass(slots=True)
class Repository:
    """Everything a rule may look at: parsed documents plus the inventory of files present."""

    root: str  # shown to users; the absolute path is never needed by rules
    documents: list[Document]
    files: frozenset[str]  # every file present below the root (relative posix paths)
    tracked: frozenset[str] | None = None  # `git ls-files` when the root is in a git work tree
    # the committed .gitignore rules (nested ones, and those above a scanned subdirectory); not local excludes
    git_ignored: IgnorePredicate = field(default=lambda _path: False)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)  # small repository-wide facts ("dotenv": evidence)
    _by_path: dict[str, Document] | None = field(default=None, repr=False, compare=False)

    def of_kind(self, *kinds: DocKind) -> Iterator[Document]:
        return (d for d in self.documents if d.kind in kinds)

    def document(self, path: str) -> Document | None:
        if self._by_path is None or len(self._by_path) != len(self.documents):
            self._by_path = {doc.path: doc for doc in self.documents}
        return self._by_path.get(path)

    def is_committed(self, path: str) -> bool:
        """Tracked by git, or (outside git / untracked) not ignored by the effective .gitignore rules."""
        if self.tracked is not None and path in self.tracked:
            return True
        return not self.git_ignored(path)
