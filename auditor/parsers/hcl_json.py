"""A small JSON reader that keeps lines and columns, and the Terraform JSON syntax (``.tf.json``) on top of it.

The standard ``json`` module forgets positions, so values are read here with its own ``scanstring`` and
number pattern while offsets are tracked. The same reader decodes JSON embedded in HCL heredocs (ECS
``container_definitions``), shifted to the heredoc's first line. Strings of Terraform JSON are
templates: ``"${var.x}"`` is parsed with the HCL expression parser.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]

from auditor.parsers.hcl_model import Attr, Block, Expr, ExprKind, HclFile, Item

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")
_MAX_DEPTH = 200
_WORDS: tuple[tuple[str, ExprKind, bool | None], ...] = (
    ("true", ExprKind.BOOL, True), ("false", ExprKind.BOOL, False), ("null", ExprKind.NULL, None))


class JsonError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Reader:
    def __init__(self, text: str, first_line: int = 1) -> None:
        self.s = text
        self.first_line = first_line
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def pos(self, idx: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.starts, idx) - 1
        return row + self.first_line, idx - self.starts[row] + 1

    def ws(self, idx: int) -> int:
        m = _WS.match(self.s, idx)
        return m.end() if m else idx

    def fail(self, message: str, idx: int) -> JsonError:
        return JsonError(message, self.pos(min(idx, len(self.s)))[0])

    def value(self, idx: int, depth: int = 0) -> tuple[Expr, int]:
        if depth > _MAX_DEPTH:
            raise self.fail("nesting too deep", idx)
        idx = self.ws(idx)
        if idx >= len(self.s):
            raise self.fail("unexpected end of JSON", idx)
        ch = self.s[idx]
        line, col = self.pos(idx)
        if ch == "{":
            items: list[Item] = []
            idx = self.ws(idx + 1)
            if self.s.startswith("}", idx):
                return self._expr(ExprKind.OBJECT, line, col, idx + 1), idx + 1
            while True:
                idx = self.ws(idx)
                if not self.s.startswith('"', idx):
                    raise self.fail("expected a string key", idx)
                kline, kcol = self.pos(idx)
                try:
                    key, idx = scanstring(self.s, idx + 1)
                except json.JSONDecodeError:
                    raise self.fail("invalid string", idx) from None
                idx = self.ws(idx)
                if not self.s.startswith(":", idx):
                    raise self.fail("expected ':'", idx)
                val, idx = self.value(idx + 1, depth + 1)
                items.append(Item(key, kline, kcol, val))
                idx = self.ws(idx)
                if self.s.startswith(",", idx):
                    idx += 1
                    continue
                if self.s.startswith("}", idx):
                    idx += 1
                    break
                raise self.fail("expected ',' or '}'", idx)
            return self._obj(line, col, idx, tuple(items)), idx
        if ch == "[":
            elements: list[Expr] = []
            idx = self.ws(idx + 1)
            if self.s.startswith("]", idx):
                return self._expr(ExprKind.TUPLE, line, col, idx + 1), idx + 1
            while True:
                val, idx = self.value(idx, depth + 1)
                elements.append(val)
                idx = self.ws(idx)
                if self.s.startswith(",", idx):
                    idx += 1
                    continue
                if self.s.startswith("]", idx):
                    idx += 1
                    break
                raise self.fail("expected ',' or ']'", idx)
            refs = tuple(dict.fromkeys(r for e in elements for r in e.refs))
            end_line = self.pos(idx - 1)[0]
            return Expr(ExprKind.TUPLE, line, col, end_line, self.s[self._start(line, col):idx],
                        elements=tuple(elements), refs=refs), idx
        if ch == '"':
            try:
                text, end = scanstring(self.s, idx + 1)
            except json.JSONDecodeError:
                raise self.fail("invalid string", idx) from None
            return Expr(ExprKind.STRING, line, col, self.pos(end - 1)[0], self.s[idx:end], value=text), end
        for word, kind, flag in _WORDS:
            if self.s.startswith(word, idx):
                return Expr(kind, line, col, line, word, value=flag), idx + len(word)
        m = _NUMBER.match(self.s, idx)
        if m:
            raw = m.group(0)
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return Expr(ExprKind.NUMBER, line, col, line, raw, value=number), m.end()
        raise self.fail("unexpected character", idx)

    def _start(self, line: int, col: int) -> int:
        return self.starts[line - self.first_line] + col - 1

    def _expr(self, kind: ExprKind, line: int, col: int, end: int) -> Expr:
        return Expr(kind, line, col, self.pos(end - 1)[0], self.s[self._start(line, col):end])

    def _obj(self, line: int, col: int, end: int, items: tuple[Item, ...]) -> Expr:
        refs = tuple(dict.fromkeys(r for i in items for r in i.value.refs))
        return Expr(ExprKind.OBJECT, line, col, self.pos(end - 1)[0], self.s[self._start(line, col):end],
                    items=items, refs=refs)


def parse_json(text: str, first_line: int = 1) -> Expr:
    """Parse one JSON document into expressions with positions. Raises :class:`JsonError` (with a line)."""
    reader = _Reader(text, first_line)
    value, idx = reader.value(0)
    idx = reader.ws(idx)
    if idx != len(text):
        raise reader.fail("extra data after the JSON value", idx)
    return value


# --- Terraform JSON syntax ------------------------------------------------------------------------------

_LABELS = {"resource": 2, "data": 2, "ephemeral": 2, "provider": 1, "variable": 1, "output": 1, "module": 1,
           "check": 1, "import": 0, "moved": 0, "removed": 0, "locals": 0, "terraform": 0}
_ATTR_ONLY = frozenset({"variable", "output", "locals"})  # bodies whose object values are expressions
_NESTED_LABELS = {"provisioner": 1, "dynamic": 1}


def template(expr: Expr) -> Expr:
    """A Terraform JSON string is a template: ``"${var.x}"`` means the traversal ``var.x``."""
    from auditor.parsers.hcl_ts import parse_expression

    if expr.kind is ExprKind.STRING and isinstance(expr.value, str) and ("${" in expr.value or "%{" in expr.value):
        quoted = '"' + expr.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        parsed = parse_expression(quoted)
        if parsed is not None:
            kind, name, refs, value = parsed.kind, parsed.name, parsed.refs, parsed.value
            inner = _sole_interpolation(expr.value)
            if inner is not None:
                sole = parse_expression(inner)
                if sole is not None:
                    kind, name, refs, value = sole.kind, sole.name, sole.refs, sole.value
            return Expr(kind, expr.line, expr.column, expr.end_line, expr.text, value=value, refs=refs, name=name)
        return expr
    if expr.kind is ExprKind.OBJECT:
        items = tuple(Item(i.key, i.line, i.column, template(i.value)) for i in expr.items)
        refs = tuple(dict.fromkeys(r for i in items for r in i.value.refs))
        return Expr(expr.kind, expr.line, expr.column, expr.end_line, expr.text, items=items, refs=refs)
    if expr.kind is ExprKind.TUPLE:
        elements = tuple(template(e) for e in expr.elements)
        refs = tuple(dict.fromkeys(r for e in elements for r in e.refs))
        return Expr(expr.kind, expr.line, expr.column, expr.end_line, expr.text, elements=elements, refs=refs)
    return expr


def _sole_interpolation(value: str) -> str | None:
    if value.startswith("${") and value.endswith("}") and value.count("${") == 1:
        return value[2:-1].strip()
    return None


def _bodies(expr: Expr) -> Iterator[Expr]:
    if expr.kind is ExprKind.OBJECT:
        yield expr
    elif expr.kind is ExprKind.TUPLE:
        yield from (e for e in expr.elements if e.kind is ExprKind.OBJECT)


def _block(type_: str, labels: tuple[str, ...], body: Expr, attr_only: bool,
           at: tuple[int, int] | None = None) -> Block:
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    for item in body.items:
        if item.key == "//":  # JSON syntax comment
            continue
        nested_labels = _NESTED_LABELS.get(item.key, 0)
        if not attr_only and item.value.kind in (ExprKind.OBJECT, ExprKind.TUPLE) and _is_block_like(item.value):
            for nb in _bodies(item.value):
                if nested_labels:
                    for lab in nb.items:
                        for inner in _bodies(lab.value):
                            blocks.append(_block(item.key, (lab.key,), inner, False, (lab.line, lab.column)))
                else:
                    blocks.append(_block(item.key, (), nb, False, (item.line, item.column)))
            continue
        attrs[item.key] = Attr(item.key, item.line, item.column, template(item.value))
    line, column = at or (body.line, body.column)
    return Block(type_, labels, line, column, body.end_line, attrs, tuple(blocks))


def _is_block_like(expr: Expr) -> bool:
    if expr.kind is ExprKind.OBJECT:
        return True
    return bool(expr.elements) and all(e.kind is ExprKind.OBJECT for e in expr.elements)


def _labelled(type_: str, depth: int, expr: Expr, labels: tuple[str, ...], at: tuple[int, int]) -> Iterator[Block]:
    if depth == 0:
        for body in _bodies(expr):
            yield _block(type_, labels, body, type_ in _ATTR_ONLY, at)
        return
    for body in _bodies(expr):
        for item in body.items:
            yield from _labelled(type_, depth - 1, item.value, (*labels, item.key), (item.line, item.column))


def terraform_json(root: Expr, tfvars: bool) -> HclFile:
    """Map a parsed ``.tf.json`` / ``.tfvars.json`` document onto the HCL file model."""
    if root.kind is not ExprKind.OBJECT:
        return HclFile(syntax="json")
    if tfvars:
        return HclFile((), {i.key: Attr(i.key, i.line, i.column, i.value) for i in root.items}, "json")
    blocks: list[Block] = []
    for item in root.items:
        depth = _LABELS.get(item.key)
        if depth is None:
            continue
        blocks.extend(_labelled(item.key, depth, item.value, (), (item.line, item.column)))
    return HclFile(tuple(blocks), {}, "json")
