"""Reads one file and turns it into a Document: decode, content scan, inline suppressions, parse.

This runs in worker processes for large trees, so it takes only picklable arguments and never raises:
every problem becomes a Diagnostic that names the file (and line where known) but never quotes content.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from auditor.model import Diagnostic, DocKind, Document, Site, Suppression

BINARY_SNIFF = 8192
_SUPPRESS = re.compile(r"keyaudit:\s*ignore(?:\[([A-Za-z0-9_,\s-]*)\])?[ \t:]*([^\r\n]*)")
_COMMENT_ONLY = re.compile(r"^\s*(?:#|//|--(?:\s|$)|;|/\*|<!--|\*)")


@dataclass(frozen=True, slots=True)
class FileJob:
    root: str
    path: str  # relative posix path
    kind: DocKind
    environment: str | None
    max_bytes: int


@dataclass(slots=True)
class FileOutcome:
    path: str
    document: Document | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    skipped: str | None = None  # "binary" | "large"
    facts: dict[str, object] = field(default_factory=dict)


def load(job: FileJob) -> FileOutcome:
    full = os.path.join(job.root, job.path)
    try:
        with open(full, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > job.max_bytes:
                limit = job.max_bytes // 1_000_000
                msg = f"skipped: {size // 1_000_000} MB is over the {limit} MB limit (--max-file-size)"
                return FileOutcome(job.path, diagnostics=(Diagnostic(job.path, None, msg, "warning"),), skipped="large")
            raw = fh.read()
    except OSError as exc:
        return FileOutcome(job.path, diagnostics=(Diagnostic(job.path, None, f"cannot read ({exc.strerror})"),))
    return load_bytes(job.path, raw, job.kind, job.environment)


def load_bytes(path: str, raw: bytes, kind: DocKind, environment: str | None) -> FileOutcome:
    if b"\0" in raw[:BINARY_SNIFF]:
        if kind is DocKind.CREDENTIAL_FILE and path.lower().endswith((".p12", ".pfx")):
            doc = Document(path, kind, environment)
            _parse(doc, raw.decode("latin-1"))  # PKCS#12 stores are binary by nature
            return FileOutcome(path, document=doc)
        if kind in (DocKind.TEXT, DocKind.CREDENTIAL_FILE):  # e.g. a Keynote .key file
            return FileOutcome(path, skipped="binary")
        message = f"binary content where a {kind.value} was expected; skipped"
        return FileOutcome(path, diagnostics=(Diagnostic(path, None, message),), skipped="binary")
    text, decode_diag = _decode(path, raw)
    doc = Document(path, kind, environment)
    if decode_diag:
        doc.diagnostics.append(decode_diag)
    _parse(doc, text)
    facts = _facts(path, text)
    if kind is DocKind.TEXT and not doc.keys and not doc.diagnostics:
        return FileOutcome(path, facts=facts)
    return FileOutcome(path, document=doc, facts=facts)


def _parse(doc: Document, text: str) -> None:
    try:
        from auditor.detect.providers import find_keys

        doc.keys = find_keys(text, doc.path)
        doc.suppressions = parse_suppressions(text)
        from auditor import parsers

        parsers.parse(doc, text)
        _apply_placeholder_comments(doc, text)
        if doc.kind is DocKind.TEXT:  # no structured parser judged its names and values: the generic detector does
            from auditor.detect.generic import find_generic_secrets

            doc.keys.extend(find_generic_secrets(text, doc.path))
    except RecursionError:
        doc.diagnostics.append(Diagnostic(doc.path, None, "nesting too deep to parse; file partially read"))
    except Exception as exc:  # a parser bug must not lose the other files: report it without its message
        doc.diagnostics.append(Diagnostic(doc.path, None, f"internal error while parsing ({exc.__class__.__name__}); "
                                          "file partially read: please report this"))


# A comment saying the value beside it is to be replaced: "# REQUIRED - replace with your access key".
_PLACEHOLDER_COMMENT = re.compile(
    r"(?i)(?:#|//)[^\n]*?\b(?:replace (?:this |it |me )?with (?:your|a real|the real|an? actual)"
    r"|your[\w .-]{0,40}?\b(?:key|token|secret|password) here"
    r"|(?:dummy|fake|example|sample) (?:value|key|token|password|secret)s?\b)"
)


def _apply_placeholder_comments(doc: Document, text: str) -> None:
    """A literal on a line whose comment (on it, or on the line above, as a YAML ``- name:`` line) says it is to be
    replaced is a placeholder. Provider-format keys never are: a real key beside such a comment is still a leak."""
    if not doc.sites:  # plain text and source code have no sites: skip the text scan on the hot path
        return
    lines = {n for n, line in enumerate(text.splitlines(), 1) if _PLACEHOLDER_COMMENT.search(line)}
    if not lines:
        return
    from dataclasses import replace

    from auditor.detect.providers import match_value
    from auditor.model import Value, ValueKind

    def hinted(site: Site) -> bool:
        v = site.value
        near = bool(lines & {site.location.line, site.location.line - 1})
        return v is not None and v.kind is ValueKind.LITERAL and near and match_value(v.text) is None

    doc.sites = [replace(s, value=Value(s.value.text, ValueKind.PLACEHOLDER))
                 if s.value is not None and hinted(s) else s for s in doc.sites]


def _facts(path: str, text: str) -> dict[str, object]:
    """Repository-wide facts some rules need from files they do not otherwise parse (dependency manifests)."""
    from auditor.rules.ignores import manifest_dotenv
    from auditor.rules.scanning import pre_commit_scanner

    facts: dict[str, object] = {}
    found = manifest_dotenv(path, text)
    if found is not None:
        facts["dotenv"] = found
    scanner = pre_commit_scanner(path, text)
    if scanner is not None:
        facts["secret_scanning"] = scanner
    return facts


def _decode(path: str, raw: bytes) -> tuple[str, Diagnostic | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        for encoding in ("utf-16",) if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ():
            try:
                return raw.decode(encoding), None
            except UnicodeDecodeError:
                pass
        diag = Diagnostic(path, line, "not valid UTF-8; undecodable bytes replaced and the rest scanned", "warning")
        return raw.decode("utf-8", "replace"), diag


def parse_suppressions(text: str) -> dict[int, Suppression]:
    """``keyaudit: ignore[ID,...] reason`` applies to its own line, and to the next one when on a comment-only line."""
    if "keyaudit:" not in text:
        return {}
    out: dict[int, Suppression] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _SUPPRESS.search(line)
        if not m:
            continue
        ids = frozenset(i.strip().upper() for i in (m.group(1) or "").split(",") if i.strip())
        reason = m.group(2).strip().rstrip("*/->").strip() or "no reason given"
        sup = Suppression(lineno, ids, reason)
        out.setdefault(lineno, sup)
        if _COMMENT_ONLY.match(line):
            out.setdefault(lineno + 1, sup)
    return out
