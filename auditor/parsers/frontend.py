"""Front-end build configuration: what a framework config inlines into the client bundle.

Read at the text level (a small JavaScript/TypeScript tokenizer and a tolerant reader of object literals,
array literals and calls, no JS engine), with exact lines and columns. Recognised files (see
:func:`frontend_framework`): ``next.config.*``, ``vite.config.*``, ``nuxt.config.*``, ``astro.config.*``,
``svelte.config.*``, ``webpack.config.*`` (and ``webpack.<name>.js``), ``gatsby-config.*``, ``vue.config.*``,
``angular.json`` and Angular's ``src/environments/environment*.ts``.

What becomes a site (:attr:`SiteKind.CONFIG_KEY`, :attr:`Phase.CLIENT`; ``name`` is the exposed key):

- Next.js ``env: {KEY: value}`` (always bundled), ``publicRuntimeConfig``, ``compiler.define``;
- Vite ``define`` (also under ``vite:`` in Astro/Nuxt/SvelteKit configs): ``'process.env.X'`` and
  ``'import.meta.env.X'`` keys are named ``X``, ``__KEY__`` keys keep their name, nested
  ``'process.env': {X: ...}`` maps are flattened; ``envPrefix`` entries (a string or an array);
- Nuxt ``runtimeConfig.public.<key>`` (Nuxt 2: ``publicRuntimeConfig`` and ``env``);
- Astro ``env.schema.X: envField.*({context: "client"})``; SvelteKit ``kit.env.publicPrefix`` and
  ``defineEnvVars({X: {public: true}})``;
- webpack ``DefinePlugin({...})`` and ``EnvironmentPlugin([...] | {...} | 'A', 'B')`` anywhere in any of these
  files; assignments ``process.env.<CLIENT_PREFIX>X = ...`` and ``args[0]['process.env'].X = ...`` (Vue CLI
  ``chainWebpack`` taps); computed define keys `` `process.env.${k}` `` (a whole .env file inlined);
- Gatsby ``gatsby-plugin-env-variables`` ``options.allowList`` (or the older ``whitelist``);
- Angular: every key of an object literal in ``src/environments/environment*.ts`` (Angular has no public
  prefix: all of it is bundled), and ``define`` maps in ``angular.json``.

Server-only configuration (Next.js ``serverRuntimeConfig``, Nuxt ``runtimeConfig`` outside ``public`` and
``privateRuntimeConfig``, Astro ``context: "server"``) is recorded too, with :attr:`Phase.RUNTIME`.

A value is ``classify``-ed when it is a literal; ``process.env.X``, ``import.meta.env.X``, ``env.X`` (from
Vite's ``loadEnv`` or dotenv's ``.parsed``) and variables destructured from them are references
(:attr:`RefKind.ENV_VAR`, ``ref_name`` X; ``process.env.X || 'literal'`` keeps its default), unwrapped from
``JSON.stringify``/``String``. ``site.context`` holds ``framework``, ``construct`` (``env``, ``define``,
``envPrefix``...), ``binding`` (``value``: what is bundled is the value given here, as in ``env`` and
``define``; ``name``: the key is filled from the environment whatever the value here, as in Nuxt
``runtimeConfig.public`` or ``EnvironmentPlugin``), ``refs`` (environment names read by the value,
comma-separated), ``exposes: all`` when the whole environment is inlined (``'process.env': process.env``,
``...process.env``, ``loadEnv(mode, root, '')``) and ``prefix`` for ``envPrefix``/``publicPrefix`` entries.

``doc.data`` is a :class:`FrontendConfig`. Unterminated strings, comments or templates and unbalanced
brackets are warnings (the rest of the file is read as well as it can be); nothing raises.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.detect.names import CLIENT_PREFIXES
from auditor.detect.values import classify
from auditor.model import Diagnostic, Document, Location, Phase, RefKind, Site, SiteKind, Value, ValueKind

# ------------------------------------------------------------------------------------------------ file names

_JS_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
_CONFIG_STEMS: dict[str, str] = {
    "next.config": "next",
    "vite.config": "vite",
    "nuxt.config": "nuxt",
    "astro.config": "astro",
    "svelte.config": "svelte",
    "webpack.config": "webpack",
    "gatsby-config": "gatsby",
    "vue.config": "vue",
}
_WEBPACK_VARIANT = re.compile(r"^webpack\.[\w.-]+\.(?:js|mjs|cjs|ts)$")  # webpack.prod.js, webpack.common.js
_ANGULAR_ENV = re.compile(r"^environment(?:\.[\w-]+)*\.ts$")


def frontend_framework(path: str) -> str | None:
    """The framework whose build configuration ``path`` is, from its name alone; None for other files.

    ``vitest.config.*`` is not a build configuration (tests only) and is not claimed.
    """
    name = posixpath.basename(path)
    lower = name.lower()
    if lower == "angular.json":
        return "angular"
    if lower.endswith(_JS_EXTENSIONS):
        stem = lower.split(".", 2)
        head = ".".join(stem[:2])
        if head in _CONFIG_STEMS and not lower.endswith(".d.ts"):
            return _CONFIG_STEMS[head]
        if stem[0] == "gatsby-config" and not lower.endswith(".d.ts"):
            return "gatsby"
        if _WEBPACK_VARIANT.match(lower):
            return "webpack"
        parent = posixpath.dirname(path)
        if (_ANGULAR_ENV.match(name) and posixpath.basename(parent) == "environments"
                and posixpath.basename(posixpath.dirname(parent)) == "src"):
            return "angular-env"
    return None


# ------------------------------------------------------------------------------------------------ model


@dataclass(slots=True)
class FrontendConfig:
    """What the parser learnt about one configuration file."""

    framework: str  # next, vite, nuxt, astro, svelte, webpack, gatsby, vue, angular, angular-env
    env_prefixes: list[str] = field(default_factory=list)  # Vite envPrefix entries / SvelteKit publicPrefix
    exposures: int = 0  # client-phase sites recorded


# ------------------------------------------------------------------------------------------------ tokenizer


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "id", "str" (decoded in text), "tpl" (raw inner text), "num", "re", "p" (punctuation)
    text: str
    start: int  # offset in the file
    end: int
    subs: tuple[tuple[Token, ...], ...] = ()  # template substitutions, tokenized
    quasis: tuple[str, ...] = ()  # template literal parts (cooked)


_IDENT = re.compile(r"[A-Za-z_$\x80-\U0010ffff][\w$\x80-\U0010ffff]*")
_NUMBER = re.compile(r"(?:0[xXbBoO][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?)n?")
_PUNCT = re.compile(
    r"\.\.\.|\?\?=|\|\|=|&&=|>>>=|===|!==|\*\*=|<<=|>>=|>>>|=>|\?\?|\?\.(?!\d)|\|\||&&|==|!=|<=|>=|\+\+|--"
    r"|[-+*/%&|^]=|\*\*|<<|>>|[{}()\[\];,<>+\-*/%&|^!~?:=.@#]"
)
_REGEX_AFTER_WORDS = frozenset({"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void",
                                "throw", "instanceof", "yield", "await"})
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE = re.compile(r"\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\s\S]))")


def _unescape(raw: str) -> str:
    def repl(m: re.Match[str]) -> str:
        hexa = m.group(1) or m.group(2) or m.group(3)
        if hexa:
            code = int(hexa, 16)
            return chr(code) if code <= 0x10FFFF else ""
        ch = m.group(4)
        if ch in ("\n", "\r", "\r\n", "\u2028", "\u2029"):
            return ""  # line continuation
        return _SIMPLE_ESCAPES.get(ch, ch)

    return _ESCAPE.sub(repl, raw) if "\\" in raw else raw


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[tuple[int, str]] = []  # (offset, message)

    def run(self) -> list[Token]:
        start = 2 if self.text.startswith("#!") else 0
        if start:
            nl = self.text.find("\n")
            start = len(self.text) if nl < 0 else nl
        tokens, _ = self._lex(start, nested=False)
        return tokens

    def _regex_allowed(self, tokens: list[Token]) -> bool:
        if not tokens:
            return True
        prev = tokens[-1]
        if prev.kind in ("num", "str", "tpl", "re"):
            return False
        if prev.kind == "id":
            return prev.text in _REGEX_AFTER_WORDS
        return prev.text not in (")", "]", "}", "++", "--")

    def _lex(self, i: int, *, nested: bool) -> tuple[list[Token], int]:
        """Tokens from ``i``; in ``nested`` mode (a template ``${...}``) stop after the closing brace."""
        text, n = self.text, len(self.text)
        tokens: list[Token] = []
        depth = 0
        while i < n:
            ch = text[i]
            if ch in " \t\r\n\f\v\ufeff\u00a0\u2028\u2029":
                i += 1
                continue
            if ch == "/" and text.startswith("//", i):
                nl = text.find("\n", i)
                i = n if nl < 0 else nl
                continue
            if ch == "/" and text.startswith("/*", i):
                close = text.find("*/", i + 2)
                if close < 0:
                    self.problems.append((i, "unterminated block comment; the rest of the file is not read"))
                    return tokens, n
                i = close + 2
                continue
            if ch in "'\"":
                i = self._string(i, tokens)
                continue
            if ch == "`":
                i = self._template(i, tokens)
                continue
            if ch == "/" and self._regex_allowed(tokens):
                end = self._regex(i)
                if end is not None:
                    tokens.append(Token("re", text[i:end], i, end))
                    i = end
                    continue
            if m := _IDENT.match(text, i):
                tokens.append(Token("id", m.group(), i, m.end()))
                i = m.end()
                continue
            if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
                m2 = _NUMBER.match(text, i)
                end = m2.end() if m2 and m2.end() > i else i + 1
                tokens.append(Token("num", text[i:end], i, end))
                i = end
                continue
            m3 = _PUNCT.match(text, i)
            end = m3.end() if m3 else i + 1
            punct = text[i:end]
            if nested:
                if punct == "{":
                    depth += 1
                elif punct == "}":
                    if depth == 0:
                        return tokens, end
                    depth -= 1
            tokens.append(Token("p", punct, i, end))
            i = end
        if nested:
            self.problems.append((n, "unterminated template substitution"))
        return tokens, n

    def _string(self, i: int, tokens: list[Token]) -> int:
        text, quote = self.text, self.text[i]
        j = i + 1
        n = len(text)
        while j < n:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == quote:
                tokens.append(Token("str", _unescape(text[i + 1:j]), i, j + 1))
                return j + 1
            if c == "\n":
                break
            j += 1
        self.problems.append((i, "unterminated string literal; read to the end of its line"))
        end = min(j, n)
        tokens.append(Token("str", _unescape(text[i + 1:end]), i, end))
        return end

    def _template(self, i: int, tokens: list[Token]) -> int:
        text, n = self.text, len(self.text)
        j = i + 1
        subs: list[tuple[Token, ...]] = []
        quasis: list[str] = []
        part_start = j
        while j < n:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == "`":
                quasis.append(_unescape(text[part_start:j]))
                tokens.append(Token("tpl", text[i + 1:j], i, j + 1, tuple(subs), tuple(quasis)))
                return j + 1
            if c == "$" and text.startswith("${", j):
                quasis.append(_unescape(text[part_start:j]))
                inner, j = self._lex(j + 2, nested=True)
                subs.append(tuple(inner))
                part_start = j
                continue
            j += 1
        self.problems.append((i, "unterminated template literal; the rest of the file is not read"))
        quasis.append(_unescape(text[part_start:n]))
        tokens.append(Token("tpl", text[i + 1:n], i, n, tuple(subs), tuple(quasis)))
        return n

    def _regex(self, i: int) -> int | None:
        text, n = self.text, len(self.text)
        j = i + 1
        in_class = False
        while j < n:
            c = text[j]
            if c in "\r\n":
                return None
            if c == "\\":
                j += 2
                continue
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                j += 1
                while j < n and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                return j
            j += 1
        return None


def tokenize(text: str) -> tuple[list[Token], list[tuple[int, str]]]:
    """Tokens of a JavaScript/TypeScript/JSON text, and the problems met (offset, message)."""
    lexer = _Lexer(text)
    tokens = lexer.run()
    return tokens, lexer.problems


# ------------------------------------------------------------------------------------------------ syntax tree


@dataclass(frozen=True, slots=True)
class Node:
    first: int  # token index
    last: int  # token index, inclusive


@dataclass(frozen=True, slots=True)
class Member:
    key: str | None  # None for computed keys that are not a string
    key_index: int  # token index of the key (or of the spread operator)
    value: Node | None  # None for methods
    spread: bool = False


@dataclass(frozen=True, slots=True)
class JsObject(Node):
    members: tuple[Member, ...] = ()


@dataclass(frozen=True, slots=True)
class JsArray(Node):
    items: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class JsString(Node):
    value: str = ""


@dataclass(frozen=True, slots=True)
class JsCall(Node):
    callee: str = ""  # dotted: "webpack.DefinePlugin", "envField.string"
    args: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class JsExpr(Node):
    """Anything else: identifiers, member expressions, operators, functions, templates with substitutions."""


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")", "]", "}"}
_OBJECT_AFTER_PUNCT = frozenset({"=", "(", ",", ":", "[", "?", "||", "&&", "??", "...", "??=", "||=", "&&=", "!"})
_OBJECT_AFTER_WORDS = frozenset({"return", "default", "yield", "await"})
_MAX_DEPTH = 120


class _Reader:
    """Reads object literals, arrays and calls out of a token list, tolerating anything else."""

    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.match: dict[int, int] = {}
        self.unbalanced: int | None = None  # token index of the first bracket problem
        self.covered: set[int] = set()  # indices of "{" and "(" already read as part of a tree
        self._match_brackets()

    def _match_brackets(self) -> None:
        stack: list[int] = []
        for i, tok in enumerate(self.toks):
            if tok.kind != "p":
                continue
            if tok.text in _OPENERS:
                stack.append(i)
            elif tok.text in _CLOSERS:
                found = next((k for k in range(len(stack) - 1, -1, -1)
                              if _OPENERS[self.toks[stack[k]].text] == tok.text), None)
                if found is None:
                    self._problem(i)
                    continue
                if found != len(stack) - 1:
                    self._problem(stack[found + 1])
                for opener in stack[found + 1:]:
                    self.match[opener] = i
                self.match[stack[found]] = i
                del stack[found:]
        for opener in stack:
            self._problem(opener)
            self.match[opener] = len(self.toks)

    def _problem(self, index: int) -> None:
        if self.unbalanced is None:
            self.unbalanced = index

    def t(self, i: int) -> str:
        """The text of token ``i`` when it is punctuation or an identifier, else ''."""
        if 0 <= i < len(self.toks) and self.toks[i].kind in ("p", "id"):
            return self.toks[i].text
        return ""

    def close(self, i: int) -> int:
        return self.match.get(i, len(self.toks))

    def split(self, i: int, j: int) -> list[tuple[int, int]]:
        """Comma-separated segments of tokens ``[i, j)`` at bracket depth 0, empty ones dropped."""
        out: list[tuple[int, int]] = []
        start = k = i
        while k < j:
            text = self.t(k)
            if text in _OPENERS:
                k = min(self.close(k), j - 1) + 1 if self.close(k) < j else j
                continue
            if text == ",":
                if k > start:
                    out.append((start, k))
                start = k + 1
            k += 1
        if j > start:
            out.append((start, j))
        return out

    def object_context(self, i: int) -> bool:
        """Whether the "{" at ``i`` starts an object literal rather than a block."""
        prev = self.toks[i - 1] if i > 0 else None
        if prev is None:
            return False
        if prev.kind == "p":
            return prev.text in _OBJECT_AFTER_PUNCT
        return prev.kind == "id" and prev.text in _OBJECT_AFTER_WORDS

    def value(self, i: int, j: int, depth: int = 0) -> Node | None:
        """The expression of tokens ``[i, j)``."""
        j = self._strip_type_suffix(i, min(j, len(self.toks)))
        while j - i >= 2 and self.t(i) == "(" and self.close(i) == j - 1:
            i, j = i + 1, j - 1
        if j <= i:
            return None
        if depth > _MAX_DEPTH:
            return JsExpr(i, j - 1)
        tok = self.toks[i]
        if j - i == 1:
            if tok.kind == "str":
                return JsString(i, i, tok.text)
            if tok.kind == "tpl" and not tok.subs:
                return JsString(i, i, tok.quasis[0] if tok.quasis else "")
            return JsExpr(i, i)
        if tok.kind == "p" and tok.text == "{" and self.close(i) == j - 1:
            return self.object(i, depth + 1)
        if tok.kind == "p" and tok.text == "[" and self.close(i) == j - 1:
            items = [self.value(s + 1 if self.t(s) == "..." else s, e, depth + 1) for s, e in self.split(i + 1, j - 1)]
            return JsArray(i, j - 1, tuple(item for item in items if item is not None))
        call = self._call(i, j, depth)
        return call if call is not None else JsExpr(i, j - 1)

    def _strip_type_suffix(self, i: int, j: int) -> int:
        """Drop a trailing TypeScript ``as T`` / ``satisfies T`` / non-null ``!``."""
        k = i + 1
        while k < j:
            text = self.t(k)
            if text in _OPENERS:
                k = self.close(k) + 1
                continue
            prev = self.toks[k - 1]
            if self.toks[k].kind == "id" and text in ("as", "satisfies") and (
                    prev.kind != "p" or prev.text in _CLOSERS or prev.text == "!"):
                j = k
                break
            k += 1
        while j - 1 > i and self.t(j - 1) == "!":
            j -= 1
        return j

    def _call(self, i: int, j: int, depth: int) -> JsCall | None:
        k = i + 1 if self.t(i) == "new" else i
        if k >= j or self.toks[k].kind != "id":
            return None
        chain = [self.toks[k].text]
        k += 1
        while k + 1 < j and self.t(k) in (".", "?.") and self.toks[k + 1].kind == "id":
            chain.append(self.toks[k + 1].text)
            k += 2
        if self.t(k) != "(" or self.close(k) != j - 1:
            return None
        self.covered.add(k)
        args = [self.value(s, e, depth + 1) for s, e in self.split(k + 1, j - 1)]
        return JsCall(i, j - 1, ".".join(chain), tuple(a for a in args if a is not None))

    def object(self, i: int, depth: int = 0) -> JsObject:
        self.covered.add(i)
        close = self.close(i)
        members: list[Member] = []
        for s, e in self.split(i + 1, min(close, len(self.toks))):
            member = self._member(s, e, depth)
            if member is not None:
                members.append(member)
        return JsObject(i, min(close, len(self.toks) - 1), tuple(members))

    def _member(self, s: int, e: int, depth: int) -> Member | None:
        if self.t(s) == "...":
            return Member(None, s, self.value(s + 1, e, depth + 1), spread=True)
        k = s
        # modifiers of methods and accessors: get x() {}, async x() {}, *gen() {}
        while k + 1 < e and ((self.t(k) in ("get", "set", "async", "static") and self.t(k + 1) not in (":", "(", ","))
                             or self.t(k) == "*"):
            k += 1
        tok = self.toks[k]
        key: str | None
        if tok.kind in ("id", "num", "str"):
            key, after = tok.text, k + 1
        elif tok.kind == "tpl" and not tok.subs:
            key, after = (tok.quasis[0] if tok.quasis else ""), k + 1
        elif tok.kind == "p" and tok.text == "[":
            inner_end = self.close(k)
            inner = self.toks[k + 1] if inner_end == k + 2 else None
            if inner is not None and inner.kind == "str":
                key = inner.text
            elif inner is not None and inner.kind == "tpl":
                key = inner.text if inner.subs else (inner.quasis[0] if inner.quasis else "")
            else:
                key = None
            after = inner_end + 1
        else:
            return None
        if after >= e:
            return Member(key, k, JsExpr(k, k) if tok.kind == "id" else None)  # shorthand {a}
        nxt = self.t(after)
        if nxt == "?" and self.t(after + 1) == ":":  # TS optional property in a type literal
            after += 1
            nxt = ":"
        if nxt == ":":
            return Member(key, k, self.value(after + 1, e, depth + 1))
        if nxt in ("(", "<"):
            return Member(key, k, None)  # method
        if nxt == "=" and tok.kind == "id":  # shorthand with default in a destructuring pattern
            return Member(key, k, JsExpr(k, k))
        return None

    def roots(self) -> Iterator[int]:
        """Token indices where a tree starts: object literals and calls not read as part of another."""
        toks = self.toks
        for k, tok in enumerate(toks):
            if tok.kind == "p" and tok.text == "{":
                if k not in self.covered and self.object_context(k):
                    yield k
            elif tok.kind == "id" and self.t(k - 1) not in (".", "?."):
                m = k
                while self.t(m + 1) in (".", "?.") and m + 2 < len(toks) and toks[m + 2].kind == "id":
                    m += 2
                if self.t(m + 1) == "(" and (m + 1) not in self.covered:
                    yield k

    def root(self, k: int) -> Node | None:
        """The tree starting at a :meth:`roots` index."""
        if self.t(k) == "{":
            return self.object(k)
        start = k - 1 if self.t(k - 1) == "new" else k
        m = k
        while self.t(m + 1) in (".", "?.") and m + 2 < len(self.toks) and self.toks[m + 2].kind == "id":
            m += 2
        return self.value(start, self.close(m + 1) + 1)


# ------------------------------------------------------------------------------------------------ extraction


_WHOLE = "*"  # a pseudo reference name: the whole environment
_DEFINE_PREFIXES = ("process.env.", "import.meta.env.", "globalThis.process.env.", "global.process.env.")
_DEFINE_WHOLE = frozenset({"process.env", "import.meta.env", "globalThis.process.env", "global.process.env"})
_UNWRAP_CALLS = frozenset({"JSON.stringify", "String", "JSON.parse", "encodeURIComponent"})
_GATSBY_ENV_PLUGIN = "gatsby-plugin-env-variables"


@dataclass(frozen=True, slots=True)
class _Container:
    construct: str  # env, publicRuntimeConfig, define, runtimeConfig.public, DefinePlugin...
    phase: Phase
    binding: str  # "value" or "name"
    define: bool = False  # keys are define expressions (process.env.X), values are code


_SERVER = Phase.RUNTIME


class _Extractor:
    def __init__(self, doc: Document, text: str, framework: str, tokens: list[Token]) -> None:
        self.doc = doc
        self.text = text
        self.framework = framework
        self.r = _Reader(tokens)
        self.toks = tokens
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
        self.inherited: dict[int, tuple[str, ...]] = {}
        self.seen: set[tuple[int, int, str, str]] = set()
        self.data = FrontendConfig(framework)
        self.consts: dict[str, int] = {}  # const NAME = {...} -> index of "{"
        self.env_objects: dict[str, bool] = {}  # identifiers holding an env object -> holds every variable
        self.env_names: dict[str, str] = {}  # identifiers destructured from an env object -> variable name
        self.aliases: dict[str, tuple[int, int]] = {}  # const NAME = <expression>: its token span
        self._resolving: set[str] = set()
        self._resolved: dict[str, list[str]] = {}  # memo: the environment names a const reads
        self._bindings()

    # -- positions -----------------------------------------------------------------------------------------

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def location(self, index: int, last: int | None = None) -> Location:
        line, col = self.pos(self.toks[index].start)
        end_line = None
        if last is not None and last > index:
            end = self.pos(max(self.toks[last].end - 1, self.toks[last].start))[0]
            end_line = end if end != line else None
        return Location(self.doc.path, line, col, end_line)

    def source(self, node: Node) -> str:
        return self.text[self.toks[node.first].start:self.toks[node.last].end]

    # -- declarations --------------------------------------------------------------------------------------

    def _bindings(self) -> None:
        """``const X = {...}``, ``const env = loadEnv(...)``, ``const {A, B: b} = process.env``."""
        toks, r = self.toks, self.r
        for k, tok in enumerate(toks):
            if tok.kind != "id" or tok.text not in ("const", "let", "var"):
                continue
            target = k + 1
            if target >= len(toks):
                continue
            if toks[target].kind == "id":
                eq = target + 1
                if r.t(eq) == ":":  # TypeScript annotation: skip to "=" at depth 0
                    eq = self._skip_to_assign(eq)
                if r.t(eq) != "=":
                    continue
                name = toks[target].text
                rhs = eq + 1
                if r.t(rhs) == "{":
                    self.consts.setdefault(name, rhs)
                    continue
                whole = self._env_object(rhs)
                if whole is not None:
                    self.env_objects[name] = whole
                else:
                    end = self._statement_end(rhs)
                    if end > rhs:
                        self.aliases.setdefault(name, (rhs, end - 1))
            elif r.t(target) == "{":
                close = r.close(target)
                eq = close + 1
                if r.t(eq) == ":":
                    eq = self._skip_to_assign(eq)
                if r.t(eq) == "=" and self._env_object(eq + 1) is not None:
                    for s, e in r.split(target + 1, close):
                        if toks[s].kind == "id" and e > s and toks[s].text != "...":
                            alias = toks[s + 2].text if r.t(s + 1) == ":" and s + 2 < e else toks[s].text
                            self.env_names[alias] = toks[s].text

    def _skip_to_assign(self, k: int) -> int:
        r = self.r
        while k < len(self.toks):
            text = r.t(k)
            if text in ("(", "[", "{"):
                k = r.close(k) + 1
                continue
            if text in ("=", ";"):
                return k
            k += 1
        return k

    def _env_object(self, k: int) -> bool | None:
        """Whether tokens at ``k`` are an environment object; True when it holds every variable."""
        r, toks = self.r, self.toks
        if r.t(k) == "process" and r.t(k + 1) in (".", "?.") and r.t(k + 2) == "env" and r.t(k + 3) not in (
                ".", "?.", "["):
            return True
        if r.t(k) in ("loadEnv", "vite") and r.t(k + 1) in ("(", "."):
            open_ = k + 1 if r.t(k) == "loadEnv" else (k + 3 if r.t(k + 2) == "loadEnv" else -1)
            if open_ < 0 or r.t(open_) != "(":
                return None
            args = r.split(open_ + 1, r.close(open_))
            if len(args) >= 3:
                s, e = args[2]
                third = toks[s]
                if e == s + 1 and third.kind in ("str", "tpl") and not third.subs and not (
                        third.quasis[0] if third.kind == "tpl" and third.quasis else third.text):
                    return True  # loadEnv(mode, root, '') loads every variable, not only VITE_
            return False
        # dotenv.config().parsed, require('dotenv').config().parsed
        end = self._statement_end(k)
        if any(r.t(i) == "parsed" and r.t(i - 1) in (".", "?.") for i in range(k, end)):
            return True
        return None

    # -- references ----------------------------------------------------------------------------------------

    def refs(self, tokens: list[Token] | tuple[Token, ...], first: int = 0, last: int | None = None) -> list[str]:
        """Environment variable names read by tokens ``[first, last]`` (``*`` for the whole environment)."""
        out: list[str] = []
        last = len(tokens) - 1 if last is None else last

        def t(i: int) -> str:
            return tokens[i].text if first <= i <= last and tokens[i].kind in ("p", "id") else ""

        def prop(i: int) -> str | None:
            """The property read at ``i`` (``.X`` or ``['X']``), None when there is none."""
            if t(i) in (".", "?.") and i + 1 <= last and tokens[i + 1].kind == "id":
                return tokens[i + 1].text
            if t(i) == "[" and i + 2 <= last and tokens[i + 1].kind == "str" and t(i + 2) == "]":
                return tokens[i + 1].text
            return None

        i = first
        while i <= last:
            tok = tokens[i]
            if tok.kind == "tpl":
                for sub in tok.subs:
                    out.extend(self.refs(sub))
                i += 1
                continue
            if tok.kind != "id" or t(i - 1) in (".", "?."):
                i += 1
                continue
            word = tok.text
            if word == "process" and t(i + 1) in (".", "?.") and t(i + 2) == "env":
                name = prop(i + 3)
                out.append(name if name is not None else _WHOLE)
                i += 4
                continue
            if word == "import" and t(i + 1) == "." and t(i + 2) == "meta" and t(i + 3) == "." and t(i + 4) == "env":
                name = prop(i + 5)
                out.append(name if name is not None else _WHOLE)
                i += 6
                continue
            if word in self.env_objects and t(i + 1) != ":":
                name = prop(i + 1)
                if name is not None:
                    out.append(name)
                elif self.env_objects[word]:
                    out.append(_WHOLE)
            elif word in self.env_names and t(i + 1) != ":":
                out.append(self.env_names[word])
            elif (word in self.consts or word in self.aliases) and t(i + 1) != ":":
                # const apiKey = process.env.OPENAI_API_KEY (or { auth: ... }); ... JSON.stringify(apiKey)
                out.extend(self._const_refs(word))
            elif word == "parsed" and t(i - 1) == ".":
                out.append(_WHOLE)
            i += 1
        return out

    def _const_refs(self, word: str) -> list[str]:
        """The environment names a ``const`` reads, memoized (and cut at cycles)."""
        if word in self._resolved:
            return self._resolved[word]
        if word in self._resolving:
            return []
        self._resolving.add(word)
        if word in self.consts:
            brace = self.consts[word]
            found = self.refs(self.toks, brace, min(self.r.close(brace), len(self.toks) - 1))
        else:
            found = self.refs(self.toks, *self.aliases[word])
        self._resolving.discard(word)
        self._resolved[word] = list(dict.fromkeys(found))
        return self._resolved[word]

    def node_refs(self, node: Node) -> list[str]:
        return self.refs(self.toks, node.first, node.last)

    def evaluate(self, node: Node | None, *, code: bool = False) -> tuple[Value | None, list[str]]:
        """The classified value of an expression, and the environment names it reads.

        ``code``: the value is a define replacement, a string holding JavaScript (``'"literal"'``).
        """
        while isinstance(node, JsCall) and node.callee in _UNWRAP_CALLS and node.args:
            node = node.args[0]
            code = False
        if node is None:
            return None, []
        if isinstance(node, JsString):
            text = node.value
            if code:
                stripped = text.strip()
                if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"`":
                    text = stripped[1:-1]
            value = classify(text)
            names = [value.ref_name] if value.ref is RefKind.ENV_VAR and value.ref_name else []
            return value, names
        names = self.node_refs(node)
        src = self.source(node)
        if isinstance(node, (JsObject, JsArray)):
            return None, names
        ref = self._single_ref(node, names)
        if ref is not None:
            return ref, names
        if node.first == node.last and self.toks[node.first].kind in ("num", "id"):
            word = self.toks[node.first].text
            if word in ("true", "false", "null", "undefined") or self.toks[node.first].kind == "num":
                return classify(word), names
            distinct = set(names)
            if len(distinct) == 1 and _WHOLE not in distinct:  # a variable holding process.env.X
                return Value(src, ValueKind.REFERENCE, RefKind.ENV_VAR, names[0]), names
            return None, names
        tok = self.toks[node.first]
        if node.first == node.last and tok.kind == "tpl":
            if names and not "".join(tok.quasis).strip():
                return Value(src, ValueKind.REFERENCE, RefKind.ENV_VAR, names[0]), names
            return Value(src, ValueKind.INTERPOLATED), names
        return (Value(src, ValueKind.INTERPOLATED) if names else None), names

    def _single_ref(self, node: Node, names: list[str]) -> Value | None:
        """``process.env.X``, ``env.X``, ``X`` (destructured), optionally ``|| 'default'`` / ``?? 'default'``."""
        if len(names) != 1 or names[0] == _WHOLE:
            return None
        r = self.r
        default: str | None = None
        last = node.last
        if last - 1 > node.first and r.t(last - 1) in ("||", "??") and self.toks[last].kind in ("str", "tpl"):
            tok = self.toks[last]
            default = tok.text if tok.kind == "str" else (tok.quasis[0] if not tok.subs and tok.quasis else None)
            if default is None:
                return None
            last -= 2
        span = last - node.first + 1
        toks = self.toks
        first_text = r.t(node.first)
        simple = (
            (first_text == "process" and span in (5, 6))
            or (first_text == "import" and span in (7, 8))
            or (first_text in self.env_objects and span in (3, 4))
            or (first_text in self.env_names and span == 1)
        )
        if not simple or any(toks[i].kind not in ("id", "p", "str") for i in range(node.first, last + 1)):
            return None
        src = self.text[toks[node.first].start:toks[node.last].end]
        return Value(src, ValueKind.REFERENCE, RefKind.ENV_VAR, names[0], default)

    def resolve(self, node: Node | None) -> Node | None:
        """An identifier naming a ``const X = {...}`` becomes that object."""
        if isinstance(node, JsExpr) and node.first == node.last and self.toks[node.first].kind == "id":
            brace = self.consts.get(self.toks[node.first].text)
            if brace is not None:
                return self.r.object(brace)
        return node

    # -- sites ---------------------------------------------------------------------------------------------

    def add(self, name: str, index: int, last: int | None, value: Value | None, names: list[str], *,
            container: _Container, route: str, prefix: str | None = None) -> None:
        location = self.location(index, last)
        key = (location.line, location.column or 0, name, container.construct)
        if key in self.seen:
            return
        self.seen.add(key)
        context = {"framework": self.framework, "construct": container.construct, "binding": container.binding}
        real = [n for n in dict.fromkeys(names) if n != _WHOLE]
        if real:
            context["refs"] = ",".join(real)
        if _WHOLE in names:
            context["exposes"] = "all"
        if prefix is not None:
            context["prefix"] = prefix
        self.doc.sites.append(Site(SiteKind.CONFIG_KEY, name, value, location, container.phase,
                                   self.doc.environment, route, context))
        if container.phase is Phase.CLIENT:
            self.data.exposures += 1

    def whole(self, index: int, last: int | None, container: _Container, route: str, name: str = "process.env") -> None:
        self.add(name, index, last, None, [_WHOLE], container=container, route=route)

    # -- walking -------------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.framework == "angular":
            first = next((i for i, tok in enumerate(self.toks) if tok.kind == "p" and tok.text == "{"), None)
            if first is not None:
                self.visit(self.r.object(first), ())
            return
        for k in self.r.roots():
            node = self.r.root(k)
            if node is None:
                continue
            if self.framework == "angular-env":
                self.angular_env(node, self._declared_name(node))
            else:
                self.visit(node, self.inherited.get(node.first, ()))
        if self.framework != "angular-env":
            self.assignments()

    def _declared_name(self, node: Node) -> tuple[str, ...]:
        """``environment`` for ``export const environment: Env = {...}``; () when the object is not declared."""
        eq = node.first - 1
        if self.r.t(eq) != "=":
            return ()
        for j in range(eq - 1, max(eq - 24, 0), -1):
            if self.r.t(j) in ("const", "let", "var") and self.toks[j + 1].kind == "id":
                return (self.toks[j + 1].text,)
            if self.r.t(j) in (";", "{", "}"):
                break
        prev = self.toks[eq - 1] if eq > 0 else None
        return (prev.text,) if prev is not None and prev.kind == "id" else ()

    def container(self, path: tuple[str, ...]) -> _Container | None:
        fw = self.framework
        last = path[-1] if path else ""
        if fw == "next":
            if path == ("env",):
                return _Container("env", Phase.CLIENT, "value")
            if path == ("publicRuntimeConfig",):
                return _Container("publicRuntimeConfig", Phase.CLIENT, "value")
            if path == ("serverRuntimeConfig",):
                return _Container("serverRuntimeConfig", _SERVER, "value")
            if path[-2:] == ("compiler", "define"):
                return _Container("compiler.define", Phase.CLIENT, "value", define=True)
            if path[-2:] == ("compiler", "defineServer"):
                return _Container("compiler.defineServer", _SERVER, "value", define=True)
            return None
        if fw == "nuxt":
            if path == ("runtimeConfig", "public"):
                return _Container("runtimeConfig.public", Phase.CLIENT, "name")
            if path == ("runtimeConfig",):
                return _Container("runtimeConfig", _SERVER, "name")
            if path == ("publicRuntimeConfig",):
                return _Container("publicRuntimeConfig", Phase.CLIENT, "value")
            if path == ("privateRuntimeConfig",):
                return _Container("privateRuntimeConfig", _SERVER, "value")
            if path == ("env",):
                return _Container("env", Phase.CLIENT, "value")
        if fw == "astro" and path == ("env", "schema"):
            return _Container("envField", Phase.CLIENT, "name")
        if fw in ("vite", "nuxt", "astro", "svelte", "angular") and last == "define":
            return _Container("define", Phase.CLIENT, "value", define=True)
        return None

    def visit(self, node: Node | None, path: tuple[str, ...]) -> None:
        node = self.resolve(node)
        if node is None:
            return
        container = self.container(path)
        if container is not None:
            self.expose(node, container, ".".join(path))
            if container.construct != "runtimeConfig":
                return
        if isinstance(node, JsObject):
            self._gatsby(node)
            for member in node.members:
                if member.spread:
                    resolved = self.resolve(member.value)
                    if isinstance(resolved, JsObject):
                        self.visit(resolved, path)
                    continue
                if member.key is None or member.value is None:
                    continue
                child = (*path, member.key)
                if member.key == "envPrefix":
                    self.prefixes(member, "envPrefix")
                    continue
                if self.framework == "svelte" and path == ("kit", "env") and member.key == "publicPrefix":
                    self.prefixes(member, "publicPrefix")
                    continue
                if isinstance(member.value, JsExpr):
                    self._inherit(member.value, child)
                self.visit(member.value, child)
        elif isinstance(node, JsArray):
            for item in node.items:
                self.visit(item, path)
        elif isinstance(node, JsCall):
            self.call(node, path)
        elif isinstance(node, JsExpr):
            self._inherit(node, path)

    def _inherit(self, node: Node, path: tuple[str, ...]) -> None:
        """Object literals inside an expression (``cond ? {...} : {...}``, ``() => ({...})``) keep the path."""
        if not path:
            return
        for i in range(node.first, node.last + 1):
            self.inherited.setdefault(i, path)

    def call(self, node: JsCall, path: tuple[str, ...]) -> None:
        last = node.callee.rsplit(".", 1)[-1]
        if last == "DefinePlugin" and node.args:
            self.expose(node.args[0], _Container("DefinePlugin", Phase.CLIENT, "value", define=True), "DefinePlugin")
            return
        if last == "EnvironmentPlugin":
            self.environment_plugin(node)
            return
        if last == "defineEnvVars" and node.args:
            self.define_env_vars(node.args[0])
            return
        for arg in node.args:
            self.visit(arg, path)

    # -- constructs ----------------------------------------------------------------------------------------

    def expose(self, node: Node, container: _Container, route: str, name_prefix: str = "") -> None:
        """Every key of an exposure map (``env``, ``define``, ``runtimeConfig.public``...) becomes a site."""
        node = self.resolve(node) or node
        while isinstance(node, JsCall) and node.callee in _UNWRAP_CALLS and node.args:
            node = node.args[0]
        if not isinstance(node, JsObject):
            names = self.node_refs(node)
            if _WHOLE in names and container.phase is Phase.CLIENT:
                self.whole(node.first, node.last, container, route)
            return
        for member in node.members:
            if member.spread:
                if member.value is None:
                    continue
                names = self.node_refs(member.value)
                if _WHOLE in names:
                    self.whole(member.key_index, member.value.last, container, route)
                    continue
                resolved = self.resolve(member.value)
                if isinstance(resolved, JsObject):
                    self.expose(resolved, container, route, name_prefix)
                continue
            if member.key is None:
                self._computed(member, container, route)
                continue
            if container.construct == "runtimeConfig" and member.key in ("public", "app"):
                continue  # public is a client container of its own; app holds Nuxt's own settings
            key = member.key
            name = name_prefix + key
            child_route = f"{route}.{key}" if route else key
            if container.define:
                stripped = _define_name(key)
                if stripped == "" and not name_prefix:  # 'process.env': ... -> its keys are env names
                    inner = member.value
                    while isinstance(inner, JsCall) and inner.callee in _UNWRAP_CALLS and inner.args:
                        inner = inner.args[0]
                    inner = self.resolve(inner)
                    if isinstance(inner, JsObject):
                        self.expose(inner, container, child_route)
                        continue
                    names = self.node_refs(inner) if inner is not None else []
                    if _WHOLE in names:
                        self.whole(member.key_index, member.value.last if member.value else None, container,
                                   child_route, key)
                    continue
                name = name_prefix + (stripped if stripped is not None else key)
            if container.construct == "envField":
                self.env_field(member, container, child_route)
                continue
            if isinstance(member.value, JsObject) and container.binding == "name":
                self.expose(member.value, container, child_route, f"{name}.")  # Nuxt nested public config
                continue
            value, names = self.evaluate(member.value, code=container.define)
            if _WHOLE in names and container.phase is Phase.CLIENT:
                self.whole(member.key_index, member.value.last if member.value else None, container, child_route,
                           name)
                continue
            self.add(name, member.key_index, member.value.last if member.value else None, value, names,
                     container=container, route=child_route)

    def _computed(self, member: Member, container: _Container, route: str) -> None:
        """``[`process.env.${key}`]: ...``: every variable of some object is defined: the whole environment."""
        tok = self.toks[member.key_index]
        if tok.kind == "p" and tok.text == "[" and container.define:
            inner = self.toks[member.key_index + 1] if member.key_index + 1 < len(self.toks) else None
            if inner is not None and inner.kind == "tpl" and inner.quasis and _define_name(inner.quasis[0]) == "":
                self.whole(member.key_index, member.value.last if member.value else None, container, route)

    def env_field(self, member: Member, container: _Container, route: str) -> None:
        node = member.value
        if not isinstance(node, JsCall) or not node.callee.startswith("envField.") or member.key is None:
            return
        options = self.resolve(node.args[0]) if node.args else None
        context = access = None
        default: Node | None = None
        if isinstance(options, JsObject):
            for m in options.members:
                if m.key == "context" and isinstance(m.value, JsString):
                    context = m.value.value
                elif m.key == "access" and isinstance(m.value, JsString):
                    access = m.value.value
                elif m.key == "default":
                    default = m.value
        phase = Phase.CLIENT if context == "client" else _SERVER
        construct = f"envField({context or '?'}/{access or '?'})"
        literal = self.evaluate(default)[0] if default is not None else None
        value = Value(f"process.env.{member.key}", ValueKind.REFERENCE, RefKind.ENV_VAR, member.key,
                      literal.text if literal is not None and literal.kind is ValueKind.LITERAL else None)
        self.add(member.key, member.key_index, node.last, value, [member.key],
                 container=_Container(construct, phase, container.binding), route=route)

    def environment_plugin(self, node: JsCall) -> None:
        container = _Container("EnvironmentPlugin", Phase.CLIENT, "name")
        for arg in node.args:
            resolved = self.resolve(arg)
            if isinstance(resolved, JsArray):
                for item in resolved.items:
                    if isinstance(item, JsString):
                        self._env_name(item.value, item.first, None, container)
                    elif _WHOLE in self.node_refs(item):
                        self.whole(item.first, item.last, container, "EnvironmentPlugin")
            elif isinstance(resolved, JsString):
                self._env_name(resolved.value, resolved.first, None, container)
            elif isinstance(resolved, JsObject):
                for m in resolved.members:
                    if m.key is None:
                        continue
                    default, _ = self.evaluate(m.value)
                    text = default.text if default is not None and default.kind is ValueKind.LITERAL else None
                    self._env_name(m.key, m.key_index, m.value.last if m.value else None, container, text)
            elif resolved is not None and _WHOLE in self.node_refs(resolved):
                self.whole(resolved.first, resolved.last, container, "EnvironmentPlugin")

    def _env_name(self, name: str, index: int, last: int | None, container: _Container,
                  default: str | None = None) -> None:
        value = Value(f"process.env.{name}", ValueKind.REFERENCE, RefKind.ENV_VAR, name, default)
        self.add(name, index, last, value, [name], container=container, route=f"{container.construct}.{name}")

    def define_env_vars(self, node: Node) -> None:
        obj = self.resolve(node)
        if not isinstance(obj, JsObject):
            return
        for m in obj.members:
            if m.key is None or not isinstance(m.value, JsObject):
                continue
            public = any(o.key == "public" and o.value is not None and self.r.t(o.value.first) == "true"
                         and o.value.first == o.value.last for o in m.value.members)
            phase = Phase.CLIENT if public else _SERVER
            self._env_name(m.key, m.key_index, m.value.last, _Container("defineEnvVars", phase, "name"))

    def prefixes(self, member: Member, construct: str) -> None:
        node = self.resolve(member.value)
        container = _Container(construct, Phase.CLIENT, "name")
        items: list[Node] = list(node.items) if isinstance(node, JsArray) else [node] if node is not None else []
        for item in items:
            if isinstance(item, JsString):
                self.data.env_prefixes.append(item.value)
                self.add(construct, item.first, None, classify(item.value), [], container=container,
                         route=f"{construct}[{item.value!r}]", prefix=item.value)

    def _gatsby(self, node: JsObject) -> None:
        members = {m.key: m for m in node.members if m.key is not None}
        resolve = members.get("resolve")
        if resolve is None or not isinstance(resolve.value, JsString) or resolve.value.value != _GATSBY_ENV_PLUGIN:
            return
        options = members.get("options")
        opts = self.resolve(options.value) if options is not None else None
        if not isinstance(opts, JsObject):
            return
        container = _Container("gatsby-plugin-env-variables", Phase.CLIENT, "name")
        for m in opts.members:
            if m.key not in ("allowList", "whitelist"):
                continue
            lst = self.resolve(m.value)
            if isinstance(lst, JsArray):
                for item in lst.items:
                    if isinstance(item, JsString):
                        self._env_name(item.value, item.first, None, container)

    def angular_env(self, node: Node, path: tuple[str, ...]) -> None:
        """Angular environment files: every key with a value is compiled into the bundle."""
        container = _Container("environment", Phase.CLIENT, "value")
        if isinstance(node, JsObject):
            for m in node.members:
                if m.key is None or m.value is None or m.spread:
                    continue
                child = (*path, m.key)
                if isinstance(m.value, (JsObject, JsArray)):
                    self.angular_env(m.value, child)
                    continue
                value, names = self.evaluate(m.value)
                if value is None and not names:
                    continue
                self.add(m.key, m.key_index, m.value.last, value, names, container=container, route=".".join(child))
        elif isinstance(node, JsArray):
            for item in node.items:
                self.angular_env(item, path)

    def assignments(self) -> None:
        """``process.env.VUE_APP_X = ...`` and define-map writes ``args[0]['process.env'].X = ...``."""
        toks, r = self.toks, self.r
        n = len(toks)
        for k, tok in enumerate(toks):
            if tok.kind == "tpl" and tok.quasis and tok.subs and _define_name(tok.quasis[0]) == "" \
                    and r.t(k - 1) == "[" and r.t(k + 1) == "]" and r.t(k + 2) == "=":
                # prev[`process.env.${key}`] = ...: a define map built from a whole env object; reported here
                # unless the DefinePlugin / define that receives it was already found to inline everything
                if not any(s.context.get("exposes") == "all" for s in self.doc.sites):
                    self.whole(k, None, _Container("define", Phase.CLIENT, "value", define=True), "define")
                continue
            if tok.kind == "id" and tok.text == "process" and r.t(k - 1) not in (".", "?.") \
                    and r.t(k + 1) == "." and r.t(k + 2) == "env" and r.t(k + 3) == "." and k + 4 < n \
                    and toks[k + 4].kind == "id" and r.t(k + 5) == "=":
                name = toks[k + 4].text
                if any(name.upper().startswith(p) for p in CLIENT_PREFIXES):
                    self._assigned(name, k + 4, k + 6, _Container("process.env", Phase.CLIENT, "value"))
                continue
            if tok.kind == "str" and r.t(k - 1) == "[" and r.t(k + 1) == "]":
                stripped = _define_name(tok.text)
                if stripped and r.t(k + 2) == "=":
                    self._assigned(stripped, k, k + 3, _Container("define", Phase.CLIENT, "value", define=True))
                elif stripped == "":
                    target = None
                    if r.t(k + 2) == "." and k + 3 < n and toks[k + 3].kind == "id" and r.t(k + 4) == "=":
                        target = (toks[k + 3].text, k + 3, k + 5)
                    elif r.t(k + 2) == "[" and k + 3 < n and toks[k + 3].kind == "str" and r.t(k + 4) == "]" \
                            and r.t(k + 5) == "=":
                        target = (toks[k + 3].text, k + 3, k + 6)
                    if target is not None:
                        self._assigned(target[0], target[1], target[2],
                                       _Container("define", Phase.CLIENT, "value", define=True))

    def _assigned(self, name: str, key_index: int, rhs: int, container: _Container) -> None:
        end = self._statement_end(rhs)
        if end <= rhs:
            return
        node = self.r.value(rhs, end)
        value, names = self.evaluate(node, code=container.define)
        if _WHOLE in names:
            self.whole(key_index, end - 1, container, container.construct, name)
            return
        self.add(name, key_index, end - 1, value, names, container=container,
                 route=f"{container.construct}.{name}")

    def _statement_end(self, k: int) -> int:
        """The end (exclusive) of the expression starting at ``k``: ``;``, a closing bracket, or a new line."""
        r, toks = self.r, self.toks
        n = len(toks)
        i = k
        while i < n:
            text = r.t(i)
            if text in (";", ",") or text in _CLOSERS:
                return i
            if i > k and self.pos(toks[i].start)[0] != self.pos(toks[i - 1].end)[0] and not (
                    toks[i - 1].kind == "p" and toks[i - 1].text not in _CLOSERS) and text not in (
                    ".", "?.", "||", "&&", "??", "+", "?", ":"):
                return i
            if text in _OPENERS:
                i = r.close(i) + 1
                continue
            i += 1
        return n


def _define_name(key: str) -> str | None:
    """The environment name a define key replaces: ``process.env.X`` -> ``X``; ``process.env`` -> ``""``."""
    k = key.strip()
    if k in _DEFINE_WHOLE:
        return ""
    for prefix in _DEFINE_PREFIXES:
        if k.startswith(prefix):
            return k[len(prefix):]
    return None


# ------------------------------------------------------------------------------------------------ entry point


def parse(doc: Document, text: str) -> None:
    framework = frontend_framework(doc.path) or "unknown"
    tokens, problems = tokenize(text)
    extractor = _Extractor(doc, text, framework, tokens)
    doc.data = extractor.data
    for offset, message in problems:
        line = extractor.pos(min(offset, max(len(text) - 1, 0)))[0]
        doc.diagnostics.append(Diagnostic(doc.path, line, message, "warning"))
    if extractor.r.unbalanced is not None:
        index = extractor.r.unbalanced
        where = extractor.pos(tokens[index].start)[0] if index < len(tokens) else None
        doc.diagnostics.append(Diagnostic(doc.path, where, "unbalanced bracket; the structure around it is read "
                                          "on a best-effort basis", "warning"))
    extractor.run()
