"""Parser for ``.gitignore`` (and ``.git/info/exclude``) and ``.dockerignore`` files.

``doc.data`` becomes the list of ``(line, pattern)`` pairs of the lines that can hold a pattern (blank lines
and ``#`` comments dropped, line ends and a BOM removed, the pattern otherwise as written): the input of
:class:`auditor.ignore.GitIgnore` and :class:`auditor.ignore.DockerIgnore`. No sites. Lines that do not mean
what they seem to get a diagnostic naming the line (never its text).
"""

from __future__ import annotations

import re

from auditor.ignore import DockerIgnore, git_pattern_usable, pattern_lines
from auditor.model import Diagnostic, DocKind, Document

_UNDECODABLE = re.compile("[\ufffd\udc80-\udcff]")  # replacement characters / surrogate escapes from decoding
_BACKSLASH_SEPARATOR = re.compile(r"\\[A-Za-z0-9_]")  # "config\secrets": an escape, not a Windows separator


def parse(doc: Document, text: str) -> None:
    lines = pattern_lines(text)
    doc.data = lines
    docker = doc.kind is DocKind.DOCKERIGNORE
    what = ".dockerignore" if docker else ".gitignore"

    def warn(line: int, message: str, level: str = "warning") -> None:
        doc.diagnostics.append(Diagnostic(doc.path, line, message, level))

    for number, raw in enumerate(text.split("\n"), 1):
        if _UNDECODABLE.search(raw):
            warn(number, "line is not valid UTF-8; its pattern was read with replacement characters")
        if docker and raw.lstrip().startswith("#") and not raw.startswith("#"):
            warn(number, "an indented '#' is a pattern in .dockerignore, not a comment: start the line with '#'")

    for number, line in lines:
        body = line.strip()
        if body.startswith("!"):
            body = body[1:].strip() if docker else body[1:]
        if docker:
            checked = DockerIgnore(doc.path, [(number, line)])
            if checked.error is not None:
                warn(number, f"docker refuses this pattern ({checked.error}): every build using this file fails")
                continue
        elif not body:
            warn(number, "a lone '!' is not a pattern; git skips this line")
            continue
        elif body.strip() == "/":
            warn(number, "the pattern '/' matches nothing in git")
            continue
        elif not git_pattern_usable(line):
            warn(number, "git cannot use this pattern (invalid range or trailing backslash); it matches nothing")
            continue
        if " #" in body or "\t#" in body:
            warn(number, f"'#' starts a comment only at the beginning of a line in {what}: the text after it is part "
                         "of the pattern")
        if _BACKSLASH_SEPARATOR.search(body):
            warn(number, f"a backslash is an escape character in {what}, not a path separator: use '/'")
        if not docker and line.rstrip(" ")[-1:].isspace():
            warn(number, "trailing whitespace other than spaces (a tab) is part of the pattern in .gitignore")
