"""The library entry point: ``scan(paths, config)`` builds the repository model and runs the rules.

Each file is read once, by :func:`auditor.loader.load`, in a pool of worker processes when the tree is
large enough for that to pay off.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from auditor import __version__
from auditor.config import Config
from auditor.environment import infer_environment
from auditor.findings import ScanResult, ScanStats
from auditor.loader import FileJob, FileOutcome, load, load_bytes
from auditor.model import Diagnostic, DocKind, Document, Repository
from auditor.parsers import kind_of, sniff_kind
from auditor.rules import RuleContext

PARALLEL_THRESHOLD = 48  # files; below this, worker start-up costs more than it saves
CHUNK = 32

ProgressCallback = Callable[[int, int], None]


class ScanError(Exception):
    """The scan could not start (missing path, unreadable root)."""


@dataclass(frozen=True, slots=True)
class ScanOptions:
    config: Config = field(default_factory=Config)
    jobs: int = 0  # 0 = one per CPU
    fingerprint_key: bytes | None = None
    baseline: frozenset[str] = frozenset()
    progress: ProgressCallback | None = None


def scan(target: str | Path, options: ScanOptions | None = None) -> ScanResult:
    """Scan a directory (or a single file) and return its findings."""
    options = options or ScanOptions()
    started = time.perf_counter()
    root = Path(target)
    if not root.exists():
        raise ScanError(f"{target}: no such file or directory")
    with _no_cyclic_gc():
        repo, stats = build_repository(root, options)
        result = evaluate(repo, options, stats)
    result.stats.seconds = time.perf_counter() - started
    return result


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Building the model allocates millions of small acyclic objects (and unpickles them from the workers): the
    cyclic collector's passes over them cost about a quarter of the scan and free nothing. Reference counting
    still frees everything; the collector is back on when the scan returns."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_text(name: str, raw: bytes, options: ScanOptions | None = None) -> ScanResult:
    """Scan content that is not on disk (``keyaudit scan -``); ``name`` picks the parser."""
    options = options or ScanOptions()
    started = time.perf_counter()
    kind = kind_of(name)
    if kind is DocKind.TEXT and "." not in name:  # no telling name (the default "stdin"): look at the content
        kind = sniff_kind(raw.decode("utf-8", "replace"))
    outcome = load_bytes(name, raw, kind, infer_environment(name, options.config.environments))
    docs = [outcome.document] if outcome.document else []
    repo = Repository(root="-", documents=docs, files=frozenset({name}), tracked=frozenset({name}),
                      diagnostics=list(outcome.diagnostics))
    stats = ScanStats(files_seen=1, files_scanned=1, documents_parsed=len(docs))
    result = evaluate(repo, options, stats)
    result.stats.seconds = time.perf_counter() - started
    return result


def evaluate(repo: Repository, options: ScanOptions, stats: ScanStats) -> ScanResult:
    from auditor import engine
    from auditor.policies import load_policies

    cfg = options.config
    # rules that only read live clusters belong to `keyaudit cluster`
    policies = [p for p in engine.selected(load_policies(), cfg.select, cfg.ignore) if set(p.targets) != {"cluster"}]
    ctx = RuleContext(
        client_prefixes=cfg.client_prefixes, extra_secret_names=cfg.secret_names, allowed_names=cfg.allowed_names,
        rotation_warn_days=cfg.rotation_warn_days, rotation_fail_days=cfg.rotation_fail_days,
    )
    key = options.fingerprint_key or b"keyaudit-v1"
    findings, rule_diags = engine.run(repo, policies, ctx, engine.EngineOptions(
        fingerprint_key=key, allow=cfg.allow, baseline=options.baseline))
    diagnostics = list(repo.diagnostics)
    for doc in repo.documents:
        diagnostics.extend(doc.diagnostics)
    diagnostics.extend(rule_diags)
    return ScanResult(root=repo.root, findings=findings, diagnostics=diagnostics, stats=stats,
                      tool_version=__version__, rules=tuple(p.id for p in policies))


def build_repository(root: Path, options: ScanOptions) -> tuple[Repository, ScanStats]:
    from auditor.inventory import git_tracked, walk

    cfg = options.config
    if root.is_file():
        base, inventory_files, diags = root.parent, [root.name], []
    else:
        base = root
        inventory = walk(root, cfg.exclude)
        inventory_files, diags = inventory.files, inventory.diagnostics
    stats = ScanStats(files_seen=len(inventory_files))
    files = frozenset(inventory_files)
    tracked = git_tracked(base)

    kinds = {p: kind_of(p) for p in inventory_files}  # decided once per file
    ignore_kinds = (DocKind.GITIGNORE, DocKind.DOCKERIGNORE)
    # ignore files first: they decide which of the other files are read at all
    ignore_jobs = [_job(base, p, kinds[p], cfg) for p in inventory_files if kinds[p] in ignore_kinds]
    documents: list[Document] = []
    facts: dict[str, object] = {}
    for outcome in map(load, ignore_jobs):
        _collect(outcome, documents, diags, stats, facts)
    git_ignored = _git_ignore_predicate(documents, _outer_gitignores(base) if tracked is not None else ("", []))

    pending = [p for p in inventory_files if kinds[p] not in ignore_kinds]
    if not cfg.include_ignored:
        kept = [p for p in pending if (tracked is not None and p in tracked) or not git_ignored(p)]
        stats.skipped_ignored = len(pending) - len(kept)
        pending = kept
    jobs = [_job(base, p, kinds[p], cfg) for p in pending]
    for outcome in _load_all(jobs, options):
        _collect(outcome, documents, diags, stats, facts)
    stats.files_scanned = len(ignore_jobs) + len(jobs) - stats.skipped_binary - stats.skipped_large
    documents = _with_included_ci(documents, files, base, cfg)
    documents.sort(key=lambda d: d.path)
    if cfg.namespace_environments:
        _map_namespaces(documents, cfg.namespace_environments)
    repo = Repository(root=str(root), documents=documents, files=files, tracked=tracked,
                      git_ignored=git_ignored, diagnostics=diags, facts=facts)
    return repo, stats


def _with_included_ci(documents: list[Document], files: frozenset[str], base: Path, cfg: Config) -> list[Document]:
    """Files a GitLab CI configuration includes (``include: local``), whatever their names, read as GitLab CI.

    Their names alone did not say so (``ci/deploy.yml``), so they were read as plain YAML; this second read is
    the one exception to reading each file once, and only included files pay it.
    """
    import fnmatch

    from auditor.parsers.ci_model import CIDocument

    wanted: set[str] = set()
    for doc in documents:
        if isinstance(doc.data, CIDocument):
            for include in doc.data.includes:
                pattern = include.lstrip("/")  # local includes are paths from the repository root
                wanted.update(f for f in files if f == pattern or fnmatch.fnmatchcase(f, pattern))
    by_path = {d.path: d for d in documents}
    missing = {p for p in wanted if p not in by_path or by_path[p].kind is not DocKind.GITLAB_CI}
    for path in sorted(missing):
        outcome = load(_job(base, path, DocKind.GITLAB_CI, cfg))
        if outcome.document is not None:
            by_path[path] = outcome.document
    return list(by_path.values())


def _map_namespaces(documents: list[Document], mapping: Mapping[str, str]) -> None:
    """Configured namespace -> environment mapping, for manifests whose path names no environment."""
    from dataclasses import replace

    from auditor.environment import namespace_environment

    for doc in documents:
        if doc.environment is not None:
            continue
        doc.sites = [
            replace(site, environment=namespace_environment(site.context["namespace"], mapping))
            if site.context.get("namespace") else site
            for site in doc.sites
        ]


def _job(base: Path, path: str, kind: DocKind, cfg: Config) -> FileJob:
    return FileJob(str(base), path, kind, infer_environment(path, cfg.environments),
                   int(cfg.max_file_size_mb * 1_000_000))


def _collect(outcome: FileOutcome, documents: list[Document], diags: list[Diagnostic], stats: ScanStats,
             facts: dict[str, object]) -> None:
    diags.extend(outcome.diagnostics)
    for name, value in outcome.facts.items():
        facts.setdefault(name, value)
    if outcome.skipped == "binary":
        stats.skipped_binary += 1
    elif outcome.skipped == "large":
        stats.skipped_large += 1
    if outcome.document is not None:
        documents.append(outcome.document)
        stats.documents_parsed += outcome.document.kind is not DocKind.TEXT


def _load_all(jobs: Sequence[FileJob], options: ScanOptions) -> Iterator[FileOutcome]:
    workers = options.jobs or os.cpu_count() or 1
    progress = options.progress
    if workers <= 1 or len(jobs) < PARALLEL_THRESHOLD:
        for i, job in enumerate(jobs, 1):
            yield load(job)
            if progress and i % CHUNK == 0:
                progress(i, len(jobs))
        return
    import multiprocessing

    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    done = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for batch in pool.map(_load_chunk, chunks):
            yield from batch
            done += len(batch)
            if progress:
                progress(done, len(jobs))


def _load_chunk(jobs: Sequence[FileJob]) -> list[FileOutcome]:
    return [load(job) for job in jobs]


def _git_ignore_predicate(documents: list[Document], outer: tuple[str, list[Document]]) -> Callable[[str], bool]:
    """Is a path (relative to the scan root) ignored by git?

    ``outer`` is the root's path inside its git work tree and the .gitignore files above the root (paths
    relative to the work tree's top): a monorepo's root .gitignore also governs ``services/api/``.
    """
    prefix, ancestors = outer
    gitignores = [d for d in documents if d.kind is DocKind.GITIGNORE]
    if not gitignores and not ancestors:
        return _never
    from dataclasses import replace

    from auditor.ignore import GitIgnore

    if not prefix:
        return GitIgnore.from_documents(gitignores)
    matcher = GitIgnore.from_documents([*ancestors, *(replace(d, path=prefix + d.path) for d in gitignores)])
    return lambda path: matcher.is_ignored(prefix + path)


def _outer_gitignores(base: Path) -> tuple[str, list[Document]]:
    """``base``'s path inside its git work tree ("" at the top) and the parsed .gitignore files above it."""
    from auditor.inventory import git_prefix
    from auditor.parsers.ignorefile import parse as parse_ignore

    found = git_prefix(base)
    if found is None or not found[1]:
        return "", []
    top, prefix = found
    docs = []
    parts = prefix.strip("/").split("/")
    for depth in range(len(parts)):
        rel = "/".join(parts[:depth])
        try:
            text = (top / rel / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        doc = Document(f"{rel}/.gitignore" if rel else ".gitignore", DocKind.GITIGNORE)
        parse_ignore(doc, text)
        docs.append(doc)
    return prefix, docs


def _never(_path: str) -> bool:
    return False


def repository_key(root: Path) -> bytes:
    """The default fingerprint key: stable for one repository (its root commit), so baselines survive clones.

    Set KEYAUDIT_FINGERPRINT_KEY to use a private key instead (then fingerprints cannot be checked against
    guessed values by anyone who lacks it).
    """
    env_key = os.environ.get("KEYAUDIT_FINGERPRINT_KEY")
    if env_key:
        return env_key.encode()
    from auditor.inventory import git_root_commit

    directory = root if root.is_dir() else root.parent
    commit = git_root_commit(directory)
    seed = commit or "keyaudit-v1"
    return hashlib.sha256(f"keyaudit-fingerprint:{seed}".encode()).digest()
