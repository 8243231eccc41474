"""Dockerfile / Containerfile parser.

The Dockerfile grammar is line-oriented and small, so it is read by a hand-written tokenizer that follows
BuildKit's rules: parser directives at the top (``# syntax=``, ``# escape=``, ``# check=``), comments,
continuations with the escape character (comment and blank lines inside a continuation are dropped),
heredocs (``<<EOF``, ``<<-EOF``, quoted delimiters, several per line), JSON (exec) form, ``ONBUILD``,
multi-stage builds. Shell commands (``RUN``, shell-form ``CMD``/``ENTRYPOINT``/``HEALTHCHECK``) are split
into simple commands with the stdlib :mod:`shlex` in POSIX mode.

``doc.data`` is a :class:`DockerfileData`: a sequence of :class:`Instruction` (ONBUILD triggers are
flattened into it with ``onbuild=True``) plus the stages, the directives and the BuildKit checks skipped by
``# check=skip=...`` (file-wide at the top; for one instruction when the comment sits directly above it,
as BuildKit allows since moby/buildkit#6334).

Sites: ``ARG`` -> BUILD_ARG, ``ENV`` -> ENV, each ``COPY``/``ADD`` source -> COPY, ``RUN`` -> COMMAND, all
with exact 1-based lines (the physical line where the key, source or command sits).

Values (ARG/ENV defaults, heredoc bodies, command words) are kept in memory for the rules; they are never put
in a diagnostic.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import shlex
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from auditor.detect.values import classify
from auditor.model import Diagnostic, Document, Location, Phase, Site, SiteKind

INSTRUCTIONS = frozenset({
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
})
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
SHELL_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"})
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})

_DIRECTIVE = re.compile(r"^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$")
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_RECOVER = re.compile(r"^(?:" + "|".join(sorted(INSTRUCTIONS)) + r")(?:[ \t]|$)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_OPERATOR_CHARS = frozenset("();<>|&")
_SHELL_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}"})
MAX_UNKNOWN_DIAGNOSTICS = 10
MAX_SHELL_DEPTH = 3
MAX_QUOTED_LINES = 64
MAX_SHELL_CHUNK = 256_000
_LONG_WORD = re.compile(r"\S{4096}")


class _TooLong(Exception):
    """A shell chunk too large for shlex."""


# --------------------------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A Dockerfile-level heredoc (``RUN <<EOF``, ``COPY <<EOF /dest``)."""

    name: str  # the delimiter word
    quoted: bool  # ``<<"EOF"`` / ``<<'EOF'``: no variable expansion in the body
    chomp: bool  # ``<<-EOF``: leading tabs are stripped from the body and the terminator
    fd: int | None  # ``3<<EOF``
    body: str = field(repr=False)
    line: int = 0  # the line holding the ``<<EOF`` marker
    body_line: int = 0  # first line of the body
    end_line: int = 0  # the terminator line (the last line read when unterminated)
    terminated: bool = True


@dataclass(frozen=True, slots=True)
class Mount:
    """A ``RUN --mount=...`` option (``type`` defaults to ``bind`` as in BuildKit)."""

    type: str
    options: Mapping[str, str]
    line: int

    @property
    def id(self) -> str | None:
        return self.options.get("id")

    @property
    def env(self) -> str | None:
        return self.options.get("env")

    @property
    def target(self) -> str | None:
        return self.options.get("target") or self.options.get("dst") or self.options.get("destination")


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One ``key[=value]`` of ARG, ENV or LABEL. ``value`` is None for ``ARG NAME`` without a default."""

    key: str
    value: str | None = field(repr=False)
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str  # ">", ">>", "<", "<<", "<<<", "&>", ">&"...
    target: str = field(repr=False)  # the word after the operator (for ``<<EOF``: the delimiter)
    line: int = 0
    body: str | None = field(default=None, repr=False)  # for a shell heredoc inside a script: its body
    body_line: int | None = None


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """A simple command: argv with redirections taken out, split at ``&&``, ``||``, ``;``, ``|``, ``&``."""

    argv: tuple[str, ...] = field(repr=False)
    lines: tuple[int, ...]  # physical line of each argv word
    redirects: tuple[Redirect, ...] = ()
    line: int = 0  # line of the first word
    piped: bool = False  # its stdin is the previous command's stdout (``a | b``)
    depth: int = 0  # 0 = top level; 1+ = inside ``sh -c '...'``

    @property
    def words(self) -> tuple[str, ...]:
        """argv without leading ``VAR=value`` assignments and ``sudo``/``env``/``exec`` wrappers."""
        argv = list(self.argv)
        while argv:
            head = argv[0]
            if _ASSIGNMENT.match(head) or head in _SHELL_KEYWORDS:
                argv.pop(0)
            elif head in {"sudo", "env", "exec", "command", "nohup", "time"}:
                argv.pop(0)
                while argv and argv[0].startswith("-"):
                    argv.pop(0)
            else:
                break
        return tuple(argv)

    @property
    def name(self) -> str:
        words = self.words
        return posixpath.basename(words[0]) if words else ""


@dataclass(frozen=True, slots=True)
class Source:
    """A ``COPY``/``ADD`` source: a path/glob/URL of the context (or of ``--from``), or a heredoc."""

    path: str
    line: int
    column: int
    heredoc: Heredoc | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    name: str | None  # lowercased ``AS`` name
    base: str  # the image (or earlier stage) in ``FROM``
    base_stage: int | None  # index of the earlier stage it is built FROM
    line: int
    platform: str | None = None

    @property
    def label(self) -> str:
        return self.name or str(self.index)


@dataclass(frozen=True, slots=True)
class Instruction:
    instruction: str  # upper case: "RUN"; for ONBUILD triggers the triggered instruction with ``onbuild=True``
    args: tuple[str, ...] = field(repr=False)  # words after the flags, quotes removed (JSON items in exec form)
    flags: Mapping[str, tuple[str, ...]]  # ``--from=build`` -> {"from": ("build",)}; ``--link`` -> {"link": ("",)}
    line: int
    end_line: int
    stage_index: int  # -1 for ARGs before the first FROM
    stage_name: str | None
    json_form: bool = False
    onbuild: bool = False
    heredocs: tuple[Heredoc, ...] = ()
    mounts: tuple[Mount, ...] = ()
    pairs: tuple[KeyValue, ...] = ()  # ARG / ENV / LABEL
    commands: tuple[ShellCommand, ...] = ()  # RUN / CMD / ENTRYPOINT / HEALTHCHECK
    sources: tuple[Source, ...] = ()  # COPY / ADD
    dest: str | None = None  # COPY / ADD destination as written (quotes removed)
    dest_path: str | None = None  # destination made absolute against WORKDIR, known variables expanded
    dest_is_dir: bool = False  # the sources land *inside* dest_path (dest ends in "/", ".", or several sources)
    workdir: str = "/"  # effective WORKDIR when the instruction runs
    text: str = field(default="", repr=False)  # the logical line after the flags (shell form), for the rules
    check_skip: frozenset[str] = frozenset()  # ``# check=skip=...`` comment directly above (BuildKit >= 1.20)

    def flag(self, name: str) -> str | None:
        values = self.flags.get(name)
        return values[-1] if values else None

    @property
    def secret_mounts(self) -> tuple[Mount, ...]:
        return tuple(m for m in self.mounts if m.type in ("secret", "ssh"))


@dataclass(frozen=True, slots=True)
class DockerfileData(Sequence[Instruction]):
    """``doc.data`` of a Dockerfile: its instructions (a sequence) plus stages and directives."""

    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    directives: Mapping[str, str]
    escape: str = "\\"
    check_skip: frozenset[str] = frozenset()  # lower-cased BuildKit check names from ``# check=skip=``; "all"
    comment_lines: frozenset[int] = frozenset()

    @overload
    def __getitem__(self, index: int) -> Instruction: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Instruction]: ...

    def __getitem__(self, index: int | slice) -> Instruction | Sequence[Instruction]:
        return self.instructions[index]

    def __len__(self) -> int:
        return len(self.instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    def skips(self, check: str, instruction: Instruction | None = None) -> bool:
        """True when a ``# check=skip=`` directive (or one directly above ``instruction``) turns ``check`` off."""
        skipped = self.check_skip | instruction.check_skip if instruction is not None else self.check_skip
        return "all" in skipped or check.lower() in skipped

    @property
    def final_stage(self) -> int | None:
        return self.stages[-1].index if self.stages else None

    def stage(self, ref: str) -> Stage | None:
        """The stage an ``--from=`` / ``FROM`` reference names: an ``AS`` name (case-insensitive) or an index."""
        low = ref.lower()
        for st in self.stages:
            if st.name == low:
                return st
        if ref.isdigit() and int(ref) < len(self.stages):
            return self.stages[int(ref)]
        return None

    def in_stage(self, index: int) -> Iterator[Instruction]:
        return (i for i in self.instructions if i.stage_index == index)


# --------------------------------------------------------------------------------------------- text helpers


class _Text:
    """A logical string assembled from pieces of physical lines, mapping offsets back to (line, column)."""

    __slots__ = ("_cols", "_joined", "_length", "_lines", "_parts", "_starts")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._joined: str | None = ""
        self._length = 0
        self._starts: list[int] = []
        self._lines: list[int] = []
        self._cols: list[int] = []

    @property
    def text(self) -> str:
        if self._joined is None:
            self._joined = "".join(self._parts)
        return self._joined

    @text.setter
    def text(self, value: str) -> None:
        self._parts, self._joined, self._length = [value], value, len(value)

    def add(self, piece: str, line: int, column: int) -> None:
        self._starts.append(self._length)
        self._lines.append(line)
        self._cols.append(column)
        self._parts.append(piece)
        self._length += len(piece)
        self._joined = None

    def pos(self, offset: int) -> tuple[int, int]:
        if not self._starts:
            return 1, 1
        i = max(bisect_right(self._starts, offset) - 1, 0)
        return self._lines[i], self._cols[i] + offset - self._starts[i]

    def line(self, offset: int) -> int:
        return self.pos(offset)[0]


@dataclass(frozen=True, slots=True)
class _Word:
    raw: str
    value: str  # quotes and escapes removed
    start: int
    end: int
    quoted: bool


def _split_words(text: str, escape: str, start: int = 0, stop_at_whitespace: bool = True) -> list[_Word]:
    """Split Dockerfile arguments into words the way BuildKit's shell lexer does (quotes, escape character)."""
    words: list[_Word] = []
    i, n = start, len(text)
    while i < n:
        while i < n and text[i] in " \t" and stop_at_whitespace:
            i += 1
        if i >= n:
            break
        begin, out, quote, quoted = i, [], "", False
        while i < n:
            ch = text[i]
            if quote == "'":
                if ch == "'":
                    quote = ""
                else:
                    out.append(ch)
            elif quote == '"':
                if ch == '"':
                    quote = ""
                elif ch == escape and i + 1 < n and text[i + 1] in ('"', "$", escape, "`"):
                    i += 1
                    out.append(text[i])
                else:
                    out.append(ch)
            elif ch in " \t" and stop_at_whitespace:
                break
            elif ch in "'\"":
                quote, quoted = ch, True
            elif ch == escape and i + 1 < n:
                i += 1
                out.append(text[i])
            else:
                out.append(ch)
            i += 1
        words.append(_Word(text[begin:i], "".join(out), begin, i, quoted))
    return words


def _unquote(text: str, escape: str) -> str:
    words = _split_words(text, escape, stop_at_whitespace=False)
    return words[0].value if words else ""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Expand ``$VAR``/``${VAR}`` from known ARG/ENV values; unknown variables are left as written."""
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def _absolute(path: str, workdir: str) -> str:
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    return posixpath.normpath(joined) if joined else "/"


# --------------------------------------------------------------------------------------------- shell


def parse_shell(script: _Text, depth: int = 0, base_line: int | None = None) -> list[ShellCommand]:
    """Split a shell script into simple commands with :mod:`shlex` (POSIX), one logical shell line at a time.

    Newlines end commands; a trailing backslash or an open quote joins the next line. The bodies of shell
    heredocs (``cat > f <<EOF``) are attached to their redirect and not parsed as commands.
    """
    text = script.text
    lines = text.split("\n")
    offsets = []
    pos = 0
    for ln in lines:
        offsets.append(pos)
        pos += len(ln) + 1
    commands: list[ShellCommand] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip() or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        j = i
        while True:
            # a trailing backslash continues the command on the next line
            while lines[j].endswith("\\") and not lines[j].endswith("\\\\") and j + 1 < len(lines):
                j += 1
            chunk = text[offsets[i]: offsets[j] + len(lines[j])]
            try:
                if len(chunk) > MAX_SHELL_CHUNK or _LONG_WORD.search(chunk):
                    raise _TooLong  # shlex is quadratic on huge words (data blobs): split on whitespace
                # a backslash-newline joins lines in the shell; blank it out (same length keeps offsets)
                tokens = _tokens(chunk.replace("\\\n", "  "), offsets[i])
            except _TooLong:
                tokens = [(m.group(0), offsets[i] + m.start(), False) for m in re.finditer(r"\S+", chunk)]
            except ValueError:  # an open quote: the string goes on over the next lines (within reason)
                if j + 1 < len(lines) and j - i < MAX_QUOTED_LINES:
                    j += 1
                    continue
                j = i
                tokens = [(m.group(0), offsets[i] + m.start(), False) for m in re.finditer(r"\S+", lines[i])]
            break
        cmds, heredocs = _commands(tokens, script, depth, base_line)
        i = j + 1
        # shell heredocs: the following lines are data up to the delimiter
        for cmd_index, redirect_index, delim, chomp in heredocs:
            body_start = i
            while i < len(lines):
                candidate = lines[i].lstrip("\t") if chomp else lines[i]
                if candidate.rstrip() == delim:
                    break
                i += 1
            body = "\n".join(lines[body_start:i])
            if base_line is not None:
                body_line: int | None = base_line
            else:
                body_line = script.line(offsets[body_start]) if body_start < len(lines) else None
            cmd = cmds[cmd_index]
            redirects = list(cmd.redirects)
            old = redirects[redirect_index]
            redirects[redirect_index] = Redirect(old.op, old.target, old.line, body, body_line)
            cmds[cmd_index] = ShellCommand(cmd.argv, cmd.lines, tuple(redirects), cmd.line, cmd.piped, cmd.depth)
            i += 1
        for cmd in cmds:
            commands.append(cmd)
            commands.extend(_nested_shell(cmd, depth))
    return commands


def _tokens(chunk: str, base: int) -> list[tuple[str, int, bool]]:
    """(token, absolute start offset, is_operator) for one logical shell line."""
    stream = io.StringIO(chunk)
    lex = shlex.shlex(stream, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[tuple[str, int, bool]] = []
    while True:
        pending = getattr(lex, "_pushback_chars", ())
        before = stream.tell() - len(pending)
        tok = lex.get_token()
        if tok is None or tok == lex.eof:
            break
        start = before
        while start < len(chunk) and chunk[start] in " \t\r\n":
            start += 1
        start = min(start, len(chunk) - 1) if chunk else 0
        raw_first = chunk[start] if chunk else ""
        if raw_first == "#" and (start == 0 or chunk[start - 1] in " \t;"):
            break  # a shell comment: the rest of the line is not code
        is_op = bool(tok) and all(c in _OPERATOR_CHARS for c in tok) and raw_first in _OPERATOR_CHARS
        out.append((tok, base + start, is_op))
    return out


def _commands(tokens: list[tuple[str, int, bool]], script: _Text, depth: int,
              base_line: int | None) -> tuple[list[ShellCommand], list[tuple[int, int, str, bool]]]:
    def line_of(offset: int) -> int:
        return base_line if base_line is not None else script.line(offset)

    cmds: list[ShellCommand] = []
    heredocs: list[tuple[int, int, str, bool]] = []
    words: list[str] = []
    wlines: list[int] = []
    redirects: list[Redirect] = []
    pending: tuple[str, int] | None = None
    piped = False

    def flush() -> None:
        nonlocal words, wlines, redirects, piped
        if words or redirects:
            cmds.append(ShellCommand(tuple(words), tuple(wlines), tuple(redirects),
                                     wlines[0] if wlines else redirects[0].line, piped, depth))
        words, wlines, redirects = [], [], []

    for tok, offset, is_op in tokens:
        if is_op and ("<" in tok or ">" in tok):
            if words and words[-1].isdigit() and offset > 0 and script.text[offset - 1: offset].isdigit():
                words.pop()
                wlines.pop()
            pending = (tok, line_of(offset))
            continue
        if is_op:
            flush()
            piped = (tok.endswith("|") and not tok.endswith("||")) or tok.endswith("|&")
            pending = None
            continue
        if pending is not None:
            op, op_line = pending
            pending = None
            if op in ("<<", "<<-"):
                heredocs.append((len(cmds), len(redirects), tok, op == "<<-"))
            redirects.append(Redirect(op, tok, op_line))
            continue
        words.append(tok)
        wlines.append(line_of(offset))
    flush()
    return cmds, heredocs


def _nested_shell(cmd: ShellCommand, depth: int) -> list[ShellCommand]:
    """Commands inside ``sh -c '...'`` / ``bash -lc "..."``."""
    if depth >= MAX_SHELL_DEPTH:
        return []
    words = cmd.words
    if not words or posixpath.basename(words[0]) not in SHELLS:
        return []
    for k, word in enumerate(words[1:], 1):
        if re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", word) and k + 1 < len(words):
            inner = _Text()
            inner.add(words[k + 1], cmd.line, 1)
            return parse_shell(inner, depth + 1, base_line=cmd.lines[min(k + 1, len(cmd.lines) - 1)])
        if not word.startswith("-"):
            break
    return []


# --------------------------------------------------------------------------------------------- parser


@dataclass(slots=True)
class _StageState:
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)


class _Parser:
    def __init__(self, doc: Document, text: str) -> None:
        self.doc = doc
        self.path = doc.path
        self.lines = text.splitlines()
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        self.check_skip: set[str] = set()
        self.comment_lines: set[int] = set()
        self.instructions: list[Instruction] = []
        self.stages: list[Stage] = []
        self.states: list[_StageState] = []
        self.global_args: dict[str, str] = {}
        self.unknown = 0

    # ---- diagnostics
    def diag(self, line: int | None, message: str, level: str = "warning") -> None:
        self.doc.diagnostics.append(Diagnostic(self.path, line, message, level))

    # ---- top level
    def run(self) -> DockerfileData:
        i = self.read_directives()
        n = len(self.lines)
        above: set[str] = set()  # ``# check=skip=`` comments directly above the next instruction
        while i < n:
            raw = self.lines[i]
            stripped = raw.strip()
            if not stripped:
                above = set()
                i += 1
                continue
            if stripped.startswith("#"):
                self.comment_lines.add(i + 1)
                m = _DIRECTIVE.match(stripped)
                if m and m.group(1).lower() == "check":
                    above |= _check_skips(m.group(2))
                i += 1
                continue
            i = self.read_instruction(i, frozenset(above))
            above = set()
        if self.unknown > MAX_UNKNOWN_DIAGNOSTICS:
            self.diag(None, f"{self.unknown - MAX_UNKNOWN_DIAGNOSTICS} more lines are not Dockerfile instructions")
        if self.instructions and not self.stages:
            self.diag(None, "no FROM instruction: not a buildable Dockerfile")
        return DockerfileData(tuple(self.instructions), tuple(self.stages), dict(self.directives), self.escape,
                              frozenset(self.check_skip), frozenset(self.comment_lines))

    def read_directives(self) -> int:
        i = 0
        while i < len(self.lines):
            m = _DIRECTIVE.match(self.lines[i].strip())
            if not m:
                return i
            key, value = m.group(1).lower(), m.group(2)
            if key not in KNOWN_DIRECTIVES:
                return i
            if key in self.directives:
                self.diag(i + 1, f"parser directive '{key}' given twice; the second one is ignored")
            else:
                self.directives[key] = value
                if key == "escape":
                    if value in ("\\", "`"):
                        self.escape = value
                    else:
                        self.diag(i + 1, "invalid escape directive (must be a backslash or a backtick); "
                                         "using backslash")
                elif key == "check":
                    self.read_check(value)
            self.comment_lines.add(i + 1)
            i += 1
        return i

    def read_check(self, value: str) -> None:
        self.check_skip |= _check_skips(value)

    # ---- one instruction (logical line + heredocs)
    def read_instruction(self, i: int, check_skip: frozenset[str] = frozenset()) -> int:
        first = i + 1
        logical = _Text()
        raw = self.lines[i]
        body = raw.lstrip()
        col = len(raw) - len(body) + 1
        cont = re.compile(re.escape(self.escape) + r"[ \t]*$")
        n = len(self.lines)
        last = i
        while True:
            m = cont.search(body)
            if not m:
                logical.add(body, last + 1, col)
                break
            logical.add(body[: m.start()], last + 1, col)
            nxt = last + 1
            while nxt < n:
                candidate = self.lines[nxt]
                if candidate.lstrip().startswith("#"):
                    self.comment_lines.add(nxt + 1)
                    nxt += 1
                    continue
                if not candidate.strip():
                    nxt += 1
                    continue
                break
            if nxt >= n:
                break
            last = nxt
            body, col = self.lines[nxt], 1
        end = last + 1
        text = logical.text
        m = re.match(r"(\S+)", text)
        if not m:
            return last + 1
        keyword = m.group(1).upper()
        if keyword not in INSTRUCTIONS:
            self.unknown += 1
            if self.unknown <= MAX_UNKNOWN_DIAGNOSTICS:
                self.diag(first, "not a Dockerfile instruction; line skipped")
            return last + 1
        args_start = m.end()
        next_line = last + 1
        heredocs: list[Heredoc] = []
        onbuild = False
        if keyword == "ONBUILD":
            inner = re.match(r"[ \t]*(\S+)", text[args_start:])
            if not inner or inner.group(1).upper() not in INSTRUCTIONS - {"ONBUILD", "FROM", "MAINTAINER"}:
                self.diag(first, "ONBUILD must be followed by an instruction other than ONBUILD, FROM or MAINTAINER")
                return next_line
            keyword = inner.group(1).upper()
            args_start += inner.end()
            onbuild = True
        words = _split_words(text, self.escape, args_start)
        if keyword in HEREDOC_INSTRUCTIONS and not _is_json(text[args_start:]):
            heredocs, next_line = self.read_heredocs(words, logical, next_line)
            if heredocs:
                end = max(end, heredocs[-1].end_line)
        self.build(keyword, text, args_start, words, logical, line=first, end=end, heredocs=heredocs, onbuild=onbuild)
        if check_skip and self.instructions and self.instructions[-1].line == first:
            self.instructions[-1] = replace(self.instructions[-1], check_skip=check_skip)
        return next_line

    def read_heredocs(self, words: list[_Word], logical: _Text, i: int) -> tuple[list[Heredoc], int]:
        markers: list[tuple[_Word, str, bool, bool, int | None]] = []
        for w in words:
            m = _HEREDOC_WORD.match(w.raw)
            if not m or not m.group(3):
                continue
            rest = m.group(3)
            name = _unquote(rest, self.escape)
            if not name:
                continue
            markers.append((w, name, rest[:1] in "'\"", m.group(2) == "-", int(m.group(1)) if m.group(1) else None))
        heredocs: list[Heredoc] = []
        n = len(self.lines)
        for w, name, quoted, chomp, fd in markers:
            marker_line = logical.line(w.start)
            start = i
            j = i
            while j < n:
                candidate = self.lines[j].lstrip("\t") if chomp else self.lines[j]
                if candidate.rstrip(" \t") == name:
                    break
                j += 1
            if j < n:
                body_lines = self.lines[start:j]
                if chomp:
                    body_lines = [b.lstrip("\t") for b in body_lines]
                heredocs.append(Heredoc(name, quoted, chomp, fd, "\n".join(body_lines), marker_line, start + 1,
                                        j + 1, True))
                i = j + 1
                continue
            # unterminated: BuildKit would swallow the rest of the file; resume at the next instruction-like line
            k = start
            while k < n and not _RECOVER.match(self.lines[k]):
                k += 1
            body_lines = self.lines[start:k]
            if k < n:
                self.diag(marker_line, f"heredoc started on line {marker_line} is never terminated; "
                                       f"parsing resumed at line {k + 1}", "error")
            else:
                self.diag(marker_line, f"heredoc started on line {marker_line} is never terminated; "
                                       "the rest of the file was read as its body", "error")
            heredocs.append(Heredoc(name, quoted, chomp, fd, "\n".join(body_lines), marker_line, start + 1,
                                    k if k > start else marker_line, False))
            i = k
            break
        return heredocs, i

    # ---- instruction semantics
    def build(self, keyword: str, text: str, args_start: int, words: list[_Word], logical: _Text, *, line: int,
              end: int, heredocs: list[Heredoc], onbuild: bool) -> None:
        flags: dict[str, list[str]] = {}
        mounts: list[Mount] = []
        k = 0
        if keyword in {"RUN", "COPY", "ADD", "FROM", "HEALTHCHECK"}:
            while k < len(words) and words[k].value.startswith("--") and len(words[k].value) > 2:
                name, eq, value = words[k].value[2:].partition("=")
                flags.setdefault(name.lower(), []).append(value if eq else "")
                if name.lower() == "mount":
                    mounts.append(self.mount(value, logical.line(words[k].start)))
                k += 1
        rest_start = words[k].start if k < len(words) else len(text)
        rest = text[rest_start:]
        args_words = words[k:]
        json_form, json_items = False, None
        if _is_json(rest):
            try:
                loaded = json.loads(rest)
            except ValueError:
                loaded = None
            if isinstance(loaded, list) and all(isinstance(x, str) for x in loaded):
                json_form, json_items = True, [str(x) for x in loaded]
        args = tuple(json_items) if json_items is not None else tuple(w.value for w in args_words)

        if keyword == "FROM" and not onbuild:
            self.new_stage(args, flags, line)
            self.instructions.append(Instruction("FROM", args, _freeze(flags), line, end, self.stages[-1].index,
                                                 self.stages[-1].name, text=rest))
            return
        stage_index = self.stages[-1].index if self.stages else -1
        stage_name = self.stages[-1].name if self.stages else None
        state = self.states[-1] if self.states else _StageState()
        if not self.stages and keyword != "ARG":
            self.diag(line, f"{keyword} before the first FROM")
        instr = Instruction(keyword, args, _freeze(flags), line, end, stage_index, stage_name, json_form=json_form,
                            onbuild=onbuild, heredocs=tuple(heredocs), mounts=tuple(mounts), workdir=state.workdir,
                            text=rest)
        if keyword in ("ARG", "ENV", "LABEL"):
            pairs = self.pairs(keyword, args_words, rest, rest_start, logical=logical, line=line)
            instr = replace(instr, pairs=tuple(pairs))
            if not onbuild:
                for kv in pairs:
                    if keyword == "ENV" and kv.value is not None:
                        state.env[kv.key] = expand(kv.value, state.env)
                    elif keyword == "ARG":
                        if kv.value is not None:
                            value = expand(kv.value, state.env if self.stages else self.global_args)
                            (state.env if self.stages else self.global_args).setdefault(kv.key, value)
                        elif self.stages and kv.key in self.global_args:
                            state.env.setdefault(kv.key, self.global_args[kv.key])
        elif keyword in ("COPY", "ADD"):
            instr = self.copy(instr, args_words, heredocs, logical, state)
        elif keyword in SHELL_INSTRUCTIONS:
            cmds = self.shell(keyword, rest, rest_start, json_items=json_items, heredocs=heredocs, logical=logical,
                              line=line)
            instr = replace(instr, commands=tuple(cmds))
        elif keyword == "WORKDIR" and not onbuild and args:
                state.workdir = _absolute(expand(" ".join(args), state.env), state.workdir)
        self.instructions.append(instr)
        self.record_sites(instr)

    def new_stage(self, args: tuple[str, ...], flags: dict[str, list[str]], line: int) -> None:
        base = expand(args[0], self.global_args) if args else ""
        name = None
        if len(args) >= 3 and args[1].lower() == "as":
            name = args[2].lower()
        elif len(args) != 1:
            self.diag(line, "FROM takes an image and an optional 'AS name'")
        base_stage = None
        state = _StageState()
        for st in self.stages:
            if st.name is not None and st.name == base.lower():
                base_stage = st.index
                parent = self.states[st.index]
                state = _StageState(parent.workdir, dict(parent.env))
        platform = flags.get("platform", [None])[-1]
        self.stages.append(Stage(len(self.stages), name, base, base_stage, line, platform))
        self.states.append(state)

    def mount(self, spec: str, line: int) -> Mount:
        options: dict[str, str] = {}
        try:
            fields = next(csv.reader([spec]))
        except (csv.Error, StopIteration):
            fields = spec.split(",")
        for f in fields:
            k, eq, v = f.partition("=")
            options[k.strip().lower()] = v.strip() if eq else "true"
        kind = options.get("type", "bind").lower()
        no_target = "target" not in options and "dst" not in options and "destination" not in options
        if kind == "secret" and no_target and "env" not in options:
            options["target"] = f"/run/secrets/{options.get('id', '')}"
        return Mount(kind, options, line)

    def pairs(self, keyword: str, words: list[_Word], rest: str, rest_start: int, *, logical: _Text,
              line: int) -> list[KeyValue]:
        out: list[KeyValue] = []
        if not words:
            self.diag(line, f"{keyword} needs at least one argument")
            return out
        legacy = keyword != "ARG" and "=" not in words[0].value
        if legacy:
            key_word = words[0]
            ln, col = logical.pos(key_word.start)
            value = _unquote(rest[words[1].start - rest_start:].rstrip(" \t"), self.escape) if len(words) > 1 else ""
            if len(words) == 1:
                self.diag(line, f"{keyword} gives a name but no value")
            out.append(KeyValue(key_word.value, value, ln, col))
            return out
        for w in words:
            ln, col = logical.pos(w.start)
            key, eq, value = w.value.partition("=")
            if not key:
                self.diag(ln, f"{keyword} with an empty name")
                continue
            if not eq and keyword != "ARG":
                self.diag(ln, f"{keyword} word without '=' (mixing 'k=v' and legacy 'k v' forms); word skipped")
                continue
            out.append(KeyValue(key, value if eq else None, ln, col))
        return out

    def copy(self, instr: Instruction, words: list[_Word], heredocs: list[Heredoc], logical: _Text,
             state: _StageState) -> Instruction:
        keyword, args, line = instr.instruction, instr.args, instr.line
        by_marker = {h.name: h for h in heredocs}
        sources: list[Source] = []
        items: list[tuple[str, int, int, Heredoc | None]] = []
        if instr.json_form:
            cursor = words[0].start if words else 0
            for a in args:
                found = logical.text.find(json.dumps(a), cursor)
                if found < 0:
                    items.append((a, line, 1, None))
                    continue
                ln, col = logical.pos(found)
                items.append((a, ln, col, None))
                cursor = found + 1
        else:
            for w in words:
                ln, col = logical.pos(w.start)
                m = _HEREDOC_WORD.match(w.raw)
                hd = by_marker.get(_unquote(m.group(3), self.escape)) if m and m.group(3) else None
                items.append((f"<<{hd.name}" if hd else w.value, ln, col, hd))
        dest: str | None = None
        dest_path: str | None = None
        dest_is_dir = False
        if len(items) < 2:
            self.diag(line, f"{keyword} needs at least one source and a destination")
            sources = [Source(p, ln, col, hd) for p, ln, col, hd in items]
        else:
            sources = [Source(p, ln, col, hd) for p, ln, col, hd in items[:-1]]
            dest = items[-1][0]
            expanded = expand(dest, state.env)
            dest_path = _absolute(expanded, state.workdir)
            dest_is_dir = (expanded.endswith("/") or expanded in (".", "./") or len(sources) > 1
                           or dest_path == state.workdir)
        return replace(instr, sources=tuple(sources), dest=dest, dest_path=dest_path, dest_is_dir=dest_is_dir)

    def shell(self, keyword: str, rest: str, rest_start: int, *, json_items: list[str] | None,
              heredocs: list[Heredoc], logical: _Text, line: int) -> list[ShellCommand]:
        if keyword == "HEALTHCHECK":
            m = re.match(r"\s*CMD\b", rest, re.I)
            if not m:
                return []
            rest_start += m.end()
            rest = rest[m.end():]
            json_items = None
            if _is_json(rest):
                try:
                    loaded = json.loads(rest)
                    if isinstance(loaded, list) and all(isinstance(x, str) for x in loaded):
                        json_items = [str(x) for x in loaded]
                except ValueError:
                    pass
        if json_items is not None:
            if not json_items:
                return []
            cmd = ShellCommand(tuple(json_items), tuple(line for _ in json_items), (), line)
            return [cmd, *_nested_shell(cmd, 0)]
        # the logical line, restricted to the command part, keeps its offset -> line mapping
        only_heredocs = bool(heredocs) and all(_HEREDOC_WORD.match(w.raw) for w in _split_words(rest, self.escape))
        cmds = [] if only_heredocs else _attach_heredocs(parse_shell(_Sub(logical, rest_start)), heredocs)
        shell_cmd = cmds[0].name in SHELLS if cmds else False
        for h in heredocs:
            if (only_heredocs and h is heredocs[0]) or shell_cmd:
                if not _shebang_is_shell(h.body):
                    continue
                body = _Text()
                for k, body_line in enumerate(h.body.split("\n")):
                    body.add(body_line + "\n", h.body_line + k, 1)
                body.text = body.text[:-1]
                cmds.extend(parse_shell(body))
        return cmds

    def record_sites(self, instr: Instruction) -> None:
        stage = instr.stage_name or ("" if instr.stage_index < 0 else str(instr.stage_index))
        base_ctx = {"stage": stage, "stage_index": str(instr.stage_index)}
        if instr.onbuild:
            base_ctx["onbuild"] = "true"
        prefix = f"{stage}:" if stage else ""
        env = self.doc.environment
        if instr.instruction in ("ARG", "ENV"):
            kind = SiteKind.BUILD_ARG if instr.instruction == "ARG" else SiteKind.ENV
            for kv in instr.pairs:
                self.doc.sites.append(Site(
                    kind, kv.key, classify(kv.value) if kv.value is not None else None,
                    Location(self.path, kv.line, kv.column), Phase.BUILD, env,
                    route=f"{prefix}{instr.instruction}.{kv.key}",
                    context={"instruction": instr.instruction, **base_ctx},
                ))
        elif instr.instruction in ("COPY", "ADD"):
            for src in instr.sources:
                ctx = {"instruction": instr.instruction, "dest": instr.dest or "", "from": instr.flag("from") or "",
                       **base_ctx}
                if src.heredoc is not None:
                    ctx["heredoc"] = "true"
                self.doc.sites.append(Site(SiteKind.COPY, src.path, None, Location(self.path, src.line, src.column),
                                           Phase.BUILD, env, route=f"{prefix}{instr.instruction}.{src.path}",
                                           context=ctx))
        elif instr.instruction == "RUN":
            name = instr.commands[0].name if instr.commands else ""
            ctx = {"instruction": "RUN", "mounts": ",".join(m.type for m in instr.mounts),
                   "secret_envs": ",".join(m.env for m in instr.mounts if m.type == "secret" and m.env),
                   **base_ctx}
            self.doc.sites.append(Site(SiteKind.COMMAND, name, None, Location(self.path, instr.line), Phase.BUILD,
                                       env, route=f"{prefix}RUN@{instr.line}", context=ctx))


class _Sub(_Text):
    """The tail of a logical line starting at ``start``, with the parent's offset -> line mapping."""

    __slots__ = ("_parent", "_start")

    def __init__(self, parent: _Text, start: int) -> None:
        super().__init__()
        self._parent = parent
        self._start = start
        self.text = parent.text[start:]

    def pos(self, offset: int) -> tuple[int, int]:
        return self._parent.pos(offset + self._start)

    def line(self, offset: int) -> int:
        return self._parent.line(offset + self._start)


def _attach_heredocs(cmds: list[ShellCommand], heredocs: list[Heredoc]) -> list[ShellCommand]:
    """``RUN cat <<EOF > f``: the Dockerfile heredoc is the command's stdin; put its body on the redirect."""
    if not heredocs:
        return cmds
    by_name = {h.name: h for h in heredocs}
    out = []
    for cmd in cmds:
        redirects = []
        for r in cmd.redirects:
            name = r.target.strip("'\"")
            h = by_name.get(name) or by_name.get(name.lstrip("-")) if r.op.startswith("<<") else None
            redirects.append(Redirect(r.op, r.target, r.line, h.body, h.body_line) if h is not None else r)
        out.append(replace(cmd, redirects=tuple(redirects)))
    return out


def _check_skips(value: str) -> set[str]:
    """``skip=A,B;error=true // why`` -> {"a", "b"} (BuildKit check names, lower-cased; "all" for skip=all)."""
    value = value.split("//", 1)[0]
    out: set[str] = set()
    for part in value.split(";"):
        k, _, v = part.partition("=")
        if k.strip().lower() == "skip":
            out.update(x.strip().lower() for x in v.split(",") if x.strip())
    return out


def _shebang_is_shell(body: str) -> bool:
    """No shebang, or one that runs a POSIX shell (``#!/bin/sh -e``, ``#!/usr/bin/env bash``)."""
    if not body.startswith("#!"):
        return True
    for word in body[2:].split("\n", 1)[0].split():
        name = posixpath.basename(word)
        if name == "env" or word.startswith("-"):
            continue
        return name in SHELLS
    return True


def _is_json(text: str) -> bool:
    s = text.strip()
    return s.startswith("[") and s.endswith("]")


def _freeze(flags: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in flags.items()}


def parse(doc: Document, text: str) -> None:
    """Fill ``doc.data`` (a :class:`DockerfileData`), ``doc.sites`` and ``doc.diagnostics``."""
    if "\0" in text:
        doc.diagnostics.append(Diagnostic(doc.path, None, "binary content where a Dockerfile was expected; skipped"))
        doc.data = DockerfileData((), (), {})
        return
    doc.data = _Parser(doc, text).run()
