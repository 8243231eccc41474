"""Ignore-file coverage and committed secret-bearing files (rule catalog §4: IGN-02, IGN-04, IGN-05).

"Committed" is :meth:`Repository.is_committed`: tracked by git, or (outside git / untracked) not ignored by the
effective ignore rules. Every message says what to do and names files, keys and lines only.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from auditor.ignore import GIT_INFO_EXCLUDE, GitIgnore
from auditor.model import Confidence, DocKind, Document, Location, Repository, Severity
from auditor.rules import Hit, RuleContext

__all__ = [
    "DOTENV_PROBES",
    "DotenvUse",
    "credential_file_committed",
    "dotenv_use",
    "env_file_not_ignored",
    "terraform_state_committed",
    "uses_dotenv",
]

# --------------------------------------------------------------------------------------------------------------
# Does the project load .env files?

DOTENV_PROBES = (".env", ".env.local", ".env.production.local", "sub/.env")


@dataclass(frozen=True, slots=True)
class DotenvUse:
    """Why the project is taken to load ``.env`` files, and where that shows."""

    path: str
    line: int
    reason: str  # "a .env file", "the dotenv dependency", "compose env_file", "a Next.js config"...


_FRAMEWORK_CONFIGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^next\.config\.(?:js|cjs|mjs|ts|mts)$"), "Next.js"),
    (re.compile(r"^vite\.config\.(?:js|cjs|mjs|ts|mts|cts)$"), "Vite"),
    (re.compile(r"^nuxt\.config\.(?:js|mjs|ts)$"), "Nuxt"),
    (re.compile(r"^astro\.config\.(?:js|cjs|mjs|ts|mts)$"), "Astro"),
    (re.compile(r"^svelte\.config\.(?:js|cjs|mjs|ts)$"), "SvelteKit"),
    (re.compile(r"^gatsby-config\.(?:js|cjs|mjs|ts)$"), "Gatsby"),
    (re.compile(r"^vue\.config\.(?:js|cjs|mjs|ts)$"), "Vue CLI"),
)

# Packages that load .env files (or frameworks that do so on their own), per manifest.
_NPM_PACKAGES = frozenset({
    "dotenv", "dotenv-flow", "dotenv-expand", "dotenv-cli", "@dotenvx/dotenvx", "env-cmd", "react-scripts", "next",
    "vite", "nuxt", "astro", "@sveltejs/kit", "gatsby", "@vue/cli-service", "expo",
})
_PYTHON_PACKAGES = frozenset({"python-dotenv", "django-environ", "environs", "python-decouple", "dotenv"})
_RUBY_GEMS = frozenset({"dotenv", "dotenv-rails"})
_GO_MODULES = ("github.com/joho/godotenv", "github.com/subosito/gotenv")
_COMPOSER_PACKAGES = frozenset({"vlucas/phpdotenv", "symfony/dotenv", "laravel/framework"})
_CARGO_CRATES = frozenset({"dotenvy", "dotenv"})

_PY_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_GEM_LINE = re.compile(r"""^\s*gem\s+["']([\w.-]+)["']""")
_ENV_FILE_KEY = re.compile(r"^\s*env_file\s*:", re.M)


def _is_dotenv_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.")


def _py_name(requirement: str) -> str | None:
    m = _PY_REQUIREMENT.match(requirement)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m else None


def _line_of(text: str, needle: str) -> int:
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _package_json(path: str, text: str) -> DotenvUse | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for section in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        deps = data.get(section)
        if isinstance(deps, dict):
            for name in sorted(deps):
                if name in _NPM_PACKAGES:
                    return DotenvUse(path, _line_of(text, f'"{name}"'), f"the {name} dependency")
    return None


def _composer_json(path: str, text: str) -> DotenvUse | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for section in ("require", "require-dev"):
        deps = data.get(section)
        if isinstance(deps, dict):
            for name in sorted(deps):
                if name in _COMPOSER_PACKAGES:
                    return DotenvUse(path, _line_of(text, f'"{name}"'), f"the {name} dependency")
    return None


def _requirements(path: str, text: str) -> DotenvUse | None:
    for number, line in enumerate(text.splitlines(), 1):
        name = _py_name(line)
        if name in _PYTHON_PACKAGES:
            return DotenvUse(path, number, f"the {name} dependency")
    return None


def _pyproject(path: str, text: str) -> DotenvUse | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    names: list[str] = []
    project = data.get("project", {})
    if isinstance(project, dict):
        names += [str(r) for r in project.get("dependencies", []) or []]
        for group in (project.get("optional-dependencies") or {}).values():
            names += [str(r) for r in group or []]
    for group in (data.get("dependency-groups") or {}).values():
        names += [r for r in group or [] if isinstance(r, str)]
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    if isinstance(poetry, dict):
        names += list((poetry.get("dependencies") or {}).keys())
        names += list((poetry.get("dev-dependencies") or {}).keys())
        for group in (poetry.get("group") or {}).values():
            if isinstance(group, dict):
                names += list((group.get("dependencies") or {}).keys())
    for requirement in names:
        name = _py_name(requirement)
        if name in _PYTHON_PACKAGES:
            return DotenvUse(path, _line_of(text, name), f"the {name} dependency")
    return None


def _gemfile(path: str, text: str) -> DotenvUse | None:
    for number, line in enumerate(text.splitlines(), 1):
        m = _GEM_LINE.match(line)
        if m and m.group(1) in _RUBY_GEMS:
            return DotenvUse(path, number, f"the {m.group(1)} gem")
    return None


def _go_mod(path: str, text: str) -> DotenvUse | None:
    for number, line in enumerate(text.splitlines(), 1):
        for module in _GO_MODULES:
            if module in line.split("//", 1)[0]:
                return DotenvUse(path, number, f"the {module} module")
    return None


def _cargo(path: str, text: str) -> DotenvUse | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    for section in ("dependencies", "dev-dependencies", "build-dependencies"):
        deps = data.get(section)
        if isinstance(deps, dict):
            for name in sorted(deps):
                if name in _CARGO_CRATES:
                    return DotenvUse(path, _line_of(text, name), f"the {name} crate")
    return None


def _compose(path: str, text: str) -> DotenvUse | None:
    m = _ENV_FILE_KEY.search(text)
    if m is None:
        return None
    return DotenvUse(path, text.count("\n", 0, m.start()) + 1, "compose env_file")


def _manifest_reader(name: str) -> Callable[[str, str], DotenvUse | None] | None:
    lower = name.lower()
    if name == "package.json":
        return _package_json
    if name == "composer.json":
        return _composer_json
    if lower.startswith("requirements") and lower.endswith((".txt", ".in")):
        return _requirements
    if name == "pyproject.toml":
        return _pyproject
    if name in ("Gemfile", "gems.rb"):
        return _gemfile
    if name == "go.mod":
        return _go_mod
    if name == "Cargo.toml":
        return _cargo
    if "compose" in lower and lower.endswith((".yml", ".yaml")):
        return _compose
    return None


def manifest_dotenv(path: str, text: str) -> DotenvUse | None:
    """Dotenv evidence in one dependency manifest or compose file (the loader calls this as it reads files)."""
    reader = _manifest_reader(posixpath.basename(path))
    return reader(path, text) if reader is not None else None


def _by_name(files: Iterable[str]) -> DotenvUse | None:
    """Evidence visible from file names alone: a ``.env*`` file, or a framework config that loads ``.env``."""
    ordered = sorted(files, key=lambda p: (p.count("/"), p))
    for path in ordered:
        if _is_dotenv_file(posixpath.basename(path)):
            return DotenvUse(path, 1, f"the env file {path}")
    for path in ordered:
        name = posixpath.basename(path)
        for pattern, framework in _FRAMEWORK_CONFIGS:
            if pattern.match(name):
                return DotenvUse(path, 1, f"the {framework} config {path} (it loads .env files)")
    return None


def uses_dotenv(files: Iterable[str], read: Callable[[str], str | None]) -> DotenvUse | None:
    """Whether the project loads ``.env`` files, and the first evidence of it.

    Looks at file names (any ``.env``/``.env.*`` file; Next, Vite, Nuxt, Astro, SvelteKit, Gatsby, Vue CLI
    configs), then reads dependency manifests (``package.json``, ``requirements*.txt``, ``pyproject.toml``,
    ``Gemfile``, ``go.mod``, ``composer.json``, ``Cargo.toml``) and compose files (``env_file:``) through
    ``read(path)``, which returns the text or None. For the scanner: the result is the ``dotenv`` fact of the model.
    """
    files = list(files)
    found = _by_name(files)
    if found is not None:
        return found
    for path in sorted(files, key=lambda p: (p.count("/"), p)):
        reader = _manifest_reader(posixpath.basename(path))
        if reader is None:
            continue
        try:
            text = read(path)
        except (OSError, UnicodeDecodeError):
            continue
        if text is None:
            continue
        found = reader(path, text)
        if found is not None:
            return found
    return None


def dotenv_use(repo: Repository) -> DotenvUse | None:
    """Evidence from the model: env-file documents and file names, then the ``dotenv`` fact when the scanner
    records one (``repo.facts["dotenv"]``, from :func:`uses_dotenv` over the manifests)."""
    env_docs = sorted(repo.of_kind(DocKind.ENV_FILE), key=lambda d: (d.path.count("/"), d.path))
    for doc in env_docs:
        if _is_dotenv_file(posixpath.basename(doc.path)):
            return DotenvUse(doc.path, 1, f"the env file {doc.path}")
    found = _by_name(repo.files)
    if found is not None:
        return found
    facts = getattr(repo, "facts", None)
    if isinstance(facts, Mapping):
        fact = facts.get("dotenv")
        if isinstance(fact, DotenvUse):
            return fact
    return None


# --------------------------------------------------------------------------------------------------------------
# IGN-02 env-file-not-ignored


def _first_pattern_line(doc: Document) -> int:
    data = doc.data
    if isinstance(data, list) and data:
        return int(data[0][0])
    return 1


def env_file_not_ignored(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """IGN-02: the project loads .env files but the shared .gitignore rules do not ignore them."""
    use = dotenv_use(repo)
    if use is None:
        return
    ignore_docs = list(repo.of_kind(DocKind.GITIGNORE))
    shared = GitIgnore.from_documents(d for d in ignore_docs if d.path != GIT_INFO_EXCLUDE)
    # repo.git_ignored also knows the .gitignore files above a scanned subdirectory of a work tree
    exposed = [probe for probe in DOTENV_PROBES if not shared.is_ignored(probe) and not repo.git_ignored(probe)]
    if not exposed:
        return

    # Re-included by a "!" pattern? Point at it: that is the line to fix.
    negation = next((d for d in map(shared.explain, exposed) if d is not None and d.negated), None)
    root = repo.document(".gitignore")
    if negation is not None:
        location = Location(negation.source, negation.line)
    elif root is not None:
        location = Location(root.path, _first_pattern_line(root))
    else:
        location = Location(use.path, use.line)

    local = GitIgnore.from_documents(ignore_docs)
    local_only = all(local.is_ignored(p) or repo.git_ignored(p) for p in exposed)
    names = ", ".join(exposed)
    where = "the root .gitignore" if root is not None else "a root .gitignore (there is none)"
    fix = (f"add `.env` and `.env*.local` (or `.env*` followed by `!.env.example`) to {where}, and "
           "`git rm --cached` any env file already committed")
    if negation is not None:
        fix = f"remove or narrow the `!` pattern at {negation.source}:{negation.line} that re-includes them, or " + fix
    if local_only:
        message = (f"The project loads .env files ({use.reason}) and {names} are ignored only by this clone's "
                   f"local excludes (.git/info/exclude or core.excludesFile), which other clones do not share: {fix}")
        yield Hit(location, message, severity=Severity.INFO, confidence=Confidence.MEDIUM, name="dotenv")
        return
    message = (f"The project loads .env files ({use.reason}) but git does not ignore {names}: "
               f"a new .env with real keys would be committed by the next `git add .`; {fix}")
    yield Hit(location, message, name="dotenv")


# --------------------------------------------------------------------------------------------------------------
# IGN-04 terraform-state-committed

_TF_STATE = re.compile(r"\.tfstate(?:\.[^/]*)?$")
_TF_PLAN = re.compile(r"(?:^|\.)tfplan(?:\.json)?$")
_TF_LOCK_INFO = ".tfstate.lock.info"  # a local lock record: no state inside


def _terraform_dir(path: str) -> str | None:
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == ".terraform":
            return "/".join(parts[: i + 1])
    return None


def terraform_state_committed(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """IGN-04: committed Terraform state, state backups, saved plans and ``.terraform/`` directories."""
    terraform_dirs: dict[str, list[str]] = {}
    for path in sorted(repo.files):
        tf_dir = _terraform_dir(path)
        if tf_dir is not None:
            if repo.is_committed(path):
                terraform_dirs.setdefault(tf_dir, []).append(path)
            continue
        name = posixpath.basename(path)
        if _TF_STATE.search(name) and not name.endswith(_TF_LOCK_INFO):
            what = "a Terraform state backup" if ".tfstate." in name else "a Terraform state file"
            patterns = "`*.tfstate` and `*.tfstate.*`"
        elif _TF_PLAN.search(name):
            what = "a saved Terraform plan"
            patterns = "`*.tfplan.json`" if name.endswith(".json") else "`*.tfplan` and `tfplan`"
        else:
            continue
        if not repo.is_committed(path):
            continue
        yield Hit(
            Location(path, 1),
            f"{path} is {what} committed to git: it holds every resource attribute in plaintext, passwords, "
            f"keys and tokens included. Rotate the secrets it contains, `git rm --cached {path}`, add {patterns} "
            "to .gitignore, and keep state in an encrypted remote backend",
            name=name,
        )
    for tf_dir, paths in sorted(terraform_dirs.items()):
        state = f"{tf_dir}/terraform.tfstate"
        primary = state if state in paths else paths[0]
        yield Hit(
            Location(primary, 1),
            f"{len(paths)} file(s) under {tf_dir}/ are committed: this working directory holds the backend "
            "configuration (credentials included when they were given on the command line), downloaded providers "
            f"and modules. `git rm -r --cached {tf_dir}`, add `.terraform/` to .gitignore, and rotate any backend "
            "credential it held",
            name=".terraform",
        )


# --------------------------------------------------------------------------------------------------------------
# IGN-05 credential-file-committed

_CREDENTIAL_KIND = "credential-file"  # DocKind value of auditor.parsers.credfile documents

_ADVICE: dict[str, tuple[str, str]] = {
    # credential type: (what the file is, what to use instead)
    "npmrc": ("npm config", "keep `_authToken=${NPM_TOKEN}` in the committed file and supply the token from the "
                            "environment or a CI secret"),
    "pypirc": ("PyPI upload config", "use `TWINE_PASSWORD`/trusted publishing instead of a stored password"),
    "netrc": ("netrc login file", "keep it in your home directory, outside the repository"),
    "git-credentials": ("git credential store", "use a credential helper; never store it in a repository"),
    "docker-config": ("Docker client config", "use `docker login` with a credential helper (credsStore)"),
    "aws-credentials": ("AWS shared credentials file", "use SSO, instance/IRSA roles or OIDC instead of static keys"),
    "kubeconfig": ("kubeconfig", "use exec-based auth (cloud CLI, OIDC) instead of embedded tokens and keys"),
    "google-json": ("Google credential JSON", "use workload identity federation or attached service accounts"),
    "private-key": ("private key", "load it from a secret store or mount it at runtime"),
    "pkcs12": ("PKCS#12 key store", "load it from a secret store or mount it at runtime"),
}


def _credential_docs(repo: Repository) -> Iterator[Document]:
    # Compared by value so the rule works before DocKind.CREDENTIAL_FILE exists (it then finds nothing).
    return (doc for doc in repo.documents if str(doc.kind.value) == _CREDENTIAL_KIND)


def credential_file_committed(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """IGN-05: a committed credential file that holds a literal secret."""
    for doc in _credential_docs(repo):
        if not repo.is_committed(doc.path):
            continue
        cred_type = doc.data.get("type", "private-key") if isinstance(doc.data, dict) else "private-key"
        label, instead = _ADVICE.get(str(cred_type), _ADVICE["private-key"])
        for site in doc.sites:
            if site.value is None or not site.value.is_literal:
                continue
            what = "an unencrypted private key" if site.name == "private-key" else f"a literal `{site.name}`"
            yield Hit(
                site.location,
                f"{doc.path} ({label}) is committed with {what}: revoke and rotate the credential first, then "
                f"`git rm --cached {doc.path}`, add it to .gitignore and purge it from history; {instead}",
                value=site.value,
                confidence=Confidence.MEDIUM if site.name == "pkcs12" else None,
                name=site.name,
                route=site.route or None,
            )
