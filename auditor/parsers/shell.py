"""A shell-script model for CI scripts: commands, words, variables read, redirections, pipelines, exact lines.

CI systems hand a script to ``bash`` (or ``sh``/``pwsh``) after substituting their own expressions
(``${{ secrets.X }}``, ``<< pipeline.parameters.x >>``). Rules need to know, per command: its name, its
arguments and options, the variables each word expands, whether its output is redirected, piped or captured
by ``$(...)``, and the line it sits on. :func:`parse_script` builds that with a small hand-written lexer.

Why not bashlex or shlex: bashlex raises on whole scripts that use common constructs (``[[ ]]``, ``$(( ))``,
``case``, arrays, quoted heredoc delimiters: 7 of 30 everyday constructs fail), and one failure loses the
script; shlex has no positions, no heredocs, no ``$(...)`` and cannot tell ``'$X'`` (no expansion) from
``"$X"``. This lexer never raises: unbalanced quotes or parentheses end the script and are recorded in
:attr:`Script.errors` (positions only, never text).

Compound commands are flattened: ``if``/``while``/``for``/``case``/``{ }``/``( )`` keywords are skipped and
the commands in their bodies appear in source order, so "what runs after ``set -x``" is a walk over
:attr:`Script.commands`. Commands inside ``$(...)``, backticks and ``<(...)`` belong to the word that holds
them (:attr:`Word.subs`) and are marked :attr:`Command.captured`: their output does not reach the log.

Opaque expressions (``${{ ... }}`` by default, or any pattern the caller passes) are kept whole inside
words, recognised in every quoting context (the CI system substitutes them before the shell reads the
script, single quotes included), and listed in :attr:`Word.exprs` with their positions.

Positions: pass ``line``/``column`` of the script's first character, or an ``origin`` table (one
``(line, column)`` per character, e.g. from :func:`yaml_scalar_origin` for YAML block/folded scalars).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.parsers.yamlnodes import View

__all__ = [
    "GHA_EXPRESSIONS",
    "Assignment",
    "Command",
    "Heredoc",
    "Option",
    "Redirect",
    "Script",
    "SourceText",
    "Span",
    "VarRef",
    "Word",
    "find_expressions",
    "parse_script",
    "yaml_scalar_origin",
]

GHA_EXPRESSIONS = re.compile(r"\$\{\{(.*?)\}\}", re.S)  # GitHub Actions / Azure template expressions
Origin = Sequence[tuple[int, int]]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = "@*#?$!-0123456789"
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
_FD_REDIRECT = re.compile(r"(\d{1,2})?(&>>|&>|<<<|<<-|<<|>>|>&|<&|<>|>\||>|<)")
_REDIRECT_OPS = ("&>>", "&>", "<<<", "<<-", "<<", ">>", ">&", "<&", "<>", ">|", ">", "<")
_CONTROL_OPS = (";;&", ";;", ";&", "&&", "||", "|&", "|", "&", ";")
_SKIP_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "fi", "done", "}"})
_PS_VAR = re.compile(r"\$(?:\{env:([A-Za-z_]\w*)\}|env:([A-Za-z_]\w*)|([A-Za-z_]\w*))", re.I)
_MAX_DEPTH = 40
_WRAPPERS = frozenset({"sudo", "env", "exec", "command", "builtin", "time", "nohup", "nice", "timeout", "stdbuf",
                       "doas", "xargs"})
_WRAPPER_VALUE_OPTIONS = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n"}),
    "timeout": frozenset({"-k", "-s", "--kill-after", "--signal"}),
    "xargs": frozenset({"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a"}),
    "doas": frozenset({"-u", "-C"}),
}


# ------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Span:
    """An opaque CI expression inside a word: ``${{ secrets.X }}`` has ``text`` ``secrets.X``."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class VarRef:
    """A variable expansion: ``$X``, ``${X}``, ``${X:-d}``, ``${#X}``, ``${X:0:4}``, ``$env:X`` (PowerShell)."""

    name: str
    line: int
    column: int
    quoted: bool = False  # inside double quotes
    op: str = ""  # "" | ":-" "-" ":=" "=" ":+" "+" ":?" "?" | ":" (substring) | "#" "##" "%" "%%" | "/" "//"
    # | "^" "^^" "," ",," | "len" (${#X}) | "!" (indirection) | "@" (transformation)

    @property
    def transforms(self) -> bool:
        """The expansion yields a piece or a rewrite of the value (which log masking no longer recognises)."""
        return self.op in {":", "#", "##", "%", "%%", "/", "//", "^", "^^", ",", ",,", "@"}


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word. ``text`` is the word after quote removal, expansions kept as written (``$X``)."""

    text: str = field(repr=False)
    raw: str = field(repr=False)
    line: int
    column: int
    end_line: int
    quoted: bool = False
    vars: tuple[VarRef, ...] = ()
    exprs: tuple[Span, ...] = ()
    subs: tuple[Script, ...] = ()  # $(...), `...`, <(...) inside the word

    @property
    def literal(self) -> bool:
        """No expansion, substitution or CI expression at all."""
        return not (self.vars or self.exprs or self.subs)

    def all_vars(self) -> Iterator[VarRef]:
        """Variables expanded by the word, including inside its command substitutions."""
        yield from self.vars
        for sub in self.subs:
            yield from sub.vars()

    def all_exprs(self) -> Iterator[Span]:
        yield from self.exprs
        for sub in self.subs:
            yield from sub.exprs()


@dataclass(slots=True)
class Heredoc:
    """The body of ``<<DELIM`` (filled when the lexer reaches it, after the command's line)."""

    delimiter: str
    expands: bool  # unquoted delimiter: $X and $(...) expand in the body
    strip_tabs: bool
    line: int = 0  # first body line (0 until read)
    body: str = field(default="", repr=False)
    vars: tuple[VarRef, ...] = ()
    exprs: tuple[Span, ...] = ()
    subs: tuple[Script, ...] = ()
    terminated: bool = False


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str  # ">", ">>", "<", "<<", "<<-", "<<<", ">&", "<&", "&>", "&>>", "<>", ">|"
    fd: int | None
    target: Word | None  # the file (or fd) word; the delimiter word for heredocs
    heredoc: Heredoc | None = None
    line: int = 0

    @property
    def writes_stdout(self) -> bool:
        """Sends standard output elsewhere (``>f``, ``>>f``, ``&>f``, ``1>f``, ``>&2``)."""
        if self.op in {"&>", "&>>"}:
            return True
        return self.op in {">", ">>", ">|", ">&"} and self.fd in (None, 1)


@dataclass(frozen=True, slots=True)
class Assignment:
    """``NAME=value`` (before a command, alone, or as an argument of ``export``/``declare``/``local``)."""

    name: str
    value: Word
    line: int
    column: int
    argument: bool = False  # an argument of export/declare/local/readonly (also one of the command's words)


@dataclass(frozen=True, slots=True)
class Option:
    """An option found by :meth:`Command.options`: its flag word and its value (None for a bare flag)."""

    flag: Word
    value: Word | None
    text: str = field(repr=False)  # the value text ("" when absent); for --opt=value, the part after "="
    attached: bool = False  # --opt=value or -ovalue


@dataclass(frozen=True, slots=True)
class Command:
    words: tuple[Word, ...]  # argv, the command name first (assignments and redirections excluded)
    assignments: tuple[Assignment, ...]
    redirects: tuple[Redirect, ...]
    line: int
    column: int
    end_line: int
    pipeline: int  # id of its pipeline, unique within the parsed script
    stage: int  # 0-based position in the pipeline
    stages: int  # number of commands in the pipeline
    connector: str  # what follows: "|", "|&", "&&", "||", ";", "&", ";;", "\n" or "" (end)
    captured: bool = False  # inside $(...), `...` or <(...): output captured, not logged
    keyword: str | None = None  # "for", "case", "select", "[[", "((", PowerShell "(" expressions: pseudo-commands

    @property
    def name(self) -> str:
        """The command name as written (``./deploy.sh``, ``docker``); "" for a bare assignment."""
        return self.words[0].text if self.words else ""

    @property
    def args(self) -> tuple[Word, ...]:
        return self.words[1:]

    @property
    def program(self) -> str:
        """Base name of the program actually run, past wrappers (``sudo -E docker`` -> ``docker``)."""
        argv = self.argv()
        return argv[0].text.rsplit("/", 1)[-1] if argv else ""

    def argv(self) -> tuple[Word, ...]:
        """The words from the real program on: ``sudo``, ``env A=b``, ``timeout 5``, ``nohup``... skipped."""
        words = self.words
        i = 0
        while i < len(words):
            base = words[i].text.rsplit("/", 1)[-1]
            if base not in _WRAPPERS or i == len(words) - 1:
                break
            i += 1
            takes_value = _WRAPPER_VALUE_OPTIONS.get(base, frozenset())
            while i < len(words):
                text = words[i].text
                if base == "env" and _ASSIGNMENT.match(text):
                    i += 1
                elif text.startswith("-") and text != "-":
                    i += 2 if text in takes_value else 1
                    if text == "--":
                        break
                else:
                    break
            if base == "timeout" and i < len(words):
                i += 1  # the duration
        return words[i:]

    def subcommand(self, *path: str) -> bool:
        """``docker buildx build``: the non-option words after the program start with ``path``."""
        positional = [w.text for w in self.argv()[1:] if not w.text.startswith("-")]
        return tuple(positional[: len(path)]) == path

    def options(self, long: Iterable[str] = (), short: Iterable[str] = (), *, takes_value: bool = True,
                attached_short: bool = False) -> Iterator[Option]:
        """Occurrences of options: ``--name=v``, ``--name v``, ``-n v`` and (``attached_short``) ``-nv``.

        ``long`` are written with their dashes (``--build-arg``), ``short`` too (``-p``). With
        ``takes_value=False`` the next word is never taken as the value. Stops at ``--``.
        """
        longs = tuple(long)
        shorts = tuple(short)
        argv = self.argv()
        i = 1
        while i < len(argv):
            word = argv[i]
            text = word.text
            if text == "--":
                return
            hit = False
            for flag in longs:
                if text == flag:
                    value = argv[i + 1] if takes_value and i + 1 < len(argv) else None
                    yield Option(word, value, value.text if value else "")
                    i += 1 if value is None else 2
                    hit = True
                    break
                if takes_value and text.startswith(flag + "="):
                    yield Option(word, word, text[len(flag) + 1:], attached=True)
                    i += 1
                    hit = True
                    break
            if hit:
                continue
            for flag in shorts:
                if text == flag:
                    value = argv[i + 1] if takes_value and i + 1 < len(argv) else None
                    yield Option(word, value, value.text if value else "")
                    i += 1 if value is None else 2
                    hit = True
                    break
                if attached_short and takes_value and len(flag) == 2 and text.startswith(flag) and len(text) > 2 \
                        and not text.startswith("--"):
                    yield Option(word, word, text[2:], attached=True)
                    i += 1
                    hit = True
                    break
            if not hit:
                i += 1

    def has_option(self, *flags: str) -> bool:
        """A flag given alone or as ``--flag=...`` (no value taken): ``has_option("--password-stdin")``."""
        for word in self.argv()[1:]:
            text = word.text
            if text == "--":
                return False
            if any(text == f or (f.startswith("--") and text.startswith(f + "=")) for f in flags):
                return True
        return False

    def short_flag(self, letter: str, value_letters: str = "") -> Word | None:
        """The word carrying short flag ``letter`` alone or in a cluster (``-sSLv``), if any.

        ``value_letters`` are the short options that take a value: in ``-Hv`` the ``v`` is H's value.
        """
        for word in self.argv()[1:]:
            text = word.text
            if text == "--":
                return None
            if len(text) < 2 or text[0] != "-" or text[1] == "-":
                continue
            for ch in text[1:]:
                if ch == letter:
                    return word
                if ch in value_letters or not ch.isalpha():
                    break
        return None

    @property
    def stdout_redirected(self) -> bool:
        return any(r.writes_stdout for r in self.redirects)

    @property
    def pipes_out(self) -> bool:
        return self.connector in {"|", "|&"}

    def vars(self) -> Iterator[VarRef]:
        """Every variable expanded by the command: words, assignments, redirections, heredoc bodies, substitutions."""
        for word in self._words():
            yield from word.all_vars()
        for redirect in self.redirects:
            if redirect.heredoc is not None:
                yield from redirect.heredoc.vars
                for sub in redirect.heredoc.subs:
                    yield from sub.vars()

    def exprs(self) -> Iterator[Span]:
        for word in self._words():
            yield from word.all_exprs()
        for redirect in self.redirects:
            if redirect.heredoc is not None:
                yield from redirect.heredoc.exprs
                for sub in redirect.heredoc.subs:
                    yield from sub.exprs()

    def _words(self) -> Iterator[Word]:
        yield from self.words
        for assignment in self.assignments:
            if not assignment.argument:
                yield assignment.value
        for redirect in self.redirects:
            if redirect.target is not None and redirect.heredoc is None:
                yield redirect.target

    def substitutions(self) -> Iterator[Script]:
        for word in self._words():
            yield from word.subs
        for redirect in self.redirects:
            if redirect.heredoc is not None:
                yield from redirect.heredoc.subs


@dataclass(frozen=True, slots=True)
class Script:
    commands: tuple[Command, ...]  # in source order; compound bodies flattened, substitutions inside words
    line: int
    end_line: int
    errors: tuple[tuple[int, str], ...] = ()  # (line, message): unterminated quotes, heredocs...
    functions: tuple[str, ...] = ()  # names of shell functions defined

    def walk(self) -> Iterator[Command]:
        """Every command, nested substitutions first (they run before the command that holds them)."""
        for command in self.commands:
            for sub in command.substitutions():
                yield from sub.walk()
            yield command

    def vars(self) -> Iterator[VarRef]:
        for command in self.commands:
            yield from command.vars()

    def exprs(self) -> Iterator[Span]:
        for command in self.commands:
            yield from command.exprs()

    def pipeline_of(self, command: Command) -> tuple[Command, ...]:
        """The commands of ``command``'s pipeline (top level or within the same substitution)."""
        for scope in self._scopes():
            if command in scope:
                return tuple(c for c in scope if c.pipeline == command.pipeline)
        return (command,)

    def _scopes(self) -> Iterator[tuple[Command, ...]]:
        yield self.commands
        for command in self.commands:
            for sub in command.substitutions():
                yield from sub._scopes()


# -------------------------------------------------------------------------------------------- positions


class SourceText:
    """A document's text with its line starts, to turn offsets into 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        for m in re.finditer("\n", text):
            starts.append(m.end())
        self.starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        """Offset of a 1-based (line, column); clamped to the text."""
        if line < 1:
            return 0
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + max(column, 1) - 1, len(self.text))


def yaml_scalar_origin(view: View, source: SourceText) -> list[tuple[int, int]]:
    """One (line, column) per character of a YAML scalar's value, read back from the source.

    Literal block scalars (``|``) map line for line; folded (``>``), plain and quoted multi-line scalars are
    aligned greedily (a folded space maps to the next line's indentation, an escape to its backslash), so
    every character gets the line it was written on. The last entry is the position just past the value.
    """
    value = view.raw_text or ""
    node = view.node
    start = source.offset(int(node.start_mark.line) + 1, int(node.start_mark.column) + 1)
    end = source.offset(int(node.end_mark.line) + 1, int(node.end_mark.column) + 1)
    text = source.text
    style = view.style
    if style in ("|", ">"):
        newline = text.find("\n", start)
        start = end if newline < 0 or newline >= end else newline + 1
    elif style in ("'", '"'):
        start += 1
    out: list[tuple[int, int]] = []
    j = start
    skippable = " \t\r\n\\\"'"
    for ch in value:
        k = j
        while k < end and text[k] != ch and text[k] in skippable:
            k += 1
        if k < end and text[k] == ch:
            out.append(source.position(k))
            j = k + 1
        else:
            out.append(source.position(min(j, max(end - 1, 0))))
    out.append(source.position(min(j, len(text))))
    return out


def find_expressions(text: str, *, origin: Origin | None = None, line: int = 1, column: int = 1,
                     pattern: re.Pattern[str] = GHA_EXPRESSIONS) -> list[Span]:
    """Every opaque expression in ``text`` (for values that are not shell: ``with:`` inputs, ``if:``...)."""
    positions = origin if origin is not None and len(origin) > len(text) else _linear_origin(text, line, column)
    return [Span(m.group(1).strip(), *positions[m.start()]) for m in pattern.finditer(text)]


def _linear_origin(text: str, line: int, column: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    ln, col = line, column
    for ch in text:
        out.append((ln, col))
        if ch == "\n":
            ln, col = ln + 1, 1
        else:
            col += 1
    out.append((ln, col))
    return out


# ----------------------------------------------------------------------------------------------- parsing


def parse_script(text: str, *, line: int = 1, column: int = 1, origin: Origin | None = None,
                 expressions: re.Pattern[str] | None = GHA_EXPRESSIONS, dialect: str = "posix") -> Script:
    """Parse a shell script; never raises. ``dialect`` is ``"posix"`` (sh/bash) or ``"powershell"``.

    ``origin`` (one (line, column) per character plus one past the end) wins over ``line``/``column``.
    ``expressions`` is the opaque-expression pattern of the CI system (None: no such syntax); its first
    group is the expression's inner text.
    """
    positions = origin if origin is not None and len(origin) > len(text) else _linear_origin(text, line, column)
    lexer = _Lexer(text, positions, expressions, dialect)
    try:
        commands = lexer.parse_list(0, len(text), captured=False, stop=None)
    except RecursionError:  # pragma: no cover - depth is capped well below the interpreter's limit
        lexer.error(0, "nesting too deep")
        commands = []
    first = positions[0][0] if positions else line
    last = positions[max(len(text) - 1, 0)][0] if positions else line
    return Script(tuple(commands), first, last, tuple(lexer.errors), tuple(lexer.functions))


@dataclass(slots=True)
class _Builder:
    """A command being read."""

    start: int = -1
    words: list[Word] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    keyword: str | None = None
    end: int = 0

    @property
    def empty(self) -> bool:
        return not self.words and not self.assignments and not self.redirects and self.keyword is None


@dataclass(slots=True)
class _WordParts:
    text: list[str] = field(default_factory=list)
    vars: list[VarRef] = field(default_factory=list)
    exprs: list[Span] = field(default_factory=list)
    subs: list[Script] = field(default_factory=list)
    quoted: bool = False


class _Lexer:
    def __init__(self, text: str, positions: Origin, expressions: re.Pattern[str] | None, dialect: str) -> None:
        self.s = text
        self.pos = positions
        self.expr = expressions
        self.powershell = dialect == "powershell"
        self.errors: list[tuple[int, str]] = []
        self.functions: list[str] = []
        self.pending: list[Heredoc] = []
        self.pipeline_ids = 0
        self.depth = 0
        self.i = 0

    # -- helpers
    def at(self, i: int) -> tuple[int, int]:
        return self.pos[min(max(i, 0), len(self.pos) - 1)]

    def error(self, i: int, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append((self.at(i)[0], message))

    def expr_at(self, i: int, end: int) -> re.Match[str] | None:
        if self.expr is None:
            return None
        m = self.expr.match(self.s, i)
        if m is None or m.end() > end:
            return None
        return m

    # -- lists of commands
    def parse_list(self, i: int, end: int, *, captured: bool, stop: str | None) -> list[Command]:
        """Commands from ``i`` to ``end`` (or to the ``stop`` character at depth 0); sets ``self.i``."""
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                self.error(i, "nesting too deep")
                self.i = end
                return []
            return self._parse_list(i, end, captured=captured, stop=stop)
        finally:
            self.depth -= 1

    def _parse_list(self, i: int, end: int, *, captured: bool, stop: str | None) -> list[Command]:
        s = self.s
        ps = self.powershell
        out: list[Command] = []
        pipeline: list[tuple[_Builder, str]] = []
        cur = _Builder()
        paren = 0
        case_stack: list[bool] = []  # per open `case`: expecting a pattern
        in_test = False  # inside [[ ... ]]

        def finish(connector: str) -> None:
            nonlocal cur
            if cur.empty:
                if not pipeline or (connector in {"\n", "|", "|&"} and pipeline[-1][1] in {"|", "|&"}):
                    return  # nothing read, or a pipeline continued on the next line
                last, _ = pipeline[-1]
                pipeline[-1] = (last, connector)
            else:
                pipeline.append((cur, connector))
                cur = _Builder()
                if connector in {"|", "|&"}:
                    return
            self._emit(pipeline, out, captured)
            pipeline.clear()

        while i < end:
            c = s[i]
            if c in " \t\r":
                i += 1
                continue
            if c == ("`" if ps else "\\") and i + 1 < end and s[i + 1] == "\n":
                i += 2
                continue
            if c == "\n":
                finish("\n")
                i += 1
                if self.pending:
                    i = self._read_heredocs(i, end)
                continue
            if c == "#":
                nl = s.find("\n", i, end)
                i = end if nl < 0 else nl
                continue
            if ps and s.startswith("<#", i):
                close = s.find("#>", i + 2, end)
                i = end if close < 0 else close + 2
                continue
            if stop is not None and c == stop and paren == 0 and not in_test:
                finish("")
                self.i = i + 1
                return out
            if case_stack and case_stack[-1] and cur.empty:  # "pat1|pat2)" starting a case item
                word_end = self._scan_bare(i, end)
                if s[i:word_end] == "esac":
                    case_stack.pop()
                    i = word_end
                    continue
                i = self._skip_case_pattern(i, end)
                case_stack[-1] = False
                continue
            if in_test:
                if s.startswith("]]", i) and (i + 2 >= end or s[i + 2] in " \t\n;&|)"):
                    cur.words.append(self._plain_word("]]", i, i + 2))
                    cur.end = i + 2
                    in_test = False
                    i += 2
                    continue
                if c in "&|<>()!":
                    j = i
                    while j < end and s[j] in "&|<>()!":
                        j += 1
                    cur.words.append(self._plain_word(s[i:j], i, j))
                    i = j
                    continue
            opaque = self.expr_at(i, end) is not None  # a CI expression starts a word, whatever its characters
            op = None if opaque else next((o for o in _CONTROL_OPS if s.startswith(o, i)), None)
            if op is not None and not s.startswith("&>", i):
                if op in {";;", ";&", ";;&"} and case_stack:
                    finish(";;")
                    case_stack[-1] = True
                else:
                    finish(op)
                i += len(op)
                continue
            redirect = None if opaque else _FD_REDIRECT.match(s, i)
            if redirect is not None and redirect.end() <= end and not s.startswith(("<(", ">("), i) and (
                    not ps or redirect.group(2) in {">", ">>", ">&"}):
                if cur.start < 0:
                    cur.start = i
                i = self._read_redirect(redirect, cur, end)
                continue
            if c == "(" and not ps and not opaque:
                if s.startswith("((", i) and cur.empty:
                    close = self._match_double_paren(i + 2, end)
                    cur.start = i
                    cur.keyword = "(("
                    cur.words.append(self._arith_word(i, close))
                    cur.end = close
                    i = close
                    continue
                after = self._skip_ws(i + 1, end)
                if len(cur.words) == 1 and not cur.assignments and s.startswith(")", after):
                    self.functions.append(cur.words[0].text)  # name() { ... }
                    cur = _Builder()
                    i = after + 1
                    continue
                paren += 1
                finish(";")
                i += 1
                continue
            if c == ")" and not ps and not opaque:
                paren = max(paren - 1, 0)
                finish(";")
                i += 1
                continue
            word_start = i
            word, i = self._read_word(i, end, in_test=in_test)
            if word is None:
                i = max(i, word_start + 1)
                continue
            plain = word.raw == word.text and not word.quoted
            if cur.empty and plain and not in_test:
                if word.text in _SKIP_KEYWORDS:
                    continue
                if word.text == "esac" and case_stack:
                    case_stack.pop()
                    continue
                if word.text == "function":
                    name_start = self._skip_ws(i, end)
                    name_end = self._scan_bare(name_start, end)
                    if name_end > name_start:
                        self.functions.append(s[name_start:name_end])
                    i = name_end
                    after = self._skip_ws(i, end)
                    if s.startswith("()", after):
                        i = after + 2
                    continue
                if word.text in {"for", "select", "case"}:
                    cur.start = word_start
                    cur.keyword = word.text
                    cur.words.append(word)
                    cur.end = i
                    i = self._read_header(word.text, i, end, cur)
                    finish(";")
                    if word.text == "case":
                        case_stack.append(True)
                    continue
                if word.text == "[[":
                    cur.keyword = "[["
                    in_test = True
            if cur.start < 0:
                cur.start = word_start
            cur.end = i
            if not cur.words and not in_test and not word.raw.startswith(("'", '"')) and (
                    m := _ASSIGNMENT.match(word.text)):
                assignment = self._assignment(m, word)
                if s.startswith("(", i) and not ps:  # NAME=(array ...)
                    close = self._match_paren(i + 1, end)
                    array = self._word_from_range(i, close)
                    assignment = Assignment(assignment.name, array, word.line, word.column)
                    i = cur.end = close
                cur.assignments.append(assignment)
                continue
            if ps and not cur.words and word.raw.startswith("("):
                cur.keyword = "("  # a PowerShell expression (`if (-not $env:X) {...}`), not a program
            cur.words.append(word)
        finish("")
        self.i = end
        if stop is not None:
            self.error(end - 1 if end else 0, "unterminated substitution")
        return out

    def _emit(self, builders: list[tuple[_Builder, str]], out: list[Command], captured: bool) -> None:
        self.pipeline_ids += 1
        pid = self.pipeline_ids
        total = len(builders)
        for stage, (b, connector) in enumerate(builders):
            start = b.start if b.start >= 0 else 0
            line, column = self.at(start)
            end_line = self.at(max(b.end - 1, start))[0]
            words = tuple(b.words)
            assignments = tuple(b.assignments)
            if words and words[0].text in {"export", "declare", "typeset", "local", "readonly"}:
                extra = []
                for w in words[1:]:
                    if (m := _ASSIGNMENT.match(w.text)) is not None:
                        extra.append(self._assignment(m, w, argument=True))
                assignments = assignments + tuple(extra)
            command = Command(words, assignments, tuple(b.redirects), line, column, end_line, pid, stage, total,
                              connector, captured, b.keyword)
            out.append(command)

    def _assignment(self, m: re.Match[str], word: Word, *, argument: bool = False) -> Assignment:
        offset = m.end()
        value_text = word.text[offset:]
        value = Word(value_text, word.raw[offset:] if len(word.raw) >= offset else "", word.line, word.column + offset,
                     word.end_line, word.quoted, word.vars, word.exprs, word.subs)
        return Assignment(m.group(1), value, word.line, word.column, argument)

    def _skip_ws(self, i: int, end: int) -> int:
        while i < end and self.s[i] in " \t":
            i += 1
        return i

    def _scan_bare(self, i: int, end: int) -> int:
        while i < end and self.s[i] not in " \t\n;&|()<>":
            i += 1
        return i

    def _skip_case_pattern(self, i: int, end: int) -> int:
        s = self.s
        while i < end and s[i] in " \t\n":
            i += 1
        if i < end and s[i] == "(":
            i += 1
        quote: str | None = None
        while i < end:
            c = s[i]
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "\\":
                i += 1
            elif c == ")":
                return i + 1
            elif c == "\n":
                return i
            i += 1
        return i

    def _read_header(self, keyword: str, i: int, end: int, cur: _Builder) -> int:
        """Words of ``for x in a b; do``, ``select``, ``case W in`` up to ``;``/newline/``do``/``in``."""
        s = self.s
        if keyword == "for" and s.startswith("((", self._skip_ws(i, end)):
            start = self._skip_ws(i, end)
            close = self._match_double_paren(start + 2, end)
            cur.words.append(self._arith_word(start, close))
            cur.end = close
            return close
        while i < end:
            i = self._skip_ws(i, end)
            if i >= end or s[i] in ";\n&|":
                break
            if s[i] == "\\" and i + 1 < end and s[i + 1] == "\n":
                i += 2
                continue
            start = i
            word, i = self._read_word(i, end, in_test=False)
            if word is None:
                i = max(i, start + 1)
                continue
            if keyword == "case" and word.text == "in" and len(cur.words) >= 2:
                cur.end = i
                break
            if word.text == "do" and not word.quoted:
                cur.end = i
                break
            cur.words.append(word)
            cur.end = i
        return i

    def _match_paren(self, i: int, end: int) -> int:
        """Index just past the ``)`` closing a ``(`` opened before ``i`` (quotes respected)."""
        return self._match_close(i, end, "(", ")", "unbalanced parenthesis", skip_expressions=False)

    def _match_close(self, i: int, end: int, opening: str, closing: str, problem: str, *,
                     skip_expressions: bool) -> int:
        """Index just past the ``closing`` that balances an ``opening`` before ``i``; quotes and backslashes are
        respected, and CI expressions (``${{ }}``) skipped whole when ``skip_expressions``."""
        s = self.s
        depth = 1
        quote: str | None = None
        while i < end:
            if skip_expressions:
                m = self.expr_at(i, end)
                if m is not None:
                    i = m.end()
                    continue
            c = s[i]
            if quote:
                if c == "\\" and quote == '"':
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "\\":
                i += 1
            elif c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        self.error(end - 1, problem)
        return end

    def _match_double_paren(self, i: int, end: int) -> int:
        close = self._match_paren(i, end)  # the inner ")" of "))"
        if close < end and self.s[close] == ")":
            return close + 1
        return close

    def _arith_word(self, start: int, close: int) -> Word:
        parts = _WordParts()
        self._scan_dollars(start, close, parts, quoted=True)
        line, column = self.at(start)
        raw = self.s[start:close]
        return Word(raw, raw, line, column, self.at(max(close - 1, start))[0], False, tuple(parts.vars),
                    tuple(parts.exprs), tuple(parts.subs))

    def _plain_word(self, text: str, start: int, end: int) -> Word:
        line, column = self.at(start)
        return Word(text, text, line, column, self.at(max(end - 1, start))[0])

    def _scan_dollars(self, i: int, end: int, into: _WordParts, *, quoted: bool) -> None:
        """Collect the expansions of a region (arithmetic, heredoc bodies, ${X:-$Y}); its text is not kept."""
        s = self.s
        parts = _WordParts()
        while i < end:
            m = self.expr_at(i, end)
            if m is not None:
                parts.exprs.append(Span(m.group(1).strip(), *self.at(i)))
                i = m.end()
                continue
            c = s[i]
            if c == "\\" and i + 1 < end:
                i += 2
                continue
            if c == "$":
                i = self._read_dollar(i, end, parts, quoted=quoted)
                continue
            if c == "`" and not self.powershell:
                i = self._read_backtick(i, end, parts)
                continue
            i += 1
        into.vars.extend(parts.vars)
        into.exprs.extend(parts.exprs)
        into.subs.extend(parts.subs)

    # -- words
    def _read_word(self, i: int, end: int, *, in_test: bool) -> tuple[Word | None, int]:
        start = i
        parts = _WordParts()
        s = self.s
        escape = "`" if self.powershell else "\\"
        ps_paren = 0
        while i < end:
            m = self.expr_at(i, end)
            if m is not None:
                parts.text.append(m.group(0))
                parts.exprs.append(Span(m.group(1).strip(), *self.at(i)))
                i = m.end()
                continue
            c = s[i]
            if c in " \t\n\r":
                break
            if self.powershell and c in "()":
                if c == ")" and ps_paren == 0:
                    break
                ps_paren += 1 if c == "(" else -1
                parts.text.append(c)
                i += 1
                continue
            if c in ";&|<>()":
                if c in "<>" and s.startswith("(", i + 1) and i == start and not in_test and not self.powershell:
                    sub_start = i + 2  # process substitution <(...) / >(...)
                    commands = self.parse_list(sub_start, end, captured=True, stop=")")
                    parts.subs.append(self._script(commands, sub_start, self.i))
                    parts.text.append(s[i:self.i])
                    i = self.i
                    continue
                break
            if c == escape:
                if i + 1 < end and s[i + 1] == "\n":
                    i += 2
                    continue
                if i + 1 < end:
                    parts.text.append(s[i + 1])
                    parts.quoted = True
                    i += 2
                    continue
                parts.text.append(c)
                i += 1
                continue
            if c == "'":
                i = self._read_single(i, end, parts)
                continue
            if c == '"':
                i = self._read_double(i, end, parts)
                continue
            if c == "$":
                if s.startswith("$'", i) and not self.powershell:
                    i = self._read_single(i + 1, end, parts, ansi=True)
                    continue
                if s.startswith('$"', i) and not self.powershell:
                    i = self._read_double(i + 1, end, parts)
                    continue
                i = self._read_dollar(i, end, parts, quoted=False)
                continue
            if c == "`" and not self.powershell:
                i = self._read_backtick(i, end, parts)
                continue
            parts.text.append(c)
            i += 1
        if i == start:
            return None, i
        return self._finish_word(parts, start, i), i

    def _word_from_range(self, start: int, end: int) -> Word:
        """A single word covering ``s[start:end]`` verbatim (arrays ``(a b c)``): expansions collected."""
        parts = _WordParts()
        self._scan_dollars(start, end, parts, quoted=False)
        parts.text.append(self.s[start:end])
        return self._finish_word(parts, start, end)

    def _finish_word(self, parts: _WordParts, start: int, end: int) -> Word:
        line, column = self.at(start)
        return Word("".join(parts.text), self.s[start:end], line, column, self.at(max(end - 1, start))[0],
                    parts.quoted, tuple(parts.vars), tuple(parts.exprs), tuple(parts.subs))

    def _read_single(self, i: int, end: int, parts: _WordParts, *, ansi: bool = False) -> int:
        s = self.s
        parts.quoted = True
        i += 1
        while i < end:
            m = self.expr_at(i, end)
            if m is not None:
                parts.text.append(m.group(0))
                parts.exprs.append(Span(m.group(1).strip(), *self.at(i)))
                i = m.end()
                continue
            c = s[i]
            if ansi and c == "\\" and i + 1 < end:
                parts.text.append(s[i:i + 2])
                i += 2
                continue
            if c == "'":
                if self.powershell and s.startswith("''", i):
                    parts.text.append("'")
                    i += 2
                    continue
                return i + 1
            parts.text.append(c)
            i += 1
        self.error(i - 1, "unterminated single quote")
        return end

    def _read_double(self, i: int, end: int, parts: _WordParts) -> int:
        s = self.s
        parts.quoted = True
        escape = "`" if self.powershell else "\\"
        i += 1
        while i < end:
            m = self.expr_at(i, end)
            if m is not None:
                parts.text.append(m.group(0))
                parts.exprs.append(Span(m.group(1).strip(), *self.at(i)))
                i = m.end()
                continue
            c = s[i]
            if c == '"':
                return i + 1
            if c == escape and i + 1 < end:
                nxt = s[i + 1]
                if nxt == "\n":
                    i += 2
                    continue
                if self.powershell or nxt in '$`"\\':
                    parts.text.append(nxt)
                else:
                    parts.text.append(c + nxt)
                i += 2
                continue
            if c == "$":
                i = self._read_dollar(i, end, parts, quoted=True)
                continue
            if c == "`" and not self.powershell:
                i = self._read_backtick(i, end, parts)
                continue
            parts.text.append(c)
            i += 1
        self.error(i - 1, "unterminated double quote")
        return end

    def _read_backtick(self, i: int, end: int, parts: _WordParts) -> int:
        s = self.s
        j = i + 1
        while j < end and s[j] != "`":
            j += 2 if s[j] == "\\" else 1
        close = min(j, end)
        commands = self.parse_list(i + 1, close, captured=True, stop=None)
        parts.subs.append(self._script(commands, i + 1, close))
        parts.text.append(s[i:close + 1])
        if j >= end:
            self.error(i, "unterminated backquote")
            return end
        return close + 1

    def _script(self, commands: list[Command], start: int, end: int) -> Script:
        return Script(tuple(commands), self.at(start)[0], self.at(max(end - 1, start))[0])

    def _read_dollar(self, i: int, end: int, parts: _WordParts, *, quoted: bool) -> int:
        """At ``$``: an expansion, a substitution, or a literal dollar."""
        s = self.s
        line, column = self.at(i)
        nxt = s[i + 1] if i + 1 < end else ""
        if self.powershell:
            m = _PS_VAR.match(s, i)
            if m is not None and m.end() <= end:
                parts.vars.append(VarRef(m.group(1) or m.group(2) or m.group(3), line, column, quoted))
                parts.text.append(m.group(0))
                return m.end()
        if s.startswith("$((", i):
            close = self._match_double_paren(i + 3, end)
            self._scan_dollars(i + 3, max(close - 2, i + 3), parts, quoted=True)
            parts.text.append(s[i:close])
            return close
        if nxt == "(":
            commands = self.parse_list(i + 2, end, captured=True, stop=")")
            close = self.i
            parts.subs.append(self._script(commands, i + 2, close))
            parts.text.append(s[i:close])
            return close
        if nxt == "{":
            close = self._match_brace(i + 2, end)
            inner = s[i + 2:close - 1] if close <= end and s[close - 1] == "}" else s[i + 2:close]
            self._parse_braced(inner, i + 2, parts, position=(line, column), quoted=quoted)
            parts.text.append(s[i:close])
            return close
        if nxt and (nxt.isalpha() or nxt == "_"):
            m = _NAME.match(s, i + 1)
            assert m is not None
            stop = min(m.end(), end)
            parts.vars.append(VarRef(s[i + 1:stop], line, column, quoted))
            parts.text.append(s[i:stop])
            return stop
        if nxt and nxt in _SPECIAL:
            parts.vars.append(VarRef(nxt, line, column, quoted))
            parts.text.append(s[i:i + 2])
            return i + 2
        parts.text.append("$")
        return i + 1

    def _match_brace(self, i: int, end: int) -> int:
        return self._match_close(i, end, "{", "}", "unterminated ${", skip_expressions=True)

    def _parse_braced(self, inner: str, offset: int, parts: _WordParts, *, position: tuple[int, int],
                      quoted: bool) -> None:
        line, column = position
        op = ""
        body = inner
        if body.startswith("#") and len(body) > 1 and (body[1].isalnum() or body[1] == "_"):
            op, body = "len", body[1:]
        elif body.startswith("!") and len(body) > 1:
            op, body = "!", body[1:]
        m = _NAME.match(body)
        if m is not None:
            name = m.group(0)
            rest = body[m.end():]
        elif body[:1] and body[0] in _SPECIAL:
            name, rest = body[0], body[1:]
        else:
            return
        if rest.startswith("[") and "]" in rest:
            rest = rest[rest.index("]") + 1:]
        if not op and rest:
            for candidate in (":-", ":=", ":+", ":?", "##", "%%", "//", "^^", ",,", "-", "=", "+", "?", ":", "#", "%",
                              "/", "^", ",", "@"):
                if rest.startswith(candidate):
                    op = candidate
                    break
        parts.vars.append(VarRef(name, line, column, quoted, op))
        if rest:
            start = offset + (len(inner) - len(rest))
            self._scan_dollars(start, start + len(rest), parts, quoted=quoted)

    def _read_redirect(self, m: re.Match[str], cur: _Builder, end: int) -> int:
        fd = int(m.group(1)) if m.group(1) else None
        op = m.group(2)
        i = m.end()
        line = self.at(m.start())[0]
        i = self._skip_ws(i, end)
        if op in {">&", "<&"} and i < end and (self.s[i].isdigit() or self.s[i] == "-"):
            j = i
            while j < end and (self.s[j].isdigit() or self.s[j] == "-"):
                j += 1
            cur.redirects.append(Redirect(op, fd, self._plain_word(self.s[i:j], i, j), None, line))
            cur.end = j
            return j
        word, j = self._read_word(i, end, in_test=False)
        heredoc = None
        if op in {"<<", "<<-"} and word is not None:
            heredoc = Heredoc(word.text, expands=not word.quoted, strip_tabs=op == "<<-")
            self.pending.append(heredoc)
        cur.redirects.append(Redirect(op, fd, word, heredoc, line))
        cur.end = j
        return j

    def _read_heredocs(self, i: int, end: int) -> int:
        s = self.s
        pending, self.pending = self.pending, []
        for heredoc in pending:
            heredoc.line = self.at(i)[0]
            body_start = i
            terminated = False
            while i < end:
                nl = s.find("\n", i, end)
                line_end = end if nl < 0 else nl
                text = s[i:line_end]
                check = text.lstrip("\t") if heredoc.strip_tabs else text
                delimiter = heredoc.delimiter
                if check.rstrip("\r") == delimiter or (delimiter and check.strip() == delimiter):
                    heredoc.body = s[body_start:i]
                    self._heredoc_parts(heredoc, body_start, i)
                    i = line_end + 1 if nl >= 0 else end
                    terminated = True
                    break
                i = line_end + 1 if nl >= 0 else end
            if not terminated:
                heredoc.body = s[body_start:end]
                self._heredoc_parts(heredoc, body_start, end)
                self.error(body_start, "unterminated heredoc")
                i = end
            heredoc.terminated = terminated
        return min(i, end)

    def _heredoc_parts(self, heredoc: Heredoc, start: int, end: int) -> None:
        parts = _WordParts()
        if heredoc.expands:
            self._scan_dollars(start, end, parts, quoted=True)
        else:  # no expansion, but the CI system still substitutes its expressions
            for m in (self.expr.finditer(self.s, start, end) if self.expr is not None else ()):
                parts.exprs.append(Span(m.group(1).strip(), *self.at(m.start())))
        heredoc.vars = tuple(parts.vars)
        heredoc.exprs = tuple(parts.exprs)
        heredoc.subs = tuple(parts.subs)
