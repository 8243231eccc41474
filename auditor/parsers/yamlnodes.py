"""YAML helpers shared by every YAML-based parser (compose, Kubernetes, CI configs...).

Documents are *composed*, never constructed: :func:`load_documents` returns PyYAML node graphs built by
libyaml (``CSafeLoader``; the pure-Python ``SafeLoader`` only when libyaml is missing), so custom tags such
as ``!Ref`` or ``!reference`` are harmless and every node keeps its position.

Nodes reached through aliases are shared, so a naive walk of a "billion laughs" document never ends.
Walk through a :class:`View` instead: every node a view hands out is paid for from the document's
:class:`Budget`; once the budget is spent, views yield nothing more and one diagnostic
(``YAML aliases expand beyond the limit``) is recorded. Merge keys (``<<: *anchor``) are resolved by
:meth:`View.items`, and the merged entries keep the lines of the anchor they come from.

Typical use::

    roots, diagnostics = load_documents(doc.path, text)
    doc.diagnostics.extend(diagnostics)
    for root in roots:
        view = View.root(root, doc.path, doc.diagnostics)
        for key, value in view.get_view("services").items():
            ...

Messages never quote the source: a YAML error becomes ``invalid YAML: <problem>`` (libyaml's fixed
problem text, e.g. "mapping values are not allowed in this context"), never ``str(exc)``, which would
print the offending line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableSequence
from dataclasses import dataclass, field
from typing import TypeAlias

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from auditor.model import Diagnostic, Document

__all__ = [
    "ALIAS_LIMIT_MESSAGE",
    "DEFAULT_BUDGET",
    "DEPTH_LIMIT_MESSAGE",
    "MAX_DEPTH",
    "Budget",
    "Node",
    "Plain",
    "PlainTooLarge",
    "View",
    "count_nodes",
    "duplicate_keys",
    "load_documents",
    "to_plain",
]

DEFAULT_BUDGET = 200_000  # node visits per document before a walk is cut short
MAX_DEPTH = 128  # levels a view descends (aliases can make a document cyclic)
ALIAS_LIMIT_MESSAGE = "YAML aliases expand beyond the limit"
DEPTH_LIMIT_MESSAGE = f"YAML nesting deeper than {MAX_DEPTH} levels; the deeper part is skipped"
_MAX_PROBLEM = 120  # characters of a parser "problem" kept in a diagnostic
_MAX_MERGE_DEPTH = 32  # nested merge keys followed
_OPENED = re.compile(r"flow (?:sequence|mapping)|quoted scalar")  # constructs reported where they open

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"

Plain: TypeAlias = "bool | int | float | str | list[Plain] | dict[str, Plain] | None"


# --------------------------------------------------------------------------------------------- loading


def load_documents(path: str, text: str) -> tuple[list[Node], list[Diagnostic]]:
    """Compose every document of ``text``; a syntax error ends the stream with one diagnostic.

    Documents composed before the error are returned. Empty documents (``---`` alone, or just ``null``)
    are skipped.
    """
    roots: list[Node] = []
    diagnostics: list[Diagnostic] = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is not None and not (isinstance(node, ScalarNode) and node.tag == NULL_TAG):
                roots.append(node)
    except yaml.MarkedYAMLError as exc:
        diagnostics.append(_marked_error(path, exc))
    except yaml.reader.ReaderError as exc:
        position = exc.position if isinstance(exc.position, int) else 0
        line = text.count("\n", 0, position) + 1 if position <= len(text) else None
        diagnostics.append(Diagnostic(path, line, f"invalid YAML: {_problem(exc.reason)}"))
    except (yaml.YAMLError, UnicodeError, ValueError, RecursionError, MemoryError) as exc:
        diagnostics.append(Diagnostic(path, None, f"invalid YAML: {exc.__class__.__name__}"))
    return roots, diagnostics


def mapping_roots(doc: Document, text: str, what: str) -> Iterator[View]:
    """Each YAML document of ``doc``'s text as a root view; syntax errors and non-mapping tops become diagnostics.

    ``what`` names the expected file for the message ("a compose file", "a CircleCI config").
    """
    roots, diagnostics = load_documents(doc.path, text)
    doc.diagnostics.extend(diagnostics)
    for node in roots:
        root = View.root(node, doc.path, doc.diagnostics)
        if root.is_mapping:
            yield root
        else:
            message = f"not {what}: top level is not a mapping"
            doc.diagnostics.append(Diagnostic(doc.path, root.line, message, "warning"))


def _marked_error(path: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    """``invalid YAML: <problem>`` at the line that needs fixing.

    An unclosed flow collection or quoted scalar is reported where it opens (the context mark), since the
    parser only notices it lines later; anything else where the parser stopped (the problem mark).
    """
    problem, context = exc.problem or exc.context, exc.context or ""
    opened = exc.context_mark if exc.context_mark is not None and _OPENED.search(context) else None
    mark = opened or exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = f"invalid YAML: {_problem(problem)}"
    if opened is not None and exc.problem_mark is not None and exc.problem_mark.line != opened.line:
        message += f" (noticed at line {exc.problem_mark.line + 1})"
    return Diagnostic(path, line, message)


def _problem(problem: object) -> str:
    text = " ".join(str(problem or "syntax error").split())
    return text[:_MAX_PROBLEM]


# ---------------------------------------------------------------------------------------------- budget


@dataclass(slots=True)
class Budget:
    """Node visits left for one document. Shared by every :class:`View` of that document."""

    path: str
    sink: MutableSequence[Diagnostic]
    limit: int = DEFAULT_BUDGET
    used: int = 0
    exhausted: bool = False
    exhausted_reported: bool = False  # the expansion was reported when the document was measured
    too_deep: bool = False

    def spend(self, node: Node, n: int = 1) -> bool:
        """Pay for ``n`` visits; False (and one diagnostic at ``node``'s line) once the budget is spent."""
        if self.exhausted:
            return False
        self.used += n
        if self.used > self.limit:
            self.exhausted = True
            if not self.exhausted_reported:
                self.exhausted_reported = True
                self.sink.append(Diagnostic(self.path, node.start_mark.line + 1, ALIAS_LIMIT_MESSAGE))
            return False
        return True

    def deep(self, node: Node) -> None:
        """Record (once) that a walk went deeper than :data:`MAX_DEPTH`."""
        if not self.too_deep and not self.exhausted_reported:  # a cyclic document is reported once, as aliases
            self.too_deep = True
            self.sink.append(Diagnostic(self.path, node.start_mark.line + 1, DEPTH_LIMIT_MESSAGE))

    @classmethod
    def for_document(
        cls, root: Node, path: str, sink: MutableSequence[Diagnostic], limit: int = DEFAULT_BUDGET
    ) -> Budget:
        """A budget of ``limit`` visits, raised to 20 visits per distinct node for very large documents.

        Measuring the document is linear in its size (aliases are not followed twice), so a legitimately
        huge manifest is still walked completely. A document whose aliases expand beyond the budget is
        reported right away, at the node where the expansion crosses it, whether or not a parser walks
        into that part; walks that do are cut short without a second diagnostic.
        """
        distinct, shared = _distinct(root)
        budget = cls(path, sink, max(limit, 20 * distinct))
        if shared:  # only aliases make a document expand
            size, line = _expansion(root, budget.limit)
            if size > budget.limit:
                budget.exhausted_reported = True
                sink.append(Diagnostic(path, line if line is not None else root.start_mark.line + 1,
                                       ALIAS_LIMIT_MESSAGE))
        return budget


def _distinct(root: Node) -> tuple[int, bool]:
    """The number of distinct nodes reachable from ``root``, and whether any is reached twice (an alias)."""
    seen: set[int] = set()
    shared = False
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared = True
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return len(seen), shared


def _expansion(root: Node, threshold: int) -> tuple[int, int | None]:
    """The size of ``root`` with every alias expanded (capped; a cycle counts as infinite), and the line of
    the first node whose expansion exceeds ``threshold`` while none of its children's does."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    crossing: list[int] = []
    cap = 1 << 62
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if not done:
            if key in sizes:
                continue
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes
                         and id(child) not in on_path)
            continue
        on_path.discard(key)
        child_sizes = [sizes.get(id(child), cap) for child in _children(node)]  # absent: a cycle up the path
        size = sizes[key] = min(cap, 1 + sum(child_sizes))
        if size > threshold and all(c <= threshold for c in child_sizes):
            crossing.append(node.start_mark.line + 1)
    return sizes[id(root)], min(crossing) if crossing else None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def count_nodes(root: Node) -> int:
    """Distinct nodes reachable from ``root`` (a shared/aliased node counts once)."""
    return _distinct(root)[0]


# ------------------------------------------------------------------------------------------------ view


@dataclass(frozen=True, slots=True)
class View:
    """A node plus the budget of its document: the only way parsers should walk YAML."""

    node: Node
    budget: Budget = field(repr=False, compare=False)
    depth: int = field(default=0, compare=False)

    @classmethod
    def root(
        cls, node: Node, path: str, sink: MutableSequence[Diagnostic], limit: int = DEFAULT_BUDGET
    ) -> View:
        """The view of a document root, with a fresh budget reporting into ``sink``."""
        return cls(node, Budget.for_document(node, path, sink, limit))

    # -- position
    @property
    def line(self) -> int:
        """1-based line where the node starts (the ``|``/``>`` indicator line for block scalars)."""
        return int(self.node.start_mark.line) + 1

    @property
    def column(self) -> int:
        """1-based column where the node starts."""
        return int(self.node.start_mark.column) + 1

    @property
    def end_line(self) -> int:
        """1-based line of the node's last character (a block node's end mark sits on the following line)."""
        end = self.node.end_mark
        line = int(end.line) + 1
        if end.column == 0 and line > self.line:
            line -= 1
        return line

    # -- shape
    @property
    def tag(self) -> str:
        return str(self.node.tag)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.node, MappingNode)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.node, SequenceNode)

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.node, ScalarNode)

    @property
    def is_null(self) -> bool:
        """A null scalar: ``~``, ``null`` or nothing at all (``KEY:``)."""
        return isinstance(self.node, ScalarNode) and self.node.tag == NULL_TAG

    @property
    def text(self) -> str | None:
        """The scalar's text as written (quotes removed, escapes decoded); None for collections and nulls."""
        if isinstance(self.node, ScalarNode) and self.node.tag != NULL_TAG:
            return str(self.node.value)
        return None

    @property
    def raw_text(self) -> str | None:
        """The scalar's text even for a null written as ``null``/``~`` (``""`` for an absent value)."""
        if isinstance(self.node, ScalarNode):
            return str(self.node.value)
        return None

    @property
    def style(self) -> str | None:
        """Scalar style: None (plain), ``'``, ``"``, ``|`` or ``>``."""
        if isinstance(self.node, ScalarNode):
            style = self.node.style
            return str(style) if style else None
        return None

    # -- navigation
    def _child(self, node: Node) -> View | None:
        if self.depth >= MAX_DEPTH:
            self.budget.deep(node)
            return None
        if not self.budget.spend(node):
            return None
        return View(node, self.budget, self.depth + 1)

    def items(self) -> Iterator[tuple[View, View]]:
        """Key/value pairs of a mapping, merge keys resolved; nothing for other nodes.

        Explicit keys win over merged ones, and earlier merge sources win over later ones (YAML 1.1).
        Duplicate explicit keys are all yielded, in order (a secret in a shadowed entry is still in the
        file); :meth:`get` returns the last one, as loaders do. Recursive merges are cut.
        """
        return self._items(frozenset())

    def _items(self, merging: frozenset[int]) -> Iterator[tuple[View, View]]:
        if not isinstance(self.node, MappingNode) or len(merging) > _MAX_MERGE_DEPTH:
            return
        explicit: list[tuple[Node, Node]] = []
        merges: list[Node] = []
        for key, value in self.node.value:
            if not self.budget.spend(key):
                return
            if _is_merge_key(key):
                merges.extend(value.value if isinstance(value, SequenceNode) else [value])
            else:
                explicit.append((key, value))
        if merges:
            inner = merging | {id(self.node)}
            seen = {_key_text(k) for k, _ in explicit}
            for source in merges:
                if id(source) in inner:
                    continue
                for key_view, value_view in View(source, self.budget, self.depth)._items(inner):
                    name = _key_text(key_view.node)
                    if name not in seen:
                        seen.add(name)
                        yield key_view, value_view
                if self.budget.exhausted:
                    return
        for key, value in explicit:
            key_child = self._child(key)
            value_child = self._child(value)
            if key_child is None or value_child is None:
                return
            yield key_child, value_child

    def entry(self, key: str) -> tuple[View, View] | None:
        """The last ``(key_view, value_view)`` whose key is the scalar ``key``."""
        found: tuple[View, View] | None = None
        for key_view, value_view in self.items():
            if key_view.text == key:
                found = (key_view, value_view)
        return found

    def get(self, key: str) -> View | None:
        """The value under ``key`` (None when absent or when this is not a mapping)."""
        found = self.entry(key)
        return found[1] if found else None

    def get_text(self, key: str) -> str | None:
        value = self.get(key)
        return value.text if value is not None else None

    def __iter__(self) -> Iterator[View]:
        """Items of a sequence; nothing for other nodes."""
        if not isinstance(self.node, SequenceNode):
            return
        for item in self.node.value:
            child = self._child(item)
            if child is None:
                return
            yield child

    def keys(self) -> Iterator[str]:
        for key_view, _ in self.items():
            if key_view.text is not None:
                yield key_view.text

    def plain(self, budget: int = 10_000) -> Plain:
        """:func:`to_plain` of this node (raises :class:`PlainTooLarge` beyond ``budget`` nodes)."""
        return to_plain(self.node, budget)


def _is_merge_key(key: Node) -> bool:
    return isinstance(key, ScalarNode) and (key.tag == MERGE_TAG or (key.value == "<<" and not key.style))


def _key_text(key: Node) -> object:
    return key.value if isinstance(key, ScalarNode) else id(key)


# ------------------------------------------------------------------------------------------- utilities


def duplicate_keys(view: View) -> Iterator[tuple[View, View]]:
    """``(first_key, repeated_key)`` for every scalar key repeated in a mapping (explicit keys only).

    Callers report positions, never the key text, which may hold anything.
    """
    if not isinstance(view.node, MappingNode):
        return
    first: dict[str, View] = {}
    for key, _value in view.node.value:
        if not view.budget.spend(key):
            return
        if not isinstance(key, ScalarNode) or _is_merge_key(key):
            continue
        key_view = View(key, view.budget, view.depth + 1)
        if key.value in first:
            yield first[key.value], key_view
        else:
            first[key.value] = key_view


class PlainTooLarge(ValueError):
    """Raised by :func:`to_plain` when the subtree exceeds its node budget or depth."""


def to_plain(node: Node | View, budget: int = 10_000, max_depth: int = 100) -> Plain:
    """A small subtree as plain Python values (dict/list/str/int/float/bool/None), merge keys resolved.

    Scalars are typed by their resolved YAML 1.1 tag (``true`` -> True, ``1`` -> 1, ``~`` -> None); any
    other tag (``!Ref``, timestamps...) keeps its text. Mapping keys become strings. Raises
    :class:`PlainTooLarge` beyond ``budget`` nodes (aliases count each time) or ``max_depth`` levels.
    """
    root = node.node if isinstance(node, View) else node
    remaining = [budget]

    def convert(current: Node, depth: int) -> Plain:
        remaining[0] -= 1
        if remaining[0] < 0 or depth > max_depth:
            raise PlainTooLarge("YAML subtree too large")
        if isinstance(current, ScalarNode):
            return _scalar(current)
        if isinstance(current, SequenceNode):
            return [convert(item, depth + 1) for item in current.value]
        if isinstance(current, MappingNode):
            out: dict[str, Plain] = {}
            merged: dict[str, Plain] = {}
            for key, value in current.value:
                if _is_merge_key(key):
                    sources = value.value if isinstance(value, SequenceNode) else [value]
                    for source in sources:
                        converted = convert(source, depth + 1)
                        if isinstance(converted, dict):
                            for k, v in converted.items():
                                merged.setdefault(k, v)
                    continue
                key_plain = convert(key, depth + 1)
                out[key_plain if isinstance(key_plain, str) else str(key_plain)] = convert(value, depth + 1)
            return {**{k: v for k, v in merged.items() if k not in out}, **out}
        raise PlainTooLarge("unknown YAML node")

    return convert(root, 0)


def _scalar(node: ScalarNode) -> Plain:
    text = str(node.value)
    tag = node.tag
    if tag == NULL_TAG:
        return None
    if tag == BOOL_TAG:
        return text.lower() in {"true", "yes", "on", "y"}
    if tag == INT_TAG:
        try:
            return int(text.replace("_", ""), 0)
        except ValueError:
            return text
    if tag == FLOAT_TAG:
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    return text
