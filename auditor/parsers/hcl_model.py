"""The typed model of a parsed HCL / Terraform JSON file (``Document.data`` for Terraform and tfvars).

Both front ends (tree-sitter-hcl for ``.tf``/``.tfvars``, the line-tracking JSON reader for
``.tf.json``/``.tfvars.json``) produce the same objects, so rules never care which syntax a module used.
Every expression keeps its exact 1-based line and column. Expressions are plain frozen dataclasses
(picklable: documents cross process boundaries); source text is excluded from ``repr`` because it may
hold a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class ExprKind(StrEnum):
    STRING = "string"  # a quoted string or heredoc without interpolation; ``value`` is the decoded text
    NUMBER = "number"
    BOOL = "bool"
    NULL = "null"
    TEMPLATE = "template"  # a string with ${...} / %{...}; ``value`` is the text with interpolations kept raw
    TRAVERSAL = "traversal"  # var.x, local.y, data.a.b.c, aws_x.y.z; ``name`` is the dotted form
    OBJECT = "object"
    TUPLE = "tuple"
    CALL = "call"  # ``name`` is the function, ``elements`` its arguments
    OTHER = "other"  # conditional, operation, for expression, splat...


LITERAL_KINDS = frozenset({ExprKind.STRING, ExprKind.NUMBER, ExprKind.BOOL})


@dataclass(frozen=True, slots=True)
class Expr:
    kind: ExprKind
    line: int  # 1-based
    column: int  # 1-based, in characters
    end_line: int
    text: str = field(default="", repr=False)  # source text of the expression
    value: str | int | float | bool | None = field(default=None, repr=False)
    refs: tuple[str, ...] = ()  # every reference inside: "var.x", "local.y", "data.t.n.attr", "aws_t.n.attr"
    name: str = ""  # TRAVERSAL: dotted reference; CALL: function name
    items: tuple[Item, ...] = ()  # OBJECT members, in source order
    elements: tuple[Expr, ...] = ()  # TUPLE elements / CALL arguments
    heredoc: bool = False

    @property
    def is_literal(self) -> bool:
        """A literal string (quoted or heredoc without interpolation), number or bool."""
        return self.kind in LITERAL_KINDS

    @property
    def literal(self) -> str | int | float | bool | None:
        return self.value if self.kind in LITERAL_KINDS else None

    @property
    def string(self) -> str | None:
        """The decoded text of a literal string, else None."""
        return self.value if self.kind is ExprKind.STRING and isinstance(self.value, str) else None

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)

    def walk(self) -> Iterator[Expr]:
        """This expression and every expression nested in it (object values, tuple elements, call args)."""
        yield self
        for it in self.items:
            yield from it.value.walk()
        for el in self.elements:
            yield from el.walk()


@dataclass(frozen=True, slots=True)
class Item:
    """One ``key = value`` member of an object expression."""

    key: str  # the key's text (identifier or decoded string); the source text when computed: "(var.k)"
    line: int
    column: int
    value: Expr
    computed: bool = False  # the key is an expression, not a name


@dataclass(frozen=True, slots=True)
class Attr:
    """One ``name = expression`` attribute of a block (or of a tfvars file)."""

    name: str
    line: int
    column: int
    expr: Expr

    @property
    def text(self) -> str:
        return self.expr.text

    @property
    def literal(self) -> str | int | float | bool | None:
        return self.expr.literal

    @property
    def refs(self) -> tuple[str, ...]:
        return self.expr.refs


@dataclass(frozen=True, slots=True)
class Block:
    type: str  # "resource", "provider", "variable", nested "environment"...
    labels: tuple[str, ...]
    line: int
    column: int
    end_line: int
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: tuple[Block, ...] = ()

    @property
    def address(self) -> str:
        """``aws_db_instance.main`` for resources, ``data.x.y``, ``provider.aws``, ``variable.x``..."""
        if self.type == "resource" and len(self.labels) == 2:
            return ".".join(self.labels)
        return ".".join((self.type, *self.labels))

    def attr(self, name: str) -> Attr | None:
        return self.attrs.get(name)

    def blocks_of(self, *types: str) -> Iterator[Block]:
        return (b for b in self.blocks if b.type in types)

    def block(self, type_: str) -> Block | None:
        return next(self.blocks_of(type_), None)

    def walk(self) -> Iterator[Block]:
        """This block and every block nested in it."""
        yield self
        for b in self.blocks:
            yield from b.walk()


@dataclass(frozen=True, slots=True)
class HclFile:
    """``Document.data`` for Terraform and tfvars documents."""

    blocks: tuple[Block, ...] = ()
    attrs: dict[str, Attr] = field(default_factory=dict)  # top-level attributes (tfvars)
    syntax: str = "hcl"  # "hcl" or "json"

    def blocks_of(self, *types: str) -> Iterator[Block]:
        return (b for b in self.blocks if b.type in types)

    def resources(self, *types: str) -> Iterator[Block]:
        """``resource`` blocks, optionally only those of the given resource types."""
        return (b for b in self.blocks if b.type == "resource" and b.labels and (not types or b.labels[0] in types))
