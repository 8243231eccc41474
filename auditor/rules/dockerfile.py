"""Dockerfile rules: build-time secrets (BLD-01..04) and the build context's ignore file (IGN-03).

Every check reads the :class:`~auditor.parsers.dockerfile.DockerfileData` the parser left in ``doc.data``
and the ARG/ENV sites; none re-reads the file. Messages name variables, files and lines, never values.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from auditor.detect.credfiles import CREDENTIAL_DIRS, exposes_credentials
from auditor.detect.names import analyze_name
from auditor.detect.providers import match_value
from auditor.detect.values import classify, looks_secret
from auditor.model import (
    Confidence,
    DocKind,
    Document,
    Location,
    Repository,
    Severity,
    SiteKind,
    Value,
    ValueKind,
)
from auditor.parsers.dockerfile import DockerfileData, Instruction, KeyValue, ShellCommand, Source
from auditor.rules import Hit, RuleContext

if TYPE_CHECKING:
    from auditor.ignore import DockerIgnore

BUILDKIT_CHECK = "SecretsUsedInArgOrEnv"
ALLOW_TOKENS = frozenset({"file", "path", "public", "version"})

# Files a context copy must not carry (relative to the copied directory), for IGN-03.
PROBES = (".env", "sub/.env", ".env.local", ".npmrc", "id_rsa", "key.pem", ".git/config", ".aws/credentials")
# the .dockerignore line that keeps each probe out of the context
_PROBE_PATTERNS = {".env": "**/.env*", "sub/.env": "**/.env*", ".env.local": "**/.env*", ".npmrc": "**/.npmrc",
                   "id_rsa": "**/id_rsa*", "key.pem": "**/*.pem", ".git/config": ".git", ".aws/credentials": "**/.aws"}

# Env names whose value is the path of a credential file (BLD-04).
CREDENTIAL_PATH_ENVS = frozenset({
    "GOOGLE_APPLICATION_CREDENTIALS", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "HF_TOKEN_PATH", "KUBECONFIG",
})

_CRED_PATH_VAR = re.compile(r"\$\{?(" + "|".join(sorted(CREDENTIAL_PATH_ENVS)) + r")\b")

# BLD-03: files whose writing stores a credential in the layer.
_WRITE_TARGET_NAMES = frozenset({".npmrc", ".pypirc", ".netrc", "_netrc", ".git-credentials"})
_WRITE_TARGET_SUFFIXES = (".docker/config.json", ".aws/credentials", ".config/gh/hosts.yml", "huggingface/token")
_AWS_KEYS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})
_LOGIN_TOOLS = frozenset({"docker", "podman", "buildah", "nerdctl", "skopeo"})

# BLD-02 patterns.
_URL_CREDS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}://([^:/?#\[\]@!$&'()*+,;=\s`]+):([^:/?#\[\]@!$&'()*+,;=\s`]+)@")
_HEADER = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*:(.*)$", re.S)
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "bot", "apikey", "api-key", "key", "digest", "sso-key"})
_NPM_AUTH = re.compile(r"(?:^|:)_(?:authToken|auth|password)$|^npmAuthToken$|^npmAuthIdent$")
_BODY_NPM = re.compile(r"(?:^|:)_(?:authToken|auth|password)\s*=\s*(\S+)")
_BODY_NETRC = re.compile(r"(?:^|\s)password\s+(\S+)")
_BODY_ASSIGN = re.compile(r"""^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[=:](.*)$""")
_KEY_ID_TOOLS = frozenset({"gpg", "gpg2", "gpgv", "apt-key", "rpm", "rpmkeys"})
_KEY_ID_OPTION = re.compile(r"(?i)recv|keyserver|keyid|key-id|fingerprint|keyring|trust")
_ASSIGN_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_WEAK_PASSWORDS = frozenset({"password", "passwd", "pass", "pwd", "secret", "token", "changeme", "changeit", "x",
                             "xxx", "user", "test", "example", "admin", "root", "none", "null"})


# --------------------------------------------------------------------------------------------- shared helpers


def _dockerfiles(repo: Repository) -> Iterator[tuple[Document, DockerfileData]]:
    for doc in repo.of_kind(DocKind.DOCKERFILE):
        if isinstance(doc.data, DockerfileData):
            yield doc, doc.data


def _is_secret_name(name: str, ctx: RuleContext) -> bool:
    info = ctx.name_info(name)  # configured allowed/extra names applied
    return info.secret and not info.file_like


def _is_secret_value(text: str) -> bool:
    """SECRET_VALUE under a secret name: a (non-publishable) provider key, random enough, or a chosen password."""
    return "$" not in text and looks_secret(text, name_is_secret=True)


def _literal(text: str) -> Value | None:
    """The classified value when it is a plain literal (not a reference, placeholder or interpolation)."""
    if not text or "$" in text or "`" in text:
        return None
    value = classify(text)
    return value if value.kind is ValueKind.LITERAL else None


def _stage_label(instr: Instruction) -> str:
    if instr.stage_index < 0:
        return "global"
    return instr.stage_name or str(instr.stage_index)


def _prefix(instr: Instruction) -> str:
    return f"ONBUILD {instr.instruction}" if instr.onbuild else instr.instruction


def _secret_id(name: str) -> str:
    return name.lower().replace("_", "-")


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[_\-.]+", name.lower()) if t}


# --------------------------------------------------------------------------------------------- BLD-01


def secret_named_build_var(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-01: ARG/ENV (any stage, ONBUILD included) whose name denotes a secret."""
    for doc, data in _dockerfiles(repo):
        if data.skips(BUILDKIT_CHECK):
            continue
        owners = {(kv.line, kv.column): i for i in data if i.instruction in ("ARG", "ENV") for kv in i.pairs}
        for site in doc.sites_of(SiteKind.BUILD_ARG, SiteKind.ENV):
            if site.context.get("instruction") not in ("ARG", "ENV"):
                continue
            owner = owners.get((site.location.line, site.location.column or 0))
            if owner is not None and data.skips(BUILDKIT_CHECK, owner):
                continue  # a `# check=skip=SecretsUsedInArgOrEnv` comment right above the instruction
            name = site.name
            if not _is_secret_name(name, ctx) or name.upper() in CREDENTIAL_PATH_ENVS:
                continue  # secret-file names hold a path: BLD-04 checks where it points
            if _tokens(name) & ALLOW_TOKENS and name not in ctx.extra_secret_names:
                continue
            instr = site.context["instruction"]
            label = f"ONBUILD {instr}" if site.context.get("onbuild") == "true" else instr
            literal = site.value if site.value is not None and site.value.kind is ValueKind.LITERAL else None
            critical = literal is not None and _is_secret_value(literal.text)
            secret_id = _secret_id(name)
            runtime = (" If the application needs it at runtime, inject it when the container starts (docker run "
                       "--env-file, a compose/Kubernetes secret) instead of baking it." if instr == "ENV" else "")
            yield Hit(
                site.location,
                f"{label} {name} is a build-time secret: build args and ENV are stored in the image history/config "
                f"and readable by anyone who can pull the image; use RUN --mount=type=secret,id={secret_id},"
                f"env={name} and pass it with `docker build --secret id={secret_id},env={name}`.{runtime}",
                value=literal,
                severity=Severity.CRITICAL if critical else None,
                confidence=Confidence.HIGH,
                name=name,
                route=site.route or None,
            )


# --------------------------------------------------------------------------------------------- BLD-02


@dataclass(frozen=True, slots=True)
class _Cred:
    line: int
    column: int | None
    what: str  # names only
    value: Value
    provider: bool = False
    name: str | None = None  # the variable/option/header the value belongs to, when there is one


def literal_credential(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-02: a literal credential anywhere in a Dockerfile (ARG/ENV/LABEL values, RUN arguments, heredocs)."""
    for doc, data in _dockerfiles(repo):
        found: list[_Cred] = []
        for instr in data:
            if instr.instruction in ("ARG", "ENV", "LABEL"):
                found.extend(_pair_credentials(instr, ctx))
            for cmd in instr.commands:
                found.extend(_command_credentials(instr, cmd, ctx))
            for src in instr.sources:
                if src.heredoc is not None:
                    found.extend(_body_credentials(f"{_prefix(instr)} heredoc", src.heredoc.body,
                                                   src.heredoc.body_line, ctx))
        seen: set[tuple[int, str]] = set()
        for cred in found:
            key = (cred.line, cred.value.text)
            if key in seen:
                continue
            seen.add(key)
            yield _cred_hit(doc, cred)
        # provider-format keys anywhere inside an instruction (heredoc bodies included)
        spans = [(i.line, i.end_line, i) for i in data]
        for km in doc.keys:
            if km.publishable or km.detector == "url-credentials" or km.location.line in data.comment_lines:
                continue
            owner = next((i for start, end, i in spans if start <= km.location.line <= end), None)
            if owner is None or any(km.location.line == line and km.value.text in text for line, text in seen):
                continue
            seen.add((km.location.line, km.value.text))
            yield _cred_hit(doc, _Cred(km.location.line, km.location.column, f"{km.label} in {_prefix(owner)}",
                                       km.value, provider=True))


def _cred_hit(doc: Document, cred: _Cred) -> Hit:
    return Hit(
        Location(doc.path, cred.line, cred.column),
        f"literal credential in the Dockerfile ({cred.what}): it is in the repository and in the image "
        "layers/history; rotate it, then pass it as a build secret (RUN --mount=type=secret) or inject it at "
        "runtime",
        value=cred.value,
        confidence=Confidence.HIGH if cred.provider else Confidence.MEDIUM,
        name=cred.name or cred.what,
    )


def _value_credential(name: str, raw: str, ctx: RuleContext) -> tuple[Value, str] | None:
    """(value, kind of evidence) when ``raw`` under ``name`` is a literal credential."""
    value = classify(raw)
    candidates = [value.text] if value.kind is ValueKind.LITERAL else []
    if value.default:
        candidates.append(value.default)
    for text in candidates:
        det = match_value(text)
        if det is not None and not det.publishable:
            return Value(text, ValueKind.LITERAL), det.label
        if det is None and _is_secret_name(name, ctx) and _is_secret_value(text):
            return Value(text, ValueKind.LITERAL), "secret value"
    for m in _URL_CREDS.finditer(raw):
        password = m.group(2)
        if _plausible_password(password):
            return Value(password, ValueKind.LITERAL), "password in a URL"
    return None


def _pair_credentials(instr: Instruction, ctx: RuleContext) -> Iterator[_Cred]:
    for kv in instr.pairs:
        if kv.value is None:
            continue
        # label keys are dotted/dashed (com.acme.deploy-token): compare their words like an env name's
        name = re.sub(r"[.\-]+", "_", kv.key) if instr.instruction == "LABEL" else kv.key
        found = _value_credential(name, kv.value, ctx)
        if found is not None:
            value, kind = found
            yield _Cred(kv.line, kv.column, f"{kind} in {_prefix(instr)} {kv.key}", value,
                        provider=kind not in ("secret value", "password in a URL"), name=kv.key)


def _plausible_password(text: str) -> bool:
    """A literal that reads as a real password or token (not ``password``, ``$PASS``, ``<pw>``, ``changeme``)."""
    if not text or "$" in text or "`" in text or text.lower() in _WEAK_PASSWORDS:
        return False
    return _is_secret_value(text)


def _command_credentials(instr: Instruction, cmd: ShellCommand, ctx: RuleContext) -> Iterator[_Cred]:
    where = _prefix(instr)
    argv, lines = cmd.argv, cmd.lines
    words = cmd.words
    name = cmd.name
    offset = len(argv) - len(words)

    def at(k: int) -> int:
        return lines[min(k, len(lines) - 1)] if lines else cmd.line

    # VAR=literal prefixes and export/declare assignments
    for k, word in enumerate(argv):
        is_prefix = k < offset
        is_export = k >= 1 and argv[0] in ("export", "declare", "typeset", "readonly", "local")
        m = _ASSIGN_WORD.match(word)
        if m and (is_prefix or is_export) and _is_secret_name(m.group(1), ctx):
            value = _literal(m.group(2))
            if value is not None and _is_secret_value(value.text):
                yield _Cred(at(k), None, f"{m.group(1)} assigned in {where}", value, name=m.group(1))
    # URLs with user:password@
    for k, word in enumerate(argv):
        for m in _URL_CREDS.finditer(word):
            if _plausible_password(m.group(2)):
                yield _Cred(at(k), None, f"password in a URL in {where}", Value(m.group(2), ValueKind.LITERAL))
    for k, word in enumerate(words):
        kk = k + offset
        nxt = words[k + 1] if k + 1 < len(words) else None
        # -H "Authorization: Bearer ..."
        header = None
        if word in ("-H", "--header") and nxt is not None:
            header = nxt
        elif word.startswith("--header="):
            header = word.partition("=")[2]
        elif word.startswith("-H") and len(word) > 2 and not word.startswith("--"):
            header = word[2:]
        if header is not None:
            cred = _header_credential(header)
            if cred is not None:
                yield _Cred(at(kk + (1 if word in ("-H", "--header") else 0)), None, f"{cred[1]} header in {where}",
                            cred[0], name=cred[1])
            continue
        # curl -u user:password
        if name in ("curl", "wget") and word in ("-u", "--user", "--proxy-user") and nxt is not None:
            _, colon, password = nxt.partition(":")
            if colon and _plausible_password(password):
                yield _Cred(at(kk + 1), None, f"{name} {word} password in {where}",
                            Value(password, ValueKind.LITERAL))
            continue
        # --password=literal, --token literal, --api-key literal...
        if word.startswith("--") and len(word) > 2:
            opt, eq, inline = word[2:].partition("=")
            value_text = inline if eq else nxt
            if value_text is None or opt.endswith(("stdin", "file", "path", "env", "dir")):
                continue
            if name in _KEY_ID_TOOLS or _KEY_ID_OPTION.search(opt):
                continue  # gpg --recv-keys <fingerprint>: a public key id, not a credential
            if value_text.startswith("-") or value_text.startswith(("/", "./", "~")):
                continue
            if _is_secret_name(opt.replace("-", "_"), ctx) and not _tokens(opt) & ALLOW_TOKENS:
                value = _literal(value_text)
                if value is not None and _plausible_password(value.text):
                    yield _Cred(at(kk if eq else kk + 1), None, f"--{opt} option in {where}", value, name=f"--{opt}")
        elif word == "-p" and nxt is not None and len(words) > 1 and words[1] == "login":
            value = _literal(nxt)
            if value is not None and _plausible_password(value.text):
                yield _Cred(at(kk + 1), None, f"{name} login -p in {where}", value)
    # npm config set //registry/:_authToken=literal / yarn config set npmAuthToken literal
    if name in ("npm", "pnpm", "yarn") and len(words) >= 3 and words[1] in ("config", "set"):
        rest = list(words[3:] if words[1] == "config" else words[2:])
        if words[1] == "config" and words[2] != "set":
            rest = []
        for k, word in enumerate(rest):
            key, eq, inline = word.partition("=")
            if not _NPM_AUTH.search(key):
                continue
            text = inline if eq else (rest[k + 1] if k + 1 < len(rest) else "")
            value = _literal(text)
            if value is not None and _plausible_password(value.text):
                yield _Cred(at(len(words) - len(rest) + k + offset), None, f"{name} auth token in {where}", value)
            break
    # echo 'root:pw' | chpasswd ; chpasswd <<< 'root:pw'
    if name in ("chpasswd", "passwd"):
        yield from _chpasswd(instr, cmd, where)
    # shell heredoc bodies (cat > ~/.netrc <<EOF ...)
    for r in cmd.redirects:
        if r.body and r.body_line:
            yield from _body_credentials(f"heredoc in {where}", r.body, r.body_line, ctx)


def _header_credential(header: str) -> tuple[Value, str] | None:
    m = _HEADER.match(header)
    if not m:
        return None
    hname, hvalue = m.group(1), m.group(2).strip()
    lower = hname.lower()
    if lower in ("authorization", "proxy-authorization"):
        parts = hvalue.split(None, 1)
        token = parts[1] if len(parts) == 2 and parts[0].lower() in _AUTH_SCHEMES else hvalue
    elif analyze_name(hname.replace("-", "_")).secret:
        token = hvalue
    else:
        return None
    value = _literal(token.strip())
    if value is None or not _plausible_password(value.text):
        return None
    return value, hname


def _chpasswd(instr: Instruction, cmd: ShellCommand, where: str) -> Iterator[_Cred]:
    texts: list[tuple[str, int]] = []
    for r in cmd.redirects:
        if r.op == "<<<":
            texts.append((r.target, r.line))
    if cmd.piped:
        idx = next((k for k, c in enumerate(instr.commands) if c is cmd), -1)
        prev = instr.commands[idx - 1] if idx > 0 else None
        if prev is not None and prev.name in ("echo", "printf"):
            for k, word in enumerate(prev.words[1:], 1):
                if not word.startswith("-"):
                    texts.append((word, prev.lines[min(k + len(prev.argv) - len(prev.words), len(prev.lines) - 1)]))
    for text, line in texts:
        for chunk in text.replace("\\n", "\n").split("\n"):
            # chpasswd reads user:password lines; passwd reads the bare password (twice)
            password = chunk.split(":")[1] if cmd.name == "chpasswd" and ":" in chunk else chunk
            if _plausible_password(password):
                yield _Cred(line, None, f"password piped to {cmd.name} in {where}",
                            Value(password, ValueKind.LITERAL))
                break


def _body_credentials(where: str, body: str, first_line: int, ctx: RuleContext) -> Iterator[_Cred]:
    for k, line in enumerate(body.split("\n")):
        lineno = first_line + k
        m = _BODY_NPM.search(line)
        if m:
            value = _literal(m.group(1).strip("'\""))
            if value is not None and _plausible_password(value.text):
                yield _Cred(lineno, None, f"auth token in {where}", value)
            continue
        m = _BODY_NETRC.search(line)
        if m:
            value = _literal(m.group(1).strip("'\""))
            if value is not None and _plausible_password(value.text):
                yield _Cred(lineno, None, f"password in {where}", value)
            continue
        m = _BODY_ASSIGN.match(line)
        if m and _is_secret_name(m.group(1), ctx):
            raw = m.group(2).strip().removesuffix(",").strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
                raw = raw[1:-1]
            value = _literal(raw)
            if value is not None and _is_secret_value(value.text):
                yield _Cred(lineno, None, f"{m.group(1)} in {where}", value)
                continue
        for um in _URL_CREDS.finditer(line):
            if _plausible_password(um.group(2)):
                yield _Cred(lineno, None, f"password in a URL in {where}", Value(um.group(2), ValueKind.LITERAL))


# --------------------------------------------------------------------------------------------- BLD-03


def credential_setup_in_run(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-03: a RUN without a secret/ssh mount that stores credentials in the layer."""
    for doc, data in _dockerfiles(repo):
        for instr in data:
            if instr.instruction != "RUN" or instr.secret_mounts:
                continue
            actions: list[tuple[int, str]] = []
            for cmd in instr.commands:
                what = _credential_action(cmd)
                if what:
                    actions.append((cmd.line, what))
            if not actions:
                continue
            line = min(a[0] for a in actions)
            names = list(dict.fromkeys(a[1] for a in actions))
            yield Hit(
                Location(doc.path, line),
                f"{_prefix(instr)} sets up credentials without a secret mount ({'; '.join(names)}): whatever it "
                "writes stays in this image layer even if a later RUN deletes it; use RUN --mount=type=secret,"
                "id=...,target=... (or env=...) or --mount=type=ssh so the credential exists only while the "
                "command runs",
                name=names[0],
                route=f"{_stage_label(instr)}:RUN@{instr.line}",
            )


def _is_credential_target(path: str) -> bool:
    clean = path.strip("'\"")
    base = posixpath.basename(clean.rstrip("/"))
    return base in _WRITE_TARGET_NAMES or clean.endswith(_WRITE_TARGET_SUFFIXES)


_CREDENTIAL_CONTENT = re.compile(r"(?i)_auth|password|passwd|token|secret|login|auths|credential|\$")


def _writes_credentials(cmd: ShellCommand) -> bool:
    """What a redirect writes: echo/printf arguments or a heredoc body; unknown content counts."""
    bodies = [r.body for r in cmd.redirects if r.body is not None]
    if cmd.name in ("echo", "printf"):
        bodies.append(" ".join(cmd.words[1:]))
    return not bodies or any(_CREDENTIAL_CONTENT.search(b) for b in bodies)


def _credential_action(cmd: ShellCommand) -> str | None:
    w = cmd.words
    name = cmd.name
    for r in cmd.redirects:
        if ">" in r.op and _is_credential_target(r.target) and _writes_credentials(cmd):
            return f"writes {posixpath.basename(r.target.rstrip('/'))}"
    if not w:
        return None
    args = w[1:]
    if name == "aws" and args[:2] == ("configure", "set") and len(args) >= 3:
        key = args[2].rsplit(".", 1)[-1].lower()
        if key in _AWS_KEYS:
            return f"aws configure set {key}"
    if name == "gcloud" and args[:2] == ("auth", "activate-service-account"):
        return "gcloud auth activate-service-account"
    if name == "gcloud" and args[:2] == ("auth", "login") and any(a.startswith("--cred-file") for a in args):
        return "gcloud auth login --cred-file"
    if name == "az" and args[:1] == ("login",) and any(
            a in ("-p", "--password", "--federated-token") or a.startswith(("--password=", "--federated-token="))
            for a in args):
        return "az login with a password/token"
    if name == "doctl" and args[:2] == ("auth", "init") and any(
            a in ("-t", "--access-token") or a.startswith("--access-token=") for a in args):
        return "doctl auth init --access-token"
    if name in _LOGIN_TOOLS and args[:1] == ("login",):
        return f"{name} login (writes .docker/config.json)"
    if name == "helm" and args[:2] == ("registry", "login"):
        return "helm registry login"
    if name == "tee" and any(_is_credential_target(a) for a in args if not a.startswith("-")):
        target = next(a for a in args if not a.startswith("-") and _is_credential_target(a))
        return f"writes {posixpath.basename(target)}"
    if name in ("cp", "mv", "install", "ln") and args and _is_credential_target(args[-1]):
        return f"writes {posixpath.basename(args[-1].rstrip('/'))}"
    if name in ("npm", "pnpm") and len(args) >= 2 and (args[:2] == ("config", "set") or args[0] == "set"):
        keys = args[2:] if args[0] == "config" else args[1:]
        if keys and _NPM_AUTH.search(keys[0].partition("=")[0]):
            return f"{name} config set of an auth token (writes .npmrc)"
    if name == "yarn" and args[:2] == ("config", "set") and len(args) >= 3 and _NPM_AUTH.search(args[2]):
        return "yarn config set npmAuthToken"
    if name == "git" and "config" in args:
        rest = args[args.index("config") + 1:]
        if "credential.helper" in rest:
            helper = rest[rest.index("credential.helper") + 1:]
            if helper and helper[0].startswith("store"):
                return "git config credential.helper store"
        for a in rest:
            if a.startswith("url.") and _URL_USERINFO.search(a):
                return "git config url.<credentials>.insteadOf"
    if name == "poetry" and args[:1] == ("config",) and len(args) >= 2 and \
            args[1].startswith(("http-basic.", "pypi-token.")):
        return f"poetry config {args[1].split('.', 1)[0]}"
    if name in ("huggingface-cli", "hf") and "login" in args:
        return f"{name} login (writes the token file)"
    if name == "gh" and args[:2] == ("auth", "login"):
        return "gh auth login"
    return None


_URL_USERINFO = re.compile(r"https?://[^/@\s]+@", re.I)  # ssh://git@host is not a credential


# --------------------------------------------------------------------------------------------- stage graph


def _lineage(data: DockerfileData, stage: int) -> list[int]:
    """The stage and the stages it is built FROM, nearest first."""
    out = []
    current: int | None = stage
    while current is not None and current not in out and 0 <= current < len(data.stages):
        out.append(current)
        current = data.stages[current].base_stage
    return out


def _reaches_final(data: DockerfileData, stage: int) -> bool:
    """The final image is built FROM this stage (directly or through other stages)."""
    final = data.final_stage
    return final is not None and stage in _lineage(data, final)


def _under(path: str, root: str) -> bool:
    return root in ("/", path) or path.startswith(root.rstrip("/") + "/")


def _reaches(data: DockerfileData, stage: int, path: str, is_dir: bool,
             _seen: set[tuple[int, str]] | None = None) -> bool:
    """Whether what is at ``path`` in ``stage`` ends up in the final image (FROM chains and COPY --from)."""
    if stage < 0 or data.final_stage is None:
        return False
    if _reaches_final(data, stage):
        return True
    seen = _seen if _seen is not None else set()
    if (stage, path) in seen:
        return False
    seen.add((stage, path))
    for st in data.stages:
        if st.base_stage == stage and _reaches(data, st.index, path, is_dir, seen):
            return True
    for instr in data:
        if instr.onbuild or instr.instruction not in ("COPY", "ADD") or instr.stage_index <= stage:
            continue
        ref = instr.flag("from")
        src_stage = data.stage(ref) if ref else None
        if src_stage is None or src_stage.index != stage or instr.dest_path is None:
            continue
        for src in instr.sources:
            landed = _forwarded(src.path, path, is_dir, instr)
            if landed is not None and _reaches(data, instr.stage_index, landed, is_dir, seen):
                return True
    return False


def _forwarded(source: str, path: str, is_dir: bool, instr: Instruction) -> str | None:
    """Where ``path`` of the source stage lands when ``instr`` copies ``source`` from it (None: not copied)."""
    dest = instr.dest_path or "/"
    if "$" in source:
        return dest  # unknown: assume the whole tree is carried forward
    src = posixpath.normpath(source if source.startswith("/") else "/" + source)
    base, leaf = posixpath.split(src)
    if any(c in leaf for c in "*?["):
        if not _under(path, base) or path == base:
            return None
        first = path[len(base.rstrip("/")) + 1:].split("/", 1)
        if not fnmatch.fnmatchcase(first[0], leaf):
            return None
        src = posixpath.join(base, first[0])
    if not _under(path, src):
        return None
    if path == src:
        if is_dir:
            return dest
        return posixpath.join(dest, posixpath.basename(path)) if instr.dest_is_dir else dest
    return posixpath.normpath(posixpath.join(dest, path[len(src.rstrip("/")) + 1:]))


def _landing(instr: Instruction, src: Source, is_dir: bool) -> str | None:
    if instr.dest_path is None:
        return None
    if is_dir:
        return instr.dest_path
    leaf = posixpath.basename(src.path.rstrip("/"))
    return posixpath.join(instr.dest_path, leaf) if instr.dest_is_dir else instr.dest_path


# --------------------------------------------------------------------------------------------- build context


def _context_dir(doc: Document) -> str:
    return posixpath.dirname(doc.path)


def _context_rel(source: str) -> str:
    """A COPY source as a path relative to the context root ("" for the root itself)."""
    rel = posixpath.normpath("/" + source.strip()).lstrip("/")
    return "" if rel in (".", "") else rel


def _in_context(ctx_dir: str, rel: str) -> str:
    return posixpath.join(ctx_dir, rel) if ctx_dir and rel else (rel or ctx_dir)


def _is_remote(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", source)) or source.startswith("git@")


def _directory_base(source: str, ctx_dir: str, files: frozenset[str], *, unknown_is_dir: bool = False) -> str | None:
    """For a source that copies a whole directory (``.``, ``src/``, ``*``, ``app/*``), that directory.

    A source absent from the inventory (scanning one Dockerfile, or a generated directory) counts as a
    directory only with ``unknown_is_dir`` and when its name has no extension.
    """
    raw = source.strip()
    rel = _context_rel(raw)
    leaf = posixpath.basename(rel)
    if raw in (".", "./", "/", "*", "./*") or rel == "":
        return ""
    if leaf == "*":
        return posixpath.dirname(rel)
    if any(c in rel for c in "*?["):
        return None
    if raw.endswith("/"):
        return rel
    if _in_context(ctx_dir, rel) in _directories(files):
        return rel
    if unknown_is_dir and _in_context(ctx_dir, rel) not in files and "." not in leaf:
        return rel
    return None


@dataclass(frozen=True, slots=True)
class _Ignore:
    path: str | None  # None: no ignore file at all
    matcher: DockerIgnore | None

    def excluded(self, rel: str) -> bool:
        return self.matcher is not None and self.matcher.is_excluded(rel)


def _effective_ignore(repo: Repository, doc: Document) -> _Ignore | None:
    """The build context's ignore rules; None when an ignore file exists but cannot be evaluated."""
    from auditor.ignore import DockerIgnore, effective_dockerignore

    path = effective_dockerignore(doc.path, _context_dir(doc), repo.files)
    if path is None:
        return _Ignore(None, None)
    ign_doc = repo.document(path)
    if ign_doc is None or not isinstance(ign_doc.data, list):
        return None
    lines = [(int(n), str(p)) for n, p in ign_doc.data]
    matcher = DockerIgnore(path, lines)
    if matcher.error:
        return None  # docker refuses this file: the build fails before anything is copied
    return _Ignore(path, matcher)


# --------------------------------------------------------------------------------------------- BLD-04


@dataclass(frozen=True, slots=True)
class _Build:
    """One Dockerfile with its build context (the Dockerfile's directory) and the context's ignore rules."""

    doc: Document
    data: DockerfileData
    ignore: _Ignore | None  # None: an ignore file exists but cannot be evaluated
    ctx_dir: str
    files: frozenset[str]
    ctx: RuleContext


def credential_file_copied(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """BLD-04: COPY/ADD of a credential file, or a credential-path ENV pointing into copied files."""
    for doc, data in _dockerfiles(repo):
        b = _Build(doc, data, _effective_ignore(repo, doc), _context_dir(doc), repo.files, ctx)
        for instr in data:
            if instr.onbuild or instr.instruction not in ("COPY", "ADD"):
                continue
            for src in instr.sources:
                hit = _copied_credential(b, instr, src)
                if hit is not None:
                    yield hit
        yield from _credential_path_envs(b)


def _copied_credential(b: _Build, instr: Instruction, src: Source) -> Hit | None:
    doc, data, ignore, ctx_dir, files = b.doc, b.data, b.ignore, b.ctx_dir, b.files
    from_stage = instr.flag("from")
    if src.heredoc is not None:
        dest = instr.dest_path or ""
        credential_text = re.search(r"(?i)_auth|password|token|secret|key|auth", src.heredoc.body)
        if not exposes_credentials(dest) or not credential_text:
            return None
        what = f"writes {posixpath.basename(dest)} from a heredoc"
    elif _CRED_PATH_VAR.search(instr.dest or "") and not _is_remote(src.path):
        # COPY ./gcp.json $GOOGLE_APPLICATION_CREDENTIALS: the destination is by definition a credential file
        var = _CRED_PATH_VAR.search(instr.dest or "")
        what = f"copies {posixpath.basename(src.path.rstrip('/')) or src.path} to ${var.group(1) if var else ''}"
        if _reaches_final(data, instr.stage_index):
            return _copy_hit(doc, instr, src, what, from_stage)
        return None
    else:
        if _is_remote(src.path):
            return None
        if exposes_credentials(src.path):
            if from_stage is None and ignore is not None and not any(c in src.path for c in "*?[") and \
                    ignore.excluded(_context_rel(src.path)):
                return None  # the ignore file keeps it out of the context (the build would fail instead)
            what = f"copies {posixpath.basename(src.path.rstrip('/'))}"
        elif from_stage is None and any(c in src.path for c in "*?["):
            matched = _glob_credentials(src.path, ctx_dir, files, ignore)
            if not matched:
                return None
            what = f"copies {', '.join(matched[:3])} through the glob {src.path}"
        else:
            return None
    is_dir = posixpath.basename(src.path.rstrip("/")) in CREDENTIAL_DIRS
    landed = _landing(instr, src, is_dir)
    if landed is None or not _reaches(data, instr.stage_index, landed, is_dir):
        return None
    return _copy_hit(doc, instr, src, what, from_stage)


def _copy_hit(doc: Document, instr: Instruction, src: Source, what: str, from_stage: str | None) -> Hit:
    origin = f" from stage {from_stage}" if from_stage else ""
    return Hit(
        Location(doc.path, src.line, src.column),
        f"{_prefix(instr)} {what}{origin} into the image: every layer is readable by anyone who can pull it, and "
        "deleting the file later does not remove it; mount it only while needed (RUN --mount=type=secret,id=...,"
        "target=...) or provide it at runtime (a mounted secret/volume)",
        name=src.path,
        route=f"{_stage_label(instr)}:{instr.instruction}@{src.path}",
    )


def _glob_credentials(pattern: str, ctx_dir: str, files: frozenset[str], ignore: _Ignore | None) -> list[str]:
    rel_pattern = _context_rel(pattern)
    prefix = ctx_dir + "/" if ctx_dir else ""
    out = []
    for f in _credential_files(files):
        if not f.startswith(prefix):
            continue
        rel = f[len(prefix):]
        top = "/".join(rel.split("/")[: rel_pattern.count("/") + 1])
        if fnmatch.fnmatchcase(top, rel_pattern) and exposes_credentials(rel):
            if ignore is not None and ignore.excluded(rel):
                continue
            out.append(rel)
    return out


def _credential_path_envs(b: _Build) -> Iterator[Hit]:
    doc, data = b.doc, b.data
    for instr in data:
        if instr.instruction not in ("ENV", "ARG") or instr.onbuild or not _reaches_final(data, instr.stage_index):
            continue
        for kv in instr.pairs:
            if not _credential_path_name(kv, b.ctx) or not kv.value or "$" in kv.value:
                continue
            target = posixpath.normpath(kv.value if kv.value.startswith("/") else
                                        posixpath.join(instr.workdir, kv.value))
            copy_line = _copy_covering(b, instr.stage_index, target)
            if copy_line is None:
                continue
            yield Hit(
                Location(doc.path, kv.line, kv.column),
                f"{instr.instruction} {kv.key} points at a credential file that COPY/ADD on line {copy_line} puts "
                "into the image: "
                "the key file ships with every copy of the image; mount it at runtime (a secret volume, "
                "workload identity) and keep it out of the build context",
                name=kv.key,
                route=f"{_stage_label(instr)}:ENV.{kv.key}",
            )


def _credential_path_name(kv: KeyValue, ctx: RuleContext) -> bool:
    """GOOGLE_APPLICATION_CREDENTIALS, KUBECONFIG, DB_PASSWORD_FILE...: the value is a credential file's path."""
    name = kv.key.upper()
    if name in CREDENTIAL_PATH_ENVS or analyze_name(kv.key, ctx.client_prefixes).file_like:
        return True
    if name.endswith(("_FILE", "_PATH")) and len(name) > 5:
        return _is_secret_name(kv.key[:-5], ctx)
    return False


def _copy_covering(b: _Build, stage: int, target: str) -> int | None:
    """Line of a COPY/ADD in the stage's lineage that places a file at ``target`` (None: nothing does)."""
    data, ignore, ctx_dir, files = b.data, b.ignore, b.ctx_dir, b.files
    lineage = set(_lineage(data, stage))
    for instr in data:
        if instr.onbuild or instr.instruction not in ("COPY", "ADD") or instr.stage_index not in lineage:
            continue
        from_stage = instr.flag("from")
        for src in instr.sources:
            if src.heredoc is not None or _is_remote(src.path):
                continue
            base = _directory_base(src.path, ctx_dir, files, unknown_is_dir=True) if from_stage is None else None
            is_dir = base is not None or (from_stage is not None and instr.dest_is_dir and
                                          "." not in posixpath.basename(src.path))
            landed = _landing(instr, src, is_dir)
            if landed is None or not _under(target, landed) or (not is_dir and target != landed):
                continue
            if from_stage is None and ignore is not None:
                if base is not None:
                    rel = posixpath.join(base, target[len(landed.rstrip("/")) + 1:]) if target != landed else base
                else:
                    rel = _context_rel(src.path)
                if rel and ignore.excluded(rel):
                    continue
            return src.line
    return None


# --------------------------------------------------------------------------------------------- IGN-03


def context_copy_without_ignore(repo: Repository, ctx: RuleContext) -> Iterator[Hit]:
    """IGN-03: COPY/ADD of the context root or a directory while the ignore file lets secrets through."""
    for doc, data in _dockerfiles(repo):
        ignore = _effective_ignore(repo, doc)
        if ignore is None:
            continue
        ctx_dir = _context_dir(doc)
        for instr in data:
            if instr.onbuild or instr.instruction not in ("COPY", "ADD") or instr.flag("from") is not None:
                continue
            bases = []
            for src in instr.sources:
                if src.heredoc is not None or _is_remote(src.path):
                    continue
                base = _directory_base(src.path, ctx_dir, repo.files)
                if base is not None:
                    bases.append((src, base))
            if not bases or instr.dest_path is None:
                continue
            if not _reaches(data, instr.stage_index, instr.dest_path, True):
                continue
            probes: list[str] = []
            present: list[str] = []
            advice: list[str] = []
            for _src, base in bases:
                for probe in PROBES:
                    if probe == ".git/config" and (base or ctx_dir):
                        continue  # a repository's .git sits at its root, i.e. the scan root
                    rel = posixpath.join(base, probe) if base else probe
                    if not ignore.excluded(rel) and rel not in probes:
                        probes.append(rel)
                        if _PROBE_PATTERNS[probe] not in advice:
                            advice.append(_PROBE_PATTERNS[probe])
                present.extend(p for p in _present_credentials(base, ctx_dir, repo.files, ignore) if p not in present)
            if not probes and not present:
                continue
            advice_text = ", ".join(f"`{a}`" for a in advice) if advice else "patterns for the files listed"
            src_names = " ".join(s.path for s, _ in bases)
            if ignore.path is None:
                why = "there is no .dockerignore, so every .env file, key and credential file in it is copied"
            else:
                why = f"{ignore.path} does not exclude {', '.join(probes) if probes else 'the files below'}"
            extra = f" (present now: {', '.join(present[:5])}{'...' if len(present) > 5 else ''})" if present else ""
            yield Hit(
                Location(doc.path, instr.line),
                f"{_prefix(instr)} {src_names} copies a whole directory of the build context into the image and "
                f"{why}{extra}; add {advice_text} to "
                f"{ignore.path or posixpath.join(ctx_dir, '.dockerignore')}",
                severity=Severity.HIGH,
                name=src_names,
                route=f"{_stage_label(instr)}:{instr.instruction}@{instr.line}",
            )


@lru_cache(maxsize=4)
def _credential_files(files: frozenset[str]) -> tuple[str, ...]:
    """The repository's credential files, sorted: computed once per scan, not once per Dockerfile."""
    return tuple(sorted(f for f in files if exposes_credentials(f)))


@lru_cache(maxsize=4)
def _directories(files: frozenset[str]) -> frozenset[str]:
    """Every directory that holds a file of the inventory."""
    out: set[str] = set()
    for f in files:
        parent = posixpath.dirname(f)
        while parent and parent not in out:
            out.add(parent)
            parent = posixpath.dirname(parent)
    return frozenset(out)


def _present_credentials(base: str, ctx_dir: str, files: frozenset[str], ignore: _Ignore) -> list[str]:
    root = _in_context(ctx_dir, base)
    prefix = root + "/" if root else ""
    ctx_prefix = ctx_dir + "/" if ctx_dir else ""
    out = []
    for f in _credential_files(files):
        if not f.startswith(prefix):
            continue
        rel = f[len(ctx_prefix):]
        if not ignore.excluded(rel):
            out.append(rel)
    return out


__all__ = [
    "context_copy_without_ignore",
    "credential_file_copied",
    "credential_setup_in_run",
    "exposes_credentials",
    "literal_credential",
    "secret_named_build_var",
]
