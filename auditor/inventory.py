"""Lists the files below a scan root: no symlink is followed, nothing outside the root is read."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.model import Diagnostic

# Directories whose content is never a source of truth for secret hygiene and can be huge.
SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
                       ".pytest_cache", ".ruff_cache", ".hg", ".svn"})


@dataclass(slots=True)
class Inventory:
    files: list[str] = field(default_factory=list)  # relative posix paths, sorted
    diagnostics: list[Diagnostic] = field(default_factory=list)


def walk(root: Path, excludes: Sequence[str] = ()) -> Inventory:
    import pathspec

    spec = pathspec.PathSpec.from_lines("gitignore", excludes) if excludes else None
    inv = Inventory()
    real_root = os.path.realpath(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else str(root)
        try:
            entries = list(os.scandir(abs_dir))
        except OSError as exc:
            inv.diagnostics.append(Diagnostic(rel_dir or ".", None, f"cannot list directory ({_reason(exc)})"))
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    _note_symlink(entry, rel, real_root, inv)
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                inv.diagnostics.append(Diagnostic(rel, None, f"cannot stat ({_reason(exc)})", "warning"))
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or (spec and spec.match_file(rel + "/")):
                    continue
                stack.append(rel)
            elif entry.is_file(follow_symlinks=False) and not (spec and spec.match_file(rel)):
                inv.files.append(rel)
    inv.files.sort()
    return inv


def _note_symlink(entry: os.DirEntry[str], rel: str, real_root: str, inv: Inventory) -> None:
    """Symlinks are never followed; say so when the link leaves the root, loops or dangles."""
    try:
        os.stat(entry.path)
    except OSError as exc:
        what = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
        inv.diagnostics.append(Diagnostic(rel, None, f"{what}; not followed", "warning"))
        return
    target = os.path.realpath(entry.path)
    if os.path.commonpath([real_root, target]) != real_root:
        message = "symlink points outside the scanned root; not followed"
        inv.diagnostics.append(Diagnostic(rel, None, message, "warning"))


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def git_tracked(root: Path) -> frozenset[str] | None:
    """Paths tracked by git below ``root`` (relative to it), or None when ``root`` is not in a work tree."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", "."],
            capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return frozenset(p.decode("utf-8", "surrogateescape") for p in out.stdout.split(b"\0") if p)


def git_prefix(root: Path) -> tuple[Path, str] | None:
    """The work tree's top level and ``root``'s path inside it ("" at the top, "services/api/" below it)."""
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "--show-prefix"],
                             capture_output=True, timeout=30, check=False, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.splitlines()
    if out.returncode != 0 or not lines:
        return None
    return Path(lines[0]), lines[1] if len(lines) > 1 else ""


def git_root_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-list", "--max-parents=0", "HEAD"],
                             capture_output=True, timeout=30, check=False, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    return lines[-1] if out.returncode == 0 and lines else None
