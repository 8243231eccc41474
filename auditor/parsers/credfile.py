"""Parser for credential files (rule catalog §D4, minus env files, Terraform state and tfvars).

Recognized by name alone (:func:`credential_type`): ``.npmrc``, ``.pypirc``, ``.netrc``/``_netrc``,
``.git-credentials``, ``.docker/config.json``, ``.aws/credentials``, kubeconfigs, Google credential JSON
(``*service-account*.json``, ``*credentials*.json``), private keys (``*.pem``, ``*.key``, ``id_rsa``...) and
PKCS#12 stores (``*.p12``, ``*.pfx``).

Each secret the file holds becomes a :class:`~auditor.model.Site` of kind ``CONFIG_KEY`` named after its key
(``_authToken``, ``password``, ``aws_secret_access_key``, ``client-key-data``, ``private_key``...) with the value
classified by :func:`auditor.detect.values.classify`, so ``${NPM_TOKEN}`` is a reference and never fires.
Private keys are reported only when they are not encrypted (``ENCRYPTED PRIVATE KEY``, ``Proc-Type: 4,ENCRYPTED``
and OpenSSH keys with a cipher other than ``none`` are skipped); certificates and public keys hold no site.
``doc.data`` is ``{"type": <credential type>, "encrypted_keys": <count>}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any

from auditor.detect.credfiles import credential_type, is_credential_file
from auditor.detect.values import classify
from auditor.model import Diagnostic, Document, Location, Phase, Site, SiteKind, Value, ValueKind

__all__ = ["CREDENTIAL_KIND", "credential_type", "is_credential_file", "parse"]

CREDENTIAL_KIND = "credential-file"  # the DocKind value this parser is registered for



def parse(doc: Document, text: str) -> None:
    kind = credential_type(doc.path) or "private-key"
    state = _State(doc, kind)
    try:
        _PARSERS[kind](state, text)
    except Exception as exc:  # a parser bug must not lose the scan: report and keep what was read
        doc.diagnostics.append(Diagnostic(doc.path, None, f"could not read {kind} file ({type(exc).__name__})"))
    # Private keys pasted into any credential file (a PEM in a JSON string is handled by its own key).
    if kind not in ("private-key", "google-json", "pkcs12"):
        _private_keys(state, text)
    doc.data = {"type": kind, "encrypted_keys": state.encrypted}


class _State:
    __slots__ = ("doc", "encrypted", "kind")

    def __init__(self, doc: Document, kind: str) -> None:
        self.doc = doc
        self.kind = kind
        self.encrypted = 0

    def site(self, name: str, raw: str, line: int, column: int | None, route: str = "", *,
             value: Value | None = None) -> None:
        self.doc.sites.append(
            Site(
                kind=SiteKind.CONFIG_KEY,
                name=name,
                value=value if value is not None else classify(raw),
                location=Location(self.doc.path, line, column),
                phase=Phase.RUNTIME,
                route=route or name,
                context={"credential_type": self.kind},
            )
        )

    def warn(self, line: int | None, message: str) -> None:
        self.doc.diagnostics.append(Diagnostic(self.doc.path, line, message, "warning"))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, raw in enumerate(text.split("\n"), 1):
        yield number, raw[:-1] if raw.endswith("\r") else raw


def _unquote(value: str) -> tuple[str, int]:
    """Strip matching quotes; also return how many leading characters were removed."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1], 1
    return value, 0


# --- INI-like files: .npmrc, .pypirc, .aws/credentials ----------------------------------------------------------

_NPM_SECRET_KEYS = frozenset({"_authtoken", "_auth", "_password"})
_PYPIRC_SECRET_KEYS = frozenset({"password"})
_AWS_SECRET_KEYS = frozenset({"aws_secret_access_key", "aws_session_token", "aws_security_token"})
_INI_LINE = re.compile(r"^\s*(?P<key>[^=:#;\s][^=:]*?)\s*[=:]\s*(?P<value>.*?)\s*$")


def _ini(state: _State, text: str, secret_keys: frozenset[str], npm: bool = False) -> None:
    section = ""
    for number, line in _lines(text):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        if npm:  # npm: key=value only; scoped keys look like //registry.example.com/:_authToken
            eq = line.find("=")
            if eq < 0:
                continue
            key, rest = line[:eq].strip(), line[eq + 1 :]
            value = rest.strip()
            start = eq + 1 + len(rest) - len(rest.lstrip())
            name = key.rsplit(":", 1)[-1] if key.startswith("//") else key
        else:
            m = _INI_LINE.match(line)
            if m is None:
                continue
            key, value, start = m.group("key").strip(), m.group("value"), m.start("value")
            name = key
        if name.lower() not in secret_keys:
            continue
        inner, shift = _unquote(value)
        route = f"{section}.{name}" if section else key
        state.site(name, inner, number, start + shift + 1, route)


def _npmrc(state: _State, text: str) -> None:
    _ini(state, text, _NPM_SECRET_KEYS, npm=True)


def _pypirc(state: _State, text: str) -> None:
    _ini(state, text, _PYPIRC_SECRET_KEYS)


def _aws(state: _State, text: str) -> None:
    _ini(state, text, _AWS_SECRET_KEYS)


# --- .netrc ------------------------------------------------------------------------------------------------------

_NETRC_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


def _netrc(state: _State, text: str) -> None:
    tokens: list[tuple[str, int, int]] = []
    in_macro = False
    for number, line in _lines(text):
        if in_macro:
            if not line.strip():
                in_macro = False
            continue
        for m in _NETRC_TOKEN.finditer(line):
            token = m.group(0)
            if token.startswith("#"):
                break
            tokens.append((token, number, m.start() + 1))
            if token == "macdef":
                in_macro = True
                break
    machine = "default"
    i = 0
    while i < len(tokens):
        token = tokens[i][0]
        if token in ("machine", "login", "password", "account", "port") and i + 1 < len(tokens):
            value, number, column = tokens[i + 1]
            if token == "machine":
                machine = value
            elif token == "password":
                inner, shift = _unquote(value)
                state.site("password", inner, number, column + shift, f"{machine}.password")
            i += 2
            continue
        if token == "default":
            machine = "default"
        i += 1


# --- .git-credentials --------------------------------------------------------------------------------------------

_CREDENTIAL_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<user>[^:@/\s]*):(?P<password>[^@/\s]*)@"
                             r"(?P<host>[^/\s?#]*)")


def _git_credentials(state: _State, text: str) -> None:
    for number, line in _lines(text):
        for m in _CREDENTIAL_URL.finditer(line):
            if m.group("password"):
                state.site("password", m.group("password"), number, m.start("password") + 1,
                           f"{m.group('host')}.password")


# --- JSON files: .docker/config.json, Google credentials ------------------------------------------------------------

_JSON_STRING_MEMBER = re.compile(r'"(?P<key>[A-Za-z_][\w-]*)"\s*:\s*"(?P<value>(?:[^"\\\n]|\\.)*)"')


def _json_members(state: _State, text: str) -> Iterator[tuple[str, str, int, int]]:
    """Every ``"key": "string"`` member of a JSON text with its line and the column of the value."""
    try:
        json.loads(text)
    except ValueError:
        state.warn(None, "not valid JSON; secrets were looked for member by member")
    for m in _JSON_STRING_MEMBER.finditer(text):
        try:
            value = json.loads(f'"{m.group("value")}"')
        except ValueError:
            value = m.group("value")
        line = text.count("\n", 0, m.start("value")) + 1
        column = m.start("value") - (text.rfind("\n", 0, m.start("value")) + 1) + 1
        yield m.group("key"), str(value), line, column


def _docker_config(state: _State, text: str) -> None:
    for key, value, line, column in _json_members(state, text):
        if key in ("auth", "identitytoken", "registrytoken", "password"):
            state.site(key, value, line, column, f"auths.{key}")


_PRIVATE_KEY_IN_STRING = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def _google_json(state: _State, text: str) -> None:
    for key, value, line, column in _json_members(state, text):
        if key == "private_key" and _PRIVATE_KEY_IN_STRING.search(value):
            if _pem_is_encrypted(value):
                state.encrypted += 1
                continue
            state.site(key, value, line, column)
        elif key in ("client_secret", "refresh_token"):
            state.site(key, value, line, column)


# --- kubeconfig ---------------------------------------------------------------------------------------------------

_KUBE_SECRET_KEYS = frozenset({"token", "client-key-data", "password", "client-secret", "id-token", "refresh-token"})


def _kubeconfig(state: _State, text: str) -> None:
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        roots = list(yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        state.warn(mark.line + 1 if mark is not None else None, "not valid YAML; kubeconfig secrets not read")
        return

    seen: set[int] = set()

    def walk(node: yaml.Node, route: str) -> None:
        if id(node) in seen:  # aliases share nodes: visit each once (no alias-bomb blow-up)
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                child = f"{route}.{key}" if route else key
                if key in _KUBE_SECRET_KEYS and isinstance(value_node, yaml.ScalarNode):
                    mark = value_node.start_mark
                    state.site(key, str(value_node.value), mark.line + 1, mark.column + 1, child)
                else:
                    walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{route}[{index}]")

    for root in roots:
        if root is not None:
            walk(root, "")


# --- private keys -------------------------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]*?PRIVATE KEY(?: BLOCK)?)-----(?P<body>.*?)-----END (?P=label)-----", re.S
)
_MIN_KEY_BODY = 64  # shorter bodies are truncated examples ("MIIE...")


def _pem_is_encrypted(block: str) -> bool:
    m = _PEM_BLOCK.search(block)
    if m is None:
        return False
    label, body = m.group("label"), m.group("body")
    if "ENCRYPTED" in label or "Proc-Type: 4,ENCRYPTED" in body:
        return True
    if label == "OPENSSH PRIVATE KEY":
        try:
            raw = base64.b64decode(re.sub(r"\s+", "", body), validate=False)
        except (binascii.Error, ValueError):
            return False
        magic = b"openssh-key-v1\x00"
        if raw.startswith(magic) and len(raw) >= len(magic) + 4:
            length = int.from_bytes(raw[len(magic) : len(magic) + 4], "big")
            cipher = raw[len(magic) + 4 : len(magic) + 4 + length]
            return cipher != b"none"
    return False


def _private_keys(state: _State, text: str) -> None:
    for m in _PEM_BLOCK.finditer(text):
        body = m.group("body")
        if len(re.sub(r"\s+", "", body)) < _MIN_KEY_BODY:
            continue
        if _pem_is_encrypted(m.group(0)):
            state.encrypted += 1
            continue
        line = text.count("\n", 0, m.start()) + 1
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        state.site("private-key", m.group(0), line, column, m.group("label").lower().replace(" ", "-"))


def _pkcs12(state: _State, text: str) -> None:
    """A PKCS#12 store is binary; its mere presence holds a private key (usually under a weak password)."""
    if text.strip():
        state.site("pkcs12", text, 1, None, "pkcs12", value=Value(text, ValueKind.LITERAL))


_PARSERS = {
    "npmrc": _npmrc,
    "pypirc": _pypirc,
    "netrc": _netrc,
    "git-credentials": _git_credentials,
    "docker-config": _docker_config,
    "aws-credentials": _aws,
    "kubeconfig": _kubeconfig,
    "google-json": _google_json,
    "private-key": _private_keys,
    "pkcs12": _pkcs12,
}
