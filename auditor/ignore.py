"""Effective ``.gitignore`` and ``.dockerignore`` semantics.

:class:`GitIgnore` reproduces what ``git check-ignore --no-index`` decides for a path from every ``.gitignore``
of a tree plus ``.git/info/exclude``: patterns apply to the directory holding their file, deeper files take
precedence over shallower ones, the last matching pattern of a file wins, ``!`` re-includes, a trailing ``/``
restricts a pattern to directories, a pattern with a slash other than a trailing one is anchored to its
file's directory, and nothing below an excluded directory can be re-included (git never descends into it, so
the ``.gitignore`` files down there are never read either). Translating one wildmatch pattern into a regular
expression is left to :mod:`pathspec` (the git-compatible implementation); this module only turns its
"path or any descendant" expressions into exact ones and implements git's per-directory walk.

:class:`DockerIgnore` reproduces moby/patternmatcher as used by BuildKit for the build context: patterns are
relative to the context root (``.env`` does not match ``sub/.env``; ``**/.env`` does), a leading ``/`` and
``.``/``..`` segments are cleaned away, ``*`` and ``?`` do not cross ``/``, ``**`` crosses any number of
directories, a pattern also matches everything below a matching directory, ``!`` re-includes (even inside an
excluded directory) and the last matching pattern wins.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathspec.patterns.gitignore.base import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

if TYPE_CHECKING:
    from auditor.model import Document

__all__ = [
    "DockerIgnore",
    "GitIgnore",
    "IgnorePattern",
    "effective_dockerignore",
    "git_pattern_usable",
    "pattern_lines",
]

GIT_INFO_EXCLUDE = ".git/info/exclude"
_BOM = "\ufeff"


def pattern_lines(text: str) -> list[tuple[int, str]]:
    """The lines of an ignore file that may hold a pattern: 1-based line number and the line as written.

    Drops a UTF-8 BOM, the ``\\r`` of CRLF line ends, blank lines and lines starting with ``#`` (a comment in
    both formats; note that ``.dockerignore`` tests for ``#`` *before* trimming, so `` # x`` is a pattern there).
    Lines are split on ``\\n`` only, as git and Go's line scanner do.
    """
    if text.startswith(_BOM):
        text = text[1:]
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip() or line.startswith("#"):
            continue
        out.append((number, line))
    return out


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One compiled pattern and where it was written (for messages)."""

    source: str  # the ignore file, relative posix path
    line: int
    pattern: str  # as written (minus the line end)
    negated: bool  # a "!" pattern: re-includes
    dir_only: bool  # a trailing "/": matches directories only


# --------------------------------------------------------------------------------------------------------------
# .gitignore


def _git_trim(line: str) -> str:
    """Git strips trailing spaces (only spaces) unless the last one is escaped with a backslash."""
    end = len(line)
    while end > 0 and line[end - 1] == " ":
        backslashes = 0
        i = end - 2
        while i >= 0 and line[i] == "\\":
            backslashes += 1
            i -= 1
        if backslashes % 2 == 1:
            break
        end -= 1
    return line[:end]


_DIR_MARK_TAIL = "(?P<ps_d>/)"
_PLACEHOLDER = 0xF0000  # supplementary private use area: never in a real pattern
_OPT_DIR_MARK_TAIL = "(?:(?P<ps_d>/)|$)"


def _exact_regex(body: str, pathspec_regex: str) -> tuple[str, bool] | None:
    """Turn pathspec's "this path or anything below it" expression into an exact one.

    ``body`` is the pattern without its ``!``. Returns the exact expression (anchored at both ends) and
    whether the pattern only matches directories, or ``None`` for a shape this module does not know (the
    pattern is then skipped, as git skips patterns it cannot parse).
    """
    dir_pattern = body.endswith("/")
    if pathspec_regex == ".":  # "*", "**": every path
        return r"(?s:.+)\Z", False
    if pathspec_regex == _DIR_MARK_TAIL:  # "*/", "**/": every directory
        return r"(?s:.+)\Z", True
    if pathspec_regex == "/":  # "**/*/**": every path at least two levels deep
        return r"(?s:.+/.+)\Z", False
    if not pathspec_regex.startswith("^"):
        return None
    if pathspec_regex.endswith(_OPT_DIR_MARK_TAIL):  # ends with a glob segment: file or directory
        return pathspec_regex[: -len(_OPT_DIR_MARK_TAIL)] + r"\Z", False
    if pathspec_regex.endswith(_DIR_MARK_TAIL):  # "x/" and "x/**/" (pathspec folds both into one shape)
        head = pathspec_regex[: -len(_DIR_MARK_TAIL)]
        if body.rstrip("/").endswith("/**"):  # "x/**/": directories strictly below x
            return head + r"/(?s:.+)\Z", True
        return head + r"\Z", True
    if pathspec_regex.endswith("/"):  # "x/**": everything strictly below x
        return pathspec_regex + r"(?s:.+)\Z", dir_pattern
    return None


def _compile_git_pattern(source: str, line: int, text: str) -> tuple[IgnorePattern, str] | None:
    trimmed = _git_trim(text)
    if not trimmed or trimmed.startswith("#"):
        return None
    # Git keeps trailing whitespace other than spaces (a tab); pathspec strips it. Hide it behind private-use
    # placeholders while pathspec translates, then put the escaped characters back.
    kept = len(trimmed) - len(trimmed.rstrip())
    if trimmed.endswith("\\ "):
        kept = 0
    tail = trimmed[len(trimmed) - kept :] if kept else ""
    masked = trimmed[: len(trimmed) - kept] + "".join(chr(_PLACEHOLDER + i) for i in range(kept))
    try:
        with warnings.catch_warnings():  # "possible nested set" for "[[" and friends: git reads them literally
            warnings.simplefilter("ignore", FutureWarning)
            compiled = GitIgnoreSpecPattern(masked)
    except (GitIgnorePatternError, ValueError, re.error):
        return None  # a lone "!", a reversed range...: git never matches these
    if compiled.include is None or compiled.regex is None:
        return None  # comment, "/", invalid range: git drops these
    negated = not compiled.include
    body = trimmed[1:] if negated else trimmed
    if body.endswith("\\"):
        return None  # a trailing backslash never matches in git
    exact = _exact_regex(body, compiled.regex.pattern)
    if exact is None:
        return None
    regex, dir_only = exact
    for i, ch in enumerate(tail):
        regex = regex.replace(re.escape(chr(_PLACEHOLDER + i)), re.escape(ch))
    if "(?P<" in regex:
        return None
    return IgnorePattern(source, line, text, negated, dir_only), regex


_ANY_PREFIX = "^(?:.+/)?"


def _alternation(alts: list[tuple[int, str]]) -> re.Pattern[str] | None:
    """One expression trying the patterns last-first, so the first alternative to match is the deciding one."""
    if not alts:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile("|".join(f"(?P<p{index}>{regex})" for index, regex in reversed(alts)))


def git_pattern_usable(text: str) -> bool:
    """Whether a ``.gitignore`` pattern line can match anything (not a lone ``!``, ``/``, an invalid range or a
    pattern ending in an unescaped backslash)."""
    return _compile_git_pattern("", 0, text) is not None


class _PatternList:
    """The patterns of one ignore file, matched against paths relative to the file's directory.

    Patterns without a slash (the common case: ``*.log``, ``.env``, ``node_modules/``) only ever look at the
    last path component, so they are folded into alternations matched against the basename, with the answers
    cached per basename; the other patterns are folded into alternations matched against the relative path.
    Each alternation lists the patterns last-first, so a single ``re.match`` finds the last matching pattern.
    """

    __slots__ = ("_base", "_base_cache", "_path", "_patterns")

    def __init__(self, source: str, lines: Iterable[tuple[int, str]]) -> None:
        self._patterns: list[IgnorePattern] = []
        base: dict[bool, list[tuple[int, str]]] = {False: [], True: []}
        path: dict[bool, list[tuple[int, str]]] = {False: [], True: []}
        for line, text in lines:
            compiled = _compile_git_pattern(source, line, text)
            if compiled is None:
                continue
            pattern, regex = compiled
            index = len(self._patterns)
            self._patterns.append(pattern)
            body = pattern.pattern[1:] if pattern.negated else pattern.pattern
            target = path
            if regex.startswith(_ANY_PREFIX) and "/" not in _git_trim(body).rstrip("/"):
                regex = "^" + regex[len(_ANY_PREFIX) :]
                target = base
            target[True].append((index, regex))
            if not pattern.dir_only:
                target[False].append((index, regex))
        self._base = {is_dir: _alternation(alts) for is_dir, alts in base.items()}
        self._path = {is_dir: _alternation(alts) for is_dir, alts in path.items()}
        self._base_cache: dict[tuple[str, bool], int] = {}

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def match(self, rel: str, is_dir: bool) -> IgnorePattern | None:
        best = -1
        regex = self._base[is_dir]
        if regex is not None:
            name = rel[rel.rfind("/") + 1 :]
            key = (name, is_dir)
            cached = self._base_cache.get(key)
            if cached is None:
                m = regex.match(name)
                cached = int(m.lastgroup[1:]) if m is not None and m.lastgroup is not None else -1
                self._base_cache[key] = cached
            best = cached
        regex = self._path[is_dir]
        if regex is not None:
            m = regex.match(rel)
            if m is not None and m.lastgroup is not None:
                best = max(best, int(m.lastgroup[1:]))
        return self._patterns[best] if best >= 0 else None


_UNCLEAN = re.compile(r"(?:^|/)\.{1,2}(?:/|$)|//|^/|/$")


def _normalize(path: str) -> tuple[str, bool]:
    """A clean relative posix path, and whether it was written with a trailing slash."""
    if path and _UNCLEAN.search(path) is None:
        return path, False
    trailing = path.endswith("/")
    path = posixpath.normpath(path).lstrip("/") if path else ""
    return ("" if path == "." else path), trailing


def _dirname(path: str) -> str:
    i = path.rfind("/")
    return path[:i] if i >= 0 else ""


class GitIgnore:
    """The effective ignore rules of a tree: every ``.gitignore`` plus ``.git/info/exclude``.

    Paths are posix paths relative to the tree root (the work tree top). Global excludes
    (``core.excludesFile``) are deliberately left out: they differ per machine.
    """

    __slots__ = ("_chains", "_dir_cache", "_exclude", "_root_tail", "_sources")

    def __init__(self, sources: Mapping[str, Iterable[tuple[int, str]]]) -> None:
        """``sources`` maps an ignore file's relative path to its ``(line, pattern)`` lines.

        ``<dir>/.gitignore`` applies below ``<dir>``; ``.git/info/exclude`` applies to the whole tree with the
        lowest precedence. Other paths are ignored.
        """
        self._sources: dict[str, _PatternList] = {}
        self._exclude: _PatternList | None = None
        for raw_path, lines in sources.items():
            path, _ = _normalize(raw_path)
            if path == GIT_INFO_EXCLUDE:
                self._exclude = _PatternList(path, lines) or None
            elif posixpath.basename(path) == ".gitignore":
                plist = _PatternList(path, lines)
                if plist:
                    self._sources[_dirname(path)] = plist
        self._dir_cache: dict[str, IgnorePattern | None] = {}
        self._chains: dict[str, tuple[tuple[int, _PatternList], ...]] = {}
        self._root_tail: tuple[tuple[int, _PatternList], ...] = ((0, self._exclude),) if self._exclude else ()

    @classmethod
    def from_texts(cls, items: Iterable[tuple[str, str]]) -> GitIgnore:
        """Build from ``(relative path of the ignore file, its text)`` pairs."""
        return cls({path: pattern_lines(text) for path, text in items})

    @classmethod
    def from_documents(cls, documents: Iterable[Document]) -> GitIgnore:
        """Build from parsed GITIGNORE documents (``doc.data`` is the ``(line, pattern)`` list of the parser)."""
        sources: dict[str, Sequence[tuple[int, str]]] = {}
        for doc in documents:
            data = doc.data
            if isinstance(data, list):
                sources[doc.path] = [(int(n), str(p)) for n, p in data]
        return cls(sources)

    @property
    def sources(self) -> tuple[str, ...]:
        """The ignore files that hold at least one pattern."""
        files = [posixpath.join(d, ".gitignore") for d in self._sources]
        if self._exclude is not None:
            files.append(GIT_INFO_EXCLUDE)
        return tuple(sorted(files))

    def _chain(self, directory: str) -> tuple[tuple[int, _PatternList], ...]:
        """The pattern lists that apply to entries of ``directory``, deepest first, with the length of the prefix
        to strip from a path to make it relative to each list's directory. Cached per directory."""
        chain = self._chains.get(directory)
        if chain is None:
            own = self._sources.get(directory)
            head = ((len(directory) + 1 if directory else 0, own),) if own is not None else ()
            rest = self._chain(_dirname(directory)) if directory else self._root_tail
            chain = head + rest
            self._chains[directory] = chain
        return chain

    def _own_decision(self, path: str, is_dir: bool) -> IgnorePattern | None:
        """The last pattern matching ``path`` itself: deepest ignore file first, ``.git/info/exclude`` last."""
        for cut, plist in self._chain(_dirname(path)):
            found = plist.match(path[cut:], is_dir)
            if found is not None:
                return found
        return None

    def _excluded_dir(self, directory: str) -> IgnorePattern | None:
        """The pattern excluding ``directory`` or one of its ancestors, or None. Cached per directory."""
        try:
            return self._dir_cache[directory]
        except KeyError:
            pass
        parent = _dirname(directory)
        result = self._excluded_dir(parent) if parent else None
        if result is None:
            own = self._own_decision(directory, True)
            result = own if own is not None and not own.negated else None
        self._dir_cache[directory] = result
        return result

    def explain(self, path: str, *, is_dir: bool = False) -> IgnorePattern | None:
        """The deciding pattern for ``path``: the one excluding an ancestor directory, else the last pattern
        matching the path itself (possibly a ``!`` pattern that re-includes it), else None."""
        path, trailing = _normalize(path)
        if not path:
            return None
        parent = _dirname(path)
        if parent:
            excluded = self._excluded_dir(parent)
            if excluded is not None:
                return excluded
        return self._own_decision(path, is_dir or trailing)

    def is_ignored(self, path: str, *, is_dir: bool = False) -> bool:
        """Whether git would ignore ``path`` (posix, relative to the root; a trailing ``/`` implies a directory)."""
        found = self.explain(path, is_dir=is_dir)
        return found is not None and not found.negated

    def matching_source(self, path: str, *, is_dir: bool = False) -> tuple[str, int] | None:
        """Ignore file and line of the deciding pattern (see :meth:`explain`), for messages."""
        found = self.explain(path, is_dir=is_dir)
        return None if found is None else (found.source, found.line)

    def __call__(self, path: str) -> bool:
        """A :data:`auditor.model.IgnorePredicate` for files."""
        return self.is_ignored(path)


# --------------------------------------------------------------------------------------------------------------
# .dockerignore


def go_clean(path: str) -> str:
    """Go's ``path.Clean``: the shortest equivalent path (``""`` gives ``"."``)."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


class DockerIgnoreError(ValueError):
    """The pattern would make ``docker build`` fail before sending the context."""


def _go_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the Go ``filepath.Match`` character class at ``pattern[start] == "["``.

    Returns the Python class and the index after its ``]``; raises :class:`DockerIgnoreError` on the syntax Go
    rejects (``ErrBadPattern``).
    """
    i = start + 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    parts: list[str] = []
    ranges = 0

    def escaped_char(j: int) -> tuple[str, int]:
        if j >= len(pattern) or pattern[j] in "-]":
            raise DockerIgnoreError("bad character class")
        if pattern[j] == "\\":
            j += 1
            if j >= len(pattern):
                raise DockerIgnoreError("bad escape in character class")
        if j + 1 >= len(pattern):
            raise DockerIgnoreError("unterminated character class")
        return pattern[j], j + 1

    while True:
        if i < len(pattern) and pattern[i] == "]" and ranges > 0:
            i += 1
            break
        lo, i = escaped_char(i)
        hi = lo
        if pattern[i] == "-":
            hi, i = escaped_char(i + 1)
        parts.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
        ranges += 1
    return "[" + ("^" if negated else "") + "".join(parts) + "]", i


@dataclass(frozen=True, slots=True)
class _DockerPattern:
    meta: IgnorePattern
    cleaned: str
    kind: str  # "exact" | "prefix" | "suffix" | "regex"
    regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


_REGEX_SPECIAL = frozenset(".+()|{}$")


def _compile_docker(cleaned: str) -> tuple[str, re.Pattern[str] | None]:
    """moby/patternmatcher ``Pattern.compile``: the match type and, for ``regex``, the expression."""
    out = ["^"]
    kind = "exact"
    i = 0
    n = len(cleaned)
    first = True
    while i < n:
        ch = cleaned[i]
        i += 1
        if ch == "*":
            if i < n and cleaned[i] == "*":
                i += 1
                if i < n and cleaned[i] == "/":
                    i += 1
                if i >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        out.append(".*")
                        kind = "regex"
                else:
                    out.append("(?:.*/)?")
                    kind = "regex"
                if first:
                    kind = "suffix"
            else:
                out.append("[^/]*")
                kind = "regex"
        elif ch == "?":
            out.append("[^/]")
            kind = "regex"
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\\":
            if i < n:
                out.append(re.escape(cleaned[i]))
                i += 1
                kind = "regex"
            else:
                out.append("\\\\")
        elif ch == "[":
            cls, i = _go_class(cleaned, i - 1)
            out.append(cls)
            kind = "regex"
        elif ch == "]":
            out.append("\\]")
            kind = "regex"
        else:
            out.append(re.escape(ch))
        first = False
    if kind != "regex":
        return kind, None
    out.append(r"\Z")
    try:
        return kind, re.compile("".join(out))
    except re.error:  # e.g. a reversed range "[z-a]": Go's regexp rejects it too, failing the build
        raise DockerIgnoreError("invalid character range") from None


def _validate_go_match(pattern: str) -> None:
    """Reject what Go's ``filepath.Match(pattern, ".")`` rejects (docker then refuses the build)."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise DockerIgnoreError("trailing backslash")
            i += 2
        elif ch == "[":
            _, i = _go_class(pattern, i)
        else:
            i += 1


def _docker_clean_line(line: str) -> str | None:
    """``ignorefile.ReadAll`` for one line: None for a comment or blank line, else the normalized pattern."""
    if line.startswith("#"):
        return None
    pattern = line.strip()
    if not pattern:
        return None
    invert = pattern.startswith("!")
    if invert:
        pattern = pattern[1:].strip()
    if pattern:
        pattern = go_clean(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    return "!" + pattern if invert else pattern


class DockerIgnore:
    """The patterns of one ``.dockerignore`` and moby's ``MatchesOrParentMatches`` over them.

    ``error`` is set (and nothing is excluded) when docker would refuse the file: a lone ``!`` or a pattern Go's
    ``filepath.Match`` rejects. Such a build fails before any file is sent.
    """

    __slots__ = ("_patterns", "error", "error_line", "path")

    def __init__(self, path: str, lines: Iterable[tuple[int, str]]) -> None:
        self.path = path
        self.error: str | None = None
        self.error_line: int | None = None
        self._patterns: list[_DockerPattern] = []
        for number, text in lines:
            cleaned = _docker_clean_line(text)
            if cleaned is None:
                continue
            try:
                self._patterns.append(self._compile(path, number, text, cleaned))
            except DockerIgnoreError as exc:
                self.error, self.error_line = str(exc), number
                self._patterns = []
                return

    @staticmethod
    def _compile(path: str, number: int, text: str, cleaned: str) -> _DockerPattern:
        # patternmatcher.New: trim, Clean, then split off "!".
        p = go_clean(cleaned.strip())
        negated = p.startswith("!")
        if negated:
            if len(p) == 1:
                raise DockerIgnoreError('illegal exclusion pattern "!"')
            p = p[1:]
        _validate_go_match(p)
        kind, regex = _compile_docker(p)
        meta = IgnorePattern(path, number, text, negated, False)
        return _DockerPattern(meta, p, kind, regex)

    @classmethod
    def from_text(cls, text: str, path: str = ".dockerignore") -> DockerIgnore:
        return cls(path, pattern_lines(text))

    @classmethod
    def from_document(cls, doc: Document) -> DockerIgnore:
        """Build from a parsed DOCKERIGNORE document (``doc.data`` is the parser's ``(line, pattern)`` list)."""
        data = doc.data if isinstance(doc.data, list) else []
        return cls(doc.path, [(int(n), str(p)) for n, p in data])

    @property
    def patterns(self) -> tuple[IgnorePattern, ...]:
        return tuple(p.meta for p in self._patterns)

    def _decide(self, path: str) -> IgnorePattern | None:
        path = go_clean(path).lstrip("/")
        if path in (".", ""):
            return None  # the context itself is never excluded
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        matched = False
        decided: IgnorePattern | None = None
        for pattern in self._patterns:
            if pattern.meta.negated != matched:
                continue
            hit = pattern.match(path) or any(pattern.match(prefix) for prefix in prefixes)
            if hit:
                matched = not pattern.meta.negated
                decided = pattern.meta
        return decided

    def is_excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the build context) is left out of the context sent to the builder."""
        found = self._decide(path)
        return found is not None and not found.negated

    def matching_line(self, path: str) -> int | None:
        """Line of the deciding pattern (an exclusion, or the ``!`` exception re-including the path)."""
        found = self._decide(path)
        return None if found is None else found.line

    def __iter__(self) -> Iterator[IgnorePattern]:
        return iter(self.patterns)


def _clean_dir(path: str) -> str:
    cleaned = go_clean(path) if path else "."
    return "" if cleaned == "." else cleaned.lstrip("/")


def effective_dockerignore(dockerfile: str, context_dir: str, files: frozenset[str]) -> str | None:
    """The ignore file BuildKit applies when building ``dockerfile`` with ``context_dir`` as the context.

    ``<Dockerfile name>.dockerignore`` in the Dockerfile's directory wins over ``<context>/.dockerignore``.
    All paths are relative posix paths from the scan root; returns the path of the file, or None.
    """
    dockerfile = _clean_dir(dockerfile)
    specific = dockerfile + ".dockerignore"
    if specific in files:
        return specific
    context = _clean_dir(context_dir)
    default = posixpath.join(context, ".dockerignore") if context else ".dockerignore"
    if default in files:
        return default
    return None
