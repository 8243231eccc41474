"""HCL native syntax (``.tf``, ``.tfvars``) through tree-sitter-hcl, into :mod:`auditor.parsers.hcl_model`.

tree-sitter is an error-tolerant incremental parser written in C: on real modules it costs about 1/37 of
python-hcl2's CPU (see ``bench/parse_hcl.py``) and it keeps the position of every node. Syntax errors
become ERROR/MISSING nodes; the caller gets the line of the first one and everything that did parse.
The parser object is created once per process, on first use.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from auditor.parsers.hcl_model import Attr, Block, Expr, ExprKind, HclFile, Item

_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))|\$\$\{|%%\{", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_REF_ROOTS = frozenset({"var", "local", "data", "module", "ephemeral"})
_MAX_DEPTH = 64  # expression / block nesting kept in the model
_POSTFIX = frozenset({"get_attr", "index", "splat", "new_index", "legacy_index"})


@cache
def _parser() -> Any:
    import tree_sitter_hcl
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_hcl.language()))


def unescape(raw: str) -> str:
    """Decode the escapes of a quoted HCL template literal (``\\n``, ``\\"``, ``\\uXXXX``, ``$${``, ``%%{``)."""
    if "\\" not in raw and "$${" not in raw and "%%{" not in raw:
        return raw

    def sub(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "$${":
            return "${"
        if text == "%%{":
            return "%{"
        hexa = m.group(1) or m.group(2)
        if hexa:
            try:
                return chr(int(hexa, 16))
            except ValueError:
                return text
        return _SIMPLE_ESCAPES.get(m.group(3), text)

    return _ESCAPE.sub(sub, raw)


def is_reference(dotted: str) -> bool:
    """Whether a traversal names something Terraform resolves (not a for-expression iterator or ``each``)."""
    root, _, rest = dotted.partition(".")
    return bool(rest) and (root in _REF_ROOTS or "_" in root)


class _Converter:
    def __init__(self, src: bytes) -> None:
        self.src = src
        self.ascii = src.isascii()
        self.depth = 0

    # --- positions -------------------------------------------------------------------------------------
    def text(self, node: Any) -> str:
        return self.src[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def pos(self, node: Any) -> tuple[int, int]:
        row, col = node.start_point
        if not self.ascii and col:
            start = node.start_byte
            col = len(self.src[start - col:start].decode("utf-8", "replace"))
        return row + 1, col + 1

    # --- structure -------------------------------------------------------------------------------------
    def body(self, node: Any) -> tuple[dict[str, Attr], list[Block]]:
        attrs: dict[str, Attr] = {}
        blocks: list[Block] = []
        for child in node.named_children:
            if child.type == "attribute":
                attr = self.attribute(child)
                if attr is not None:
                    attrs[attr.name] = attr
            elif child.type == "block":
                block = self.block(child)
                if block is not None:
                    blocks.append(block)
        return attrs, blocks

    def attribute(self, node: Any) -> Attr | None:
        ident = expr_node = None
        for child in node.named_children:
            if child.type == "identifier" and ident is None:
                ident = child
            elif child.type == "expression":
                expr_node = child
        if ident is None or expr_node is None:
            return None
        line, col = self.pos(ident)
        return Attr(self.text(ident), line, col, self.expr(expr_node))

    def block(self, node: Any) -> Block | None:
        if self.depth >= _MAX_DEPTH:
            return None
        self.depth += 1
        try:
            return self._block(node)
        finally:
            self.depth -= 1

    def _block(self, node: Any) -> Block | None:
        type_: str | None = None
        labels: list[str] = []
        attrs: dict[str, Attr] = {}
        blocks: list[Block] = []
        for child in node.named_children:
            if child.type == "identifier":
                if type_ is None:
                    type_ = self.text(child)
                else:
                    labels.append(self.text(child))
            elif child.type == "string_lit":
                labels.append(self.string_lit(child))
            elif child.type == "body":
                attrs, blocks = self.body(child)
        if type_ is None:
            return None
        line, col = self.pos(node)
        return Block(type_, tuple(labels), line, col, node.end_point[0] + 1, attrs, tuple(blocks))

    # --- expressions -----------------------------------------------------------------------------------
    def string_lit(self, node: Any) -> str:
        parts = [self.text(c) for c in node.named_children if c.type == "template_literal"]
        return unescape("".join(parts))

    def make(self, node: Any, kind: ExprKind, **kw: Any) -> Expr:
        line, col = self.pos(node)
        return Expr(kind, line, col, node.end_point[0] + 1, self.text(node), **kw)

    def expr(self, node: Any) -> Expr:
        """Convert an ``expression`` node (or any node that stands for one)."""
        if self.depth >= _MAX_DEPTH:  # pathological nesting: keep the text, skip the structure
            return self.make(node, ExprKind.OTHER)
        self.depth += 1
        try:
            return self._expr(node)
        finally:
            self.depth -= 1

    def _expr(self, node: Any) -> Expr:
        if node.type != "expression":
            return self.primary(node, node)
        children = [c for c in node.children if c.type != "comment"]
        if not children:
            return self.make(node, ExprKind.OTHER)
        first = children[0]
        postfix = children[1:]
        if first.type == "(":
            inner = next((c for c in children if c.type == "expression"), None)
            rest = [c for c in children if c.type in _POSTFIX]
            if inner is not None and not rest:
                return self.expr(inner)
            return self.make(node, ExprKind.OTHER, refs=self.refs_in(node))
        if first.type == "variable_expr":
            parts = [self.text(first)]
            for p in postfix:
                if p.type == "get_attr":
                    ident = next((c for c in p.named_children if c.type == "identifier"), None)
                    if ident is not None:
                        parts.append(self.text(ident))
                elif p.type == "splat":
                    for g in p.named_children:  # [*].x / .*.x carry their own get_attr children
                        for ga in g.named_children:
                            if ga.type == "get_attr":
                                ident = next((c for c in ga.named_children if c.type == "identifier"), None)
                                if ident is not None:
                                    parts.append(self.text(ident))
            dotted = ".".join(parts)
            index_refs = tuple(r for p in postfix if p.type != "get_attr" for r in self.refs_in(p))
            refs = ((dotted,) if is_reference(dotted) else ()) + index_refs
            return self.make(node, ExprKind.TRAVERSAL, name=dotted, refs=_uniq(refs))
        primary = self.primary(first, node)
        if postfix:
            return self.make(node, ExprKind.OTHER, refs=self.refs_in(node))
        return primary

    def primary(self, node: Any, outer: Any) -> Expr:
        t = node.type
        if t == "literal_value":
            lit = node.named_children[0] if node.named_children else None
            if lit is None:
                return self.make(outer, ExprKind.OTHER)
            if lit.type == "string_lit":
                return self.make(outer, ExprKind.STRING, value=self.string_lit(lit))
            if lit.type == "numeric_lit":
                raw = self.text(lit)
                number: int | float
                try:
                    number = int(raw)
                except ValueError:
                    try:
                        number = float(raw)
                    except ValueError:
                        return self.make(outer, ExprKind.OTHER)
                return self.make(outer, ExprKind.NUMBER, value=number)
            if lit.type == "bool_lit":
                return self.make(outer, ExprKind.BOOL, value=self.text(lit) == "true")
            return self.make(outer, ExprKind.NULL)
        if t == "collection_value":
            coll = node.named_children[0] if node.named_children else None
            if coll is not None and coll.type == "tuple":
                elements = tuple(self.expr(c) for c in coll.named_children if c.type == "expression")
                return self.make(outer, ExprKind.TUPLE, elements=elements, refs=_merge(e.refs for e in elements))
            if coll is not None and coll.type == "object":
                items = tuple(i for i in (self.object_elem(c) for c in coll.named_children
                                          if c.type == "object_elem") if i is not None)
                return self.make(outer, ExprKind.OBJECT, items=items, refs=_merge(i.value.refs for i in items))
            return self.make(outer, ExprKind.OTHER)
        if t == "template_expr":
            tmpl = node.named_children[0] if node.named_children else None
            if tmpl is not None and tmpl.type == "quoted_template":
                return self.quoted_template(tmpl, outer)
            if tmpl is not None and tmpl.type == "heredoc_template":
                return self.heredoc(tmpl, outer)
            return self.make(outer, ExprKind.OTHER)
        if t == "function_call":
            ident = next((c for c in node.named_children if c.type == "identifier"), None)
            fargs = next((c for c in node.named_children if c.type == "function_arguments"), None)
            args = tuple(self.expr(c) for c in fargs.named_children if c.type == "expression") if fargs else ()
            name = self.text(ident) if ident is not None else ""
            return self.make(outer, ExprKind.CALL, name=name, elements=args, refs=_merge(a.refs for a in args))
        if t == "variable_expr":
            dotted = self.text(node)
            return self.make(outer, ExprKind.TRAVERSAL, name=dotted)
        return self.make(outer, ExprKind.OTHER, refs=self.refs_in(node))

    def object_elem(self, node: Any) -> Item | None:
        key_node = node.child_by_field_name("key")
        val_node = node.child_by_field_name("val")
        if key_node is None or val_node is None:
            return None
        key = self.expr(key_node)
        line, col = self.pos(key_node)
        if key.kind is ExprKind.TRAVERSAL and "." not in key.name:
            return Item(key.name, line, col, self.expr(val_node))
        if key.kind is ExprKind.STRING and isinstance(key.value, str):
            return Item(key.value, line, col, self.expr(val_node))
        return Item(key.text, line, col, self.expr(val_node), computed=True)

    def template_parts(self, node: Any, start: int, end: int, decode: bool) -> tuple[str, bool, list[str]]:
        """Text of a template between byte offsets, literal parts decoded, interpolations kept raw."""
        out: list[str] = []
        refs: list[str] = []
        dynamic = False
        pos = start
        for child in node.children:
            if child.end_byte <= start or child.start_byte >= end:
                continue
            if child.type in ("template_interpolation", "template_directive"):
                if child.start_byte > pos:
                    lit = self.src[pos:child.start_byte].decode("utf-8", "replace")
                    out.append(unescape(lit) if decode else _unescape_heredoc(lit))
                out.append(self.text(child))
                refs.extend(self.refs_in(child))
                dynamic = True
                pos = child.end_byte
        if end > pos:
            lit = self.src[pos:end].decode("utf-8", "replace")
            out.append(unescape(lit) if decode else _unescape_heredoc(lit))
        return "".join(out), dynamic, refs

    def quoted_template(self, node: Any, outer: Any) -> Expr:
        start, end = node.start_byte + 1, node.end_byte - 1
        end = max(end, start)
        text, dynamic, refs = self.template_parts(node, start, end, decode=True)
        if not dynamic:
            return self.make(outer, ExprKind.STRING, value=text)
        return self.make(outer, ExprKind.TEMPLATE, value=text, refs=_uniq(refs))

    def heredoc(self, node: Any, outer: Any) -> Expr:
        children = node.children
        idents = [c for c in children if c.type == "heredoc_identifier"]
        strip = any(c.type == "heredoc_start" and self.text(c).startswith("<<-") for c in children)
        if len(idents) < 2 or idents[-1].is_missing:
            return self.make(outer, ExprKind.OTHER, heredoc=True)
        nl = self.src.find(b"\n", idents[0].end_byte)
        start = idents[0].end_byte if nl < 0 else nl + 1
        close = idents[-1].start_byte
        end = self.src.rfind(b"\n", start, close) + 1 if close > start else start
        end = max(end, start)
        text, dynamic, refs = self.template_parts(node, start, end, decode=False)
        if strip:
            text = _dedent(text)
        if not dynamic:
            return self.make(outer, ExprKind.STRING, value=text, heredoc=True)
        return self.make(outer, ExprKind.TEMPLATE, value=text, refs=_uniq(refs), heredoc=True)

    def refs_in(self, node: Any) -> tuple[str, ...]:
        """References anywhere below a node (through conditionals, operations, for expressions...)."""
        found: list[str] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "expression" and n.named_children and n.named_children[0].type == "variable_expr":
                found.extend(self.expr(n).refs)
                continue
            stack.extend(reversed(n.named_children))
        return _uniq(found)


def _unescape_heredoc(raw: str) -> str:
    return raw.replace("$${", "${").replace("%%{", "%{")


def _dedent(text: str) -> str:
    lines = text.split("\n")
    indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines if ln.strip()]
    cut = min(indents, default=0)
    return "\n".join(ln[cut:] if ln.strip() else ln.lstrip(" \t") for ln in lines)


def _uniq(refs: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(refs))


def _merge(groups: Any) -> tuple[str, ...]:
    return _uniq(r for g in groups for r in g)


def first_error_line(root: Any) -> int | None:
    """Line of the first ERROR or MISSING node, in document order."""
    if not root.has_error:
        return None
    node = root
    while True:
        for child in node.children:
            if child.is_error or child.is_missing:
                return int(child.start_point[0]) + 1
            if child.has_error:
                node = child
                break
        else:
            return int(node.start_point[0]) + 1


def parse_hcl(text: str) -> tuple[HclFile, int | None]:
    """Parse HCL native syntax. Returns the file model and the line of the first syntax error, if any."""
    src = text.encode("utf-8", "surrogatepass")
    tree = _parser().parse(src)
    root = tree.root_node
    conv = _Converter(src)
    body = next((c for c in root.named_children if c.type == "body"), None)
    attrs, blocks = conv.body(body) if body is not None else ({}, [])
    return HclFile(tuple(blocks), attrs, "hcl"), first_error_line(root)


def parse_expression(text: str) -> Expr | None:
    """Parse a single HCL expression (used for ``${...}`` strings of Terraform JSON syntax)."""
    hcl, error = parse_hcl(f"x = {text}\n")
    attr = hcl.attrs.get("x")
    return attr.expr if attr is not None and error is None else None
