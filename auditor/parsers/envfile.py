"""dotenv files (``.env``, ``.env.*``, ``*.env``, ``.envrc``), read as python-dotenv and docker compose read them.

Syntax: ``KEY=value`` and ``export KEY=value``; ``KEY: value`` (compose's YAML-like form); single quotes are
literal (only ``\\'`` and ``\\\\`` are unescaped); double quotes decode ``\\n``, ``\\t``, ``\\"``, ``\\$``...
and both may span lines; an unquoted value ends at `` #`` (an inline comment) and is stripped; a bare
``KEY`` passes the variable through from the environment (its value is the reference ``${KEY}``).
Blank and ``#`` lines are skipped; an unreadable line is a diagnostic and reading goes on (in ``.envrc``,
a shell script for direnv, non-assignment lines such as ``use nix`` or ``dotenv`` are skipped silently).

Every binding is a :attr:`SiteKind.ENV` site at the line of its key, phase :attr:`Phase.RUNTIME`, or
:attr:`Phase.CLIENT` when the name carries a client-bundle prefix (``NEXT_PUBLIC_``, ``VITE_``...).
``doc.data`` is an :class:`EnvFileData` (``template`` is true for ``.env.example`` and the like).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from auditor.detect.names import analyze_name
from auditor.detect.values import classify
from auditor.model import Diagnostic, Document, Location, Phase, Site, SiteKind, Value, ValueKind
from auditor.parsers import is_env_template_name

_EXPORT = re.compile(r"export[ \t]+")
_KEY = re.compile(r"([^=#\s:'\"]+)|'([^'\r\n]+)'")
_ASSIGN = re.compile(r"[ \t]*(?:=|:(?=[ \t]|$))[ \t]*")
_TRAILER = re.compile(r"[ \t]*(?:#.*)?$")  # what may follow a quoted value on its last line
_INLINE_COMMENT = re.compile(r"\s+#.*")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "$": "$", "a": "\a",
                   "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True, slots=True)
class EnvEntry:
    name: str
    line: int  # line of the key
    end_line: int  # last line of the value (multi-line quoted values)
    quote: str  # "", "'" or '"'
    exported: bool = False


@dataclass(slots=True)
class EnvFileData:
    template: bool  # .env.example / .sample / .template / .dist / .defaults...
    entries: list[EnvEntry] = field(default_factory=list)


def parse(doc: Document, text: str) -> None:
    name = posixpath.basename(doc.path)
    data = EnvFileData(template=is_env_template_name(name))
    doc.data = data
    shell = name.lower() == ".envrc"
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        i = _binding(doc, data, lines, i, shell)


def _binding(doc: Document, data: EnvFileData, lines: list[str], i: int, shell: bool) -> int:
    """Read the binding starting on ``lines[i]``; return the index of the next unread line."""
    line = lines[i]
    stripped = line.lstrip()
    if not stripped or stripped.startswith("#"):
        return i + 1
    pos = len(line) - len(stripped)
    exported = False
    if m := _EXPORT.match(line, pos):
        exported, pos = True, m.end()
    key_match = _KEY.match(line, pos)
    if key_match is None:
        return _invalid(doc, i, shell, "expected a variable name")
    key = key_match.group(1) or key_match.group(2)
    column = key_match.start() + 1
    pos = key_match.end()
    assign = _ASSIGN.match(line, pos)
    if assign is None:
        # ``KEY`` alone (or ``export KEY``): passed through from the environment
        if line[pos:].strip() and not line[pos:].lstrip().startswith("#"):
            return _invalid(doc, i, shell, "expected '=' after the variable name")
        if shell:
            return i + 1  # a command (``source_up``) or ``export KEY`` of an existing variable: nothing assigned
        _add(doc, data, key, f"${{{key}}}", first=i, last=i, column=column, exported=exported)
        return i + 1
    pos = assign.end()
    rest = line[pos:]
    if rest[:1] in {"'", '"'}:
        quote = rest[0]
        value, end, after = _quoted(lines, i, pos + 1, quote)
        if value is None:
            return _invalid(doc, i, shell, f"unterminated {'single' if quote == chr(39) else 'double'}-quoted value")
        if not _TRAILER.fullmatch(after):
            if end > i:  # most likely an unclosed quote that ran into a later value: resume on the next line
                return _invalid(doc, i, shell, "unterminated quoted value")
            return _invalid(doc, i, shell, "unexpected text after the closing quote")
        _add(doc, data, key, value, first=i, last=end, column=column, quote=quote, exported=exported)
        return end + 1
    value = _INLINE_COMMENT.sub("", rest).rstrip()
    if value.startswith("#"):  # ``KEY= # comment``: an empty value (the ``#`` follows whitespace)
        value = ""
    _add(doc, data, key, value, first=i, last=i, column=column, exported=exported)
    return i + 1


def _quoted(lines: list[str], i: int, start: int, quote: str) -> tuple[str | None, int, str]:
    """The value of a quoted string opening before ``lines[i][start]``, its last line index, and the rest of it."""
    out: list[str] = []
    line_index, pos = i, start
    while line_index < len(lines):
        line = lines[line_index]
        while pos < len(line):
            ch = line[pos]
            if ch == "\\" and pos + 1 < len(line):
                nxt = line[pos + 1]
                if quote == '"' and nxt in _DOUBLE_ESCAPES:
                    out.append(_DOUBLE_ESCAPES[nxt])
                    pos += 2
                    continue
                if quote == "'" and nxt in {"'", "\\"}:
                    out.append(nxt)
                    pos += 2
                    continue
            if ch == quote:
                return "".join(out), line_index, line[pos + 1:]
            out.append(ch)
            pos += 1
        out.append("\n")
        line_index += 1
        pos = 0
    return None, i, ""


def _invalid(doc: Document, i: int, shell: bool, message: str) -> int:
    if not shell:
        doc.diagnostics.append(Diagnostic(doc.path, i + 1, f"not a dotenv assignment ({message}); line skipped"))
    return i + 1


def _add(doc: Document, data: EnvFileData, key: str, value: str, *, first: int, last: int, column: int,
         quote: str = "", exported: bool) -> None:
    phase = Phase.CLIENT if analyze_name(key).client_prefix else Phase.RUNTIME
    location = Location(doc.path, first + 1, column, last + 1 if last != first else None)
    context = {"quote": quote} if quote else {}
    site_value = classify_literal(value) if quote == "'" else classify(value)
    doc.sites.append(Site(SiteKind.ENV, key, site_value, location, phase, doc.environment, key, context))
    data.entries.append(EnvEntry(key, first + 1, last + 1, quote, exported))


def classify_literal(text: str) -> Value:
    """Classify text that nothing interpolates (single-quoted dotenv, ``$$``-escaped compose values).

    A ``$`` inside such text is an ordinary character: ``pa$word`` is a literal password, not ``pa`` followed
    by a variable. A value that is a reference as a whole (``${X}``) keeps its classification: it is not a
    secret either way.
    """
    value = classify(text)
    if value.kind is ValueKind.INTERPOLATED and classify(text.replace("$", "_")).kind is ValueKind.LITERAL:
        return Value(text, ValueKind.LITERAL)
    return value
