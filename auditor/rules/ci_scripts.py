"""The script data flow of the CI rules, and the CI vocabulary they share.

:class:`StepScan` makes one pass per step over its parsed commands (:mod:`auditor.parsers.shell`), tracking which
shell variables hold a secret (bound from the CI's secret store, assigned from one, or derived from one by a
transformation), which were masked with ``::add-mask::``, and whether ``set -x`` is on. It records what LOG-01,
LOG-02, LOG-04 and BLD-06 report; :func:`script_hits` hands one rule's share to :mod:`auditor.rules.ci`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.detect.credfiles import exposes_credentials
from auditor.detect.values import classify, looks_secret
from auditor.model import Confidence, Document, Location, Repository, Severity, Value, ValueKind
from auditor.parsers.ci_model import (
    CIDocument,
    CISystem,
    Job,
    Pipeline,
    Step,
    Via,
    parse_expression,
    secret_env,
)
from auditor.parsers.shell import Command, Script, Span, VarRef, Word
from auditor.rules import Hit, RuleContext
from auditor.rules.envfiles import holds_secret, provider_match, publishable_name, secret_name

# ------------------------------------------------------------------------------------------ vocabulary

# The job's own short-lived tokens, issued per run by the CI (not stored secrets): GitHub's GITHUB_TOKEN, GitLab's
# CI_JOB_TOKEN (also the registry and dependency-proxy password) and job JWTs, Azure's System.AccessToken, the
# OIDC tokens of Bitbucket and CircleCI.
GITHUB_TOKEN_NAMES = frozenset({
    "GITHUB_TOKEN", "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPENDENCY_PROXY_PASSWORD", "CI_JOB_JWT",
    "CI_JOB_JWT_V1", "CI_JOB_JWT_V2", "SYSTEM.ACCESSTOKEN", "SYSTEM_ACCESSTOKEN", "BITBUCKET_STEP_OIDC_TOKEN",
    "CIRCLE_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN_V2",
})
_PRINTERS = frozenset({"echo", "printf", "write-host", "write-output", "write-information", "print"})
# Commands that pass their input through unchanged to stdout (the secret still reaches the log).
_PASS_THROUGH = frozenset({"tee", "cat", "grep", "egrep", "fgrep", "sort", "uniq", "column", "less", "more"})
# Commands whose output is a rewritten form of their input: log masking no longer recognises it.
_TRANSFORMS = frozenset({
    "base64", "base32", "basenc", "rev", "tr", "sed", "awk", "gawk", "mawk", "cut", "jq", "yq", "xxd", "od",
    "hexdump", "fold", "head", "tail", "iconv", "openssl", "gzip", "python", "python3", "perl", "ruby", "node",
})
_OP_NAMES = {":": "a substring expansion `${VAR:offset:length}`", "#": "a prefix removal `${VAR#...}`",
             "##": "a prefix removal `${VAR##...}`", "%": "a suffix removal `${VAR%...}`",
             "%%": "a suffix removal `${VAR%%...}`", "/": "a substitution `${VAR/.../...}`",
             "//": "a substitution `${VAR//.../...}`", "^": "a case change", "^^": "a case change",
             ",": "a case change", ",,": "a case change", "@": "a `${VAR@...}` transformation"}
_HASHES = frozenset({"sha1sum", "sha256sum", "sha512sum", "md5sum", "cksum", "shasum", "b2sum"})
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_CURL_VALUE_LETTERS = "HuodXAeFTxwbcKErmyYzUCQPt"
_AUTH_HEADER = re.compile(r"^\s*(?:authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|"
                          r"private-token|x-access-token|cookie|x-[\w-]*(?:token|key|secret))\s*:", re.I)
_URL_CREDENTIALS = re.compile(r"://([^/\s:@]+):((?:\$\{\{.*?\}\}|[^/\s@])+)@")
_GITHUB_ENV_FILES = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE")
_LOGIN_TOOLS = frozenset({"docker", "podman", "buildah", "skopeo", "nerdctl", "oras", "cosign", "helm", "crane",
                          "regctl"})
_DB_CLIENTS = frozenset({"mysql", "mysqladmin", "mysqldump", "mariadb", "mariadb-dump"})
DEBUG_FLAGS: dict[str, frozenset[str]] = {
    "ACTIONS_STEP_DEBUG": frozenset({"true"}),
    "ACTIONS_RUNNER_DEBUG": frozenset({"true"}),
    "CI_DEBUG_TRACE": frozenset({"true", "1", "t"}),
    "CI_DEBUG_SERVICES": frozenset({"true", "1", "t"}),
    "SYSTEM.DEBUG": frozenset({"true"}),
    "SYSTEM_DEBUG": frozenset({"true"}),
}
WORKSPACE_PATHS = frozenset({".", "./", "..", "../", "*", "**", "./*", "./**", "**/*", "./**/*",
                              "${{ github.workspace }}", "${{ github.workspace }}/", "${{github.workspace}}",
                              "${{github.workspace}}/", "$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}"})
DANGEROUS_TRIGGERS = ("pull_request_target", "workflow_run", "issue_comment")
UNTRUSTED_REFS = (
    "github.event.pull_request.head.", "github.head_ref", "github.event.workflow_run.head_",
    "github.event.pull_request.merge_commit_sha", "github.event.issue.pull_request",
    "github.event.workflow_run.pull_requests",
)
BUILD_TOOLS = frozenset({
    "npm", "npx", "yarn", "pnpm", "bun", "node", "deno", "pip", "pip3", "python", "python3", "poetry", "pipenv",
    "uv", "tox", "nox", "pytest", "make", "cmake", "ninja", "mvn", "mvnw", "gradle", "gradlew", "go", "cargo",
    "dotnet", "msbuild", "bundle", "rake", "ruby", "composer", "php", "ant", "sbt", "mix", "swift", "dart",
    "flutter", "pre-commit", "just", "task", "docker", "docker-compose", "bazel", "lerna", "nx", "turbo",
})
_BUILD_PROGRAMS = frozenset({"docker", "podman", "nerdctl", "buildah", "img", "executor", "kaniko", "buildctl",
                             "docker-compose"})
_BUILTINS = frozenset({"export", "local", "declare", "typeset", "readonly", "set", "unset", "test", "[", "[[",
                       "read", "cd", "pushd", "popd", "true", "false", ":", "shift", "return", "exit", "source", ".",
                       "alias", "let", "eval", "if", "exec", "trap", "wait", "shopt", "ulimit", "umask"})
BUILD_ACTIONS = ("docker/build-push-action", "docker/bake-action")
_BUILD_ARG_FLAGS = ("--build-arg", "--set", "--opt")
ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HELM_KEY = re.compile(r"^[\w.\[\]\\/-]{1,200}$")
LOGIN_ACTIONS = ("docker/login-action", "azure/docker-login", "redhat-actions/podman-login")
STORE_HINTS = {
    CISystem.GITHUB_ACTIONS: "store it as an encrypted secret and reference it (`${{ secrets.NAME }}`)",
    CISystem.GITLAB: "store it as a masked, protected CI/CD variable and reference it (`$NAME`)",
    CISystem.CIRCLECI: "store it in a project environment variable or a restricted context and reference it (`$NAME`)",
    CISystem.BITBUCKET: "store it as a secured repository or deployment variable and reference it (`$NAME`)",
    CISystem.AZURE: "store it as a secret variable (variable group, Key Vault) and reference it (`$(NAME)`)",
}


# ------------------------------------------------------------------------------------------- helpers


def ci_pipelines(repo: Repository) -> Iterator[tuple[Document, Pipeline]]:
    """Every pipeline of every CI document, whatever the CI system."""
    for doc in repo.documents:
        if isinstance(doc.data, CIDocument):
            for pipeline in doc.data.pipelines:
                yield doc, pipeline


def program_of(command: Command) -> str:
    """The program name, lower-cased for matching (PowerShell's ``Write-Host`` is ``write-host``)."""
    return command.program.lower()


def ci_location(doc: Document, line: int, column: int | None = None) -> Location:
    return Location(doc.path, line, column)


def is_job_token(name: str) -> bool:
    return name.upper() in GITHUB_TOKEN_NAMES


def secret_label(name: str) -> str:
    return "every secret" if name == "*" else f"secret {name}"


@dataclass(frozen=True, slots=True)
class _Taint:
    """What a shell value carries: a secret (by name), possibly rewritten so that masking misses it."""

    secret: str
    how: str = ""  # how the value was rewritten ("base64", "fromJSON()"...); "" while it is the secret itself
    via: str = ""  # the variable it came through, if any

    @property
    def derived(self) -> bool:
        return bool(self.how)

    @property
    def label(self) -> str:
        return f"{secret_label(self.secret)}" + (f" (via ${self.via})" if self.via and self.via != self.secret else "")


@dataclass(frozen=True, slots=True)
class _Finding:
    rule: str
    line: int
    column: int | None
    message: str
    name: str
    severity: Severity | None = None
    confidence: Confidence | None = None
    value: Value | None = None


# --------------------------------------------------------------------------------- script data flow


class StepScan:
    """One pass over a step's script: LOG-01, LOG-02, LOG-04 and BLD-06 findings."""

    def __init__(self, doc: Document, pipeline: Pipeline, job: Job, step: Step, ctx: RuleContext) -> None:
        self.doc = doc
        self.pipeline = pipeline
        self.job = job
        self.step = step
        self.ctx = ctx
        scope = secret_env(pipeline, job, step)
        self.tainted: dict[str, _Taint] = {}
        for name, binding in scope.items():
            first = binding.secrets[0]
            how = "fromJSON()" if any(u.unredacted for u in binding.secrets) else (
                "an expression function" if any(u.transformed and not u.whole for u in binding.secrets) else "")
            self.tainted[name] = _Taint(first.name, how, name)
        self.plain_env = {b.name for b in (*pipeline.env, *job.env, *step.env) if not b.secrets}
        self.assigned: set[str] = set()
        self.masked: set[str] = set()
        self.findings: list[_Finding] = []
        self.inline_secrets = [u for u in step.secrets if u.via is Via.SCRIPT]
        # script expressions the parser resolved to a secret (Azure `$(name)` macros), by position
        self.inline_at = {(u.location.line, u.location.column): u for u in self.inline_secrets}

    # -- taint
    def var_taint(self, var: VarRef) -> _Taint | None:
        if var.op in {"len", "!", ":+", "+"} or var.name in self.masked:
            return None  # ${#X}, ${!X}, ${X:+word}: not the value itself
        taint = self.tainted.get(var.name)
        if taint is None and self.pipeline.ambient_secrets and var.name not in self.assigned \
                and var.name not in self.plain_env and secret_name(var.name, self.ctx):
            taint = _Taint(var.name, "", var.name)
        if taint is None:
            return None
        if var.transforms:
            return _Taint(taint.secret, _OP_NAMES.get(var.op, "a parameter expansion"), var.name)
        return _Taint(taint.secret, taint.how, var.name)

    def expr_taint(self, text: str, span: Span | None = None) -> _Taint | None:
        expression = parse_expression(text)
        for use in expression.secret_uses(ci_location(self.doc, 0), Via.SCRIPT):
            how = "fromJSON()" if use.unredacted else ("an expression function" if use.transformed and not use.whole
                                                        else "")
            return _Taint(use.name, how)
        for ref in expression.of("env"):  # ${{ env.TOKEN }} where TOKEN is bound to a secret
            if ref.path and ref.path[0] in self.tainted:
                return self.tainted[ref.path[0]]
        inline = self.inline_at.get((span.line, span.column)) if span is not None else None
        return _Taint(inline.name) if inline is not None else None  # a secret the parser resolved (`$(name)`)

    def word_taint(self, word: Word) -> _Taint | None:
        """The secret a word's value carries, if any (substitutions included)."""
        found: _Taint | None = None
        for var in word.vars:
            taint = self.var_taint(var)
            if taint is not None and (found is None or taint.derived):
                found = taint
        for span in word.exprs:
            taint = self.expr_taint(span.text, span)
            if taint is not None and (found is None or taint.derived):
                found = taint
        for sub in word.subs:
            taint = self.sub_taint(sub)
            if taint is not None and (found is None or taint.derived):
                found = taint
        return found

    def command_input_taint(self, command: Command) -> _Taint | None:
        """The secret a command reads through its words, here-strings or heredoc bodies."""
        found: _Taint | None = None
        for word in command.argv()[1:]:
            found = found or self.word_taint(word)
        for redirect in command.redirects:
            if redirect.op == "<<<" and redirect.target is not None:
                found = found or self.word_taint(redirect.target)
            if redirect.heredoc is not None:
                for var in redirect.heredoc.vars:
                    found = found or self.var_taint(var)
                for span in redirect.heredoc.exprs:
                    found = found or self.expr_taint(span.text, span)
        return found

    def sub_taint(self, sub: Script) -> _Taint | None:
        """``$(echo "$S" | base64)``: the output of a substitution, derived when a stage rewrites the secret."""
        found: _Taint | None = None
        commands = list(sub.commands)
        for index, command in enumerate(commands):
            taint = self.command_input_taint(command)
            if taint is None:
                continue
            program = program_of(command)
            if program in _HASHES:
                continue
            how = taint.how or (f"`{program}`" if program in _TRANSFORMS else "")
            for later in commands[index + 1:]:
                if later.pipeline != command.pipeline:
                    break
                if program_of(later) in _HASHES:
                    taint = None
                    break
                if program_of(later) in _TRANSFORMS:
                    how = how or f"`{program_of(later)}`"
            if taint is not None and (found is None or how):
                found = _Taint(taint.secret, how, taint.via)
        return found

    # -- output
    def sink(self, script: Script, command: Command) -> tuple[str, str]:
        """Where stdout ends up ("log", "export", "file", "consumed", "captured") and the transform on the way."""
        if command.captured:
            return "captured", ""
        target = self._redirect_target(command)
        if target is not None:
            return target, ""
        if not command.pipes_out:
            return "log", ""
        transformed = ""
        for later in script.pipeline_of(command):
            if later.stage <= command.stage:
                continue
            program = program_of(later)
            if program in _PASS_THROUGH:
                pass
            elif program in _TRANSFORMS:
                transformed = transformed or f"`{program}`"
            else:
                return "consumed", transformed
            target = self._redirect_target(later)
            if target is not None:
                return target, transformed
            if not later.pipes_out:
                break
        return "log", transformed

    @staticmethod
    def _redirect_target(command: Command) -> str | None:
        for redirect in command.redirects:
            if redirect.writes_stdout:
                text = redirect.target.text if redirect.target is not None else ""
                if text in {"&2", "2", "/dev/stderr", "/dev/stdout", "/dev/tty"}:
                    return "log"
                if any(name in text for name in _GITHUB_ENV_FILES):
                    return "export"
                return "file"
        return None

    def scope_names(self) -> list[str]:
        names = [t.secret for t in self.tainted.values()] + [u.name for u in self.inline_secrets]
        return sorted(set(names))

    # -- findings
    def add(self, rule: str, word_or_command: Word | Command, message: str, name: str, *,
            severity: Severity | None = None, confidence: Confidence | None = None) -> None:
        self.findings.append(_Finding(rule, word_or_command.line, word_or_command.column, message, name, severity,
                                      confidence))

    def run(self) -> list[_Finding]:
        script = self.step.script
        if script is None:
            return self.findings
        self.shell_xtrace()
        for command in script.walk():
            self.assignments(command)
            if self.masking(command):
                continue
            self.xtrace(command)
            self.dumps(script, command)
            self.prints(script, command)
            self.curl_verbose(command)
            self.argv_secrets(command)
            self.build_args(command)
        return self.findings

    def assignments(self, command: Command) -> None:
        for assignment in command.assignments:
            taint = self.word_taint(assignment.value)
            self.assigned.add(assignment.name)
            self.masked.discard(assignment.name)
            if taint is not None:
                self.tainted[assignment.name] = _Taint(taint.secret, taint.how, assignment.name)
            else:
                self.tainted.pop(assignment.name, None)
        if program_of(command) == "read":
            for word in command.argv()[1:]:
                if not word.text.startswith("-"):
                    self.assigned.add(word.text)

    def masking(self, command: Command) -> bool:
        """``echo "::add-mask::$V"``: V is masked from here on (not a leak)."""
        if program_of(command) not in _PRINTERS:
            return False
        masked = False
        for word in command.args:
            if "::add-mask::" in word.text:
                masked = True
                for var in word.all_vars():
                    self.masked.add(var.name)
        return masked

    def shell_xtrace(self) -> None:
        shell = self.step.shell or ""
        parts = shell.split()
        if not parts or parts[0].rsplit("/", 1)[-1] not in SHELLS:
            return
        if any(re.match(r"^-[a-zA-Z]*x", p) for p in parts[1:]) and self.scope_names():
            line = self.step.shell_line or self.step.script_line or self.step.line
            self.findings.append(_Finding(
                "LOG-01", line, None,
                f"step {self._step_name()} runs with `{parts[0]} -x` while {self._scope_text()} in scope: xtrace "
                "prints every command with its arguments expanded, secrets included; drop `-x` (or wrap the "
                "secret-handling commands in `set +x` ... `set -x`)", self._scope_key(), self._scope_severity()))

    def xtrace(self, command: Command) -> None:
        program = program_of(command)
        if program == "set" and self.scope_names():
            args = [w.text for w in command.argv()[1:]]
            on = any(re.match(r"^-[a-zA-Z]*x[a-zA-Z]*$", a) for a in args) or (
                "-o" in args and "xtrace" in args)
            if on:
                self.add("LOG-01", command, f"`set -x` in step {self._step_name()} while {self._scope_text()} in "
                         "scope: xtrace prints every following command with its arguments expanded, secrets "
                         "included; remove it, or turn it off (`set +x`) around commands that use secrets",
                         self._scope_key(), severity=self._scope_severity())
        elif program in SHELLS and command.short_flag("x", "co") and self.scope_names():
            self.add("LOG-01", command, f"`{program} -x` in step {self._step_name()} while {self._scope_text()} in "
                     "scope: xtrace prints the commands of that script with secrets expanded; drop `-x`",
                     self._scope_key(), severity=self._scope_severity())

    def dumps(self, script: Script, command: Command) -> None:
        program = program_of(command)
        argv = command.argv()
        args = [w.text for w in argv[1:]]
        dump = (
            (program in {"env", "printenv"} and not args)
            or (program == "export" and args in ([], ["-p"]))
            or (program in {"declare", "typeset"} and args and all(a.startswith("-") for a in args)
                and any("p" in a or "x" in a for a in args))
            or (program == "set" and not args)
            or (program in {"get-childitem", "gci", "dir", "ls"} and args[:1] and args[0].lower() in {"env:", "env:*"})
        )
        if dump:
            ambient = {u.name for u in self.inline_secrets} if self.pipeline.ambient_secrets else set()
            names = sorted({t.secret for t in self.tainted.values()} | ambient)  # ambient: read from the env
            if not names:
                return
            where, _ = self.sink(script, command)
            later = [c for c in script.pipeline_of(command) if c.stage > command.stage]
            if where != "log" or any(program_of(c) not in {"tee", "cat"} for c in later):
                return  # filtered (`env | grep ^PATH=`) or sent elsewhere
            self.add("LOG-01", command, f"`{' '.join([program, *args])}` dumps the environment of step "
                     f"{self._step_name()} to the log, including {self._names(names)}: print only the variables you "
                     "need, by name, and never secret ones", ",".join(names),
                     severity=Severity.LOW if all(is_job_token(n) for n in names) else None)
            return
        if program == "printenv" and args:
            for word in argv[1:]:
                taint = self.tainted.get(word.text)
                if taint is not None and word.text not in self.masked and self.sink(script, command)[0] == "log":
                    self.add("LOG-01", word, f"`printenv {word.text}` prints {taint.label} to the log; do not print "
                             "secrets (masking is best effort: multi-line, JSON and transformed values are not "
                             "masked)", taint.secret)
        if program == "cat" and self.scope_names():
            for word in argv[1:]:
                if carries_credentials(word.text) and self.sink(script, command)[0] == "log":
                    self.add("LOG-01", word, f"`cat {posixpath.basename(word.text)}` prints a credential file to the "
                             f"log while {self._scope_text()} in scope; do not print it", word.text)

    def prints(self, script: Script, command: Command) -> None:
        program = program_of(command)
        reads: list[tuple[Word | Command, _Taint]] = []
        if program in _PRINTERS:
            for word in command.argv()[1:]:
                taint = self.word_taint(word)
                if taint is not None:
                    reads.append((word, taint))
        elif program == "cat" or (program in _PASS_THROUGH | _TRANSFORMS and command.stage == 0):
            for redirect in command.redirects:
                taint = None
                if redirect.heredoc is not None:
                    for var in redirect.heredoc.vars:
                        taint = taint or self.var_taint(var)
                    for span in redirect.heredoc.exprs:
                        taint = taint or self.expr_taint(span.text, span)
                elif redirect.op == "<<<" and redirect.target is not None:
                    taint = self.word_taint(redirect.target)
                if taint is not None:
                    reads.append((command, taint))
        for where_word, taint in reads[:1] if program not in _PRINTERS else reads:
            where, transformed = self.sink(script, command)
            how = taint.how or transformed or (f"`{program}`" if program in _TRANSFORMS and command.stage == 0 else "")
            if where == "log" and how:
                self.add("LOG-02", where_word, f"{taint.label} is printed to the log after being rewritten by {how}: "
                         "the runner masks only the exact secret value, so the rewritten form is shown in clear; do "
                         "not print it, or register the derived value with `::add-mask::` first", taint.secret)
            elif where == "log":
                self.add("LOG-01", where_word, f"`{program}` prints {taint.label} to the log: masking is best effort "
                         "(multi-line, JSON, short and transformed values are shown in clear) and the value also "
                         "reaches anything that collects the log; do not print secrets", taint.secret,
                         severity=Severity.LOW if is_job_token(taint.secret) else None)
            elif where == "export" and how:
                self.add("LOG-02", where_word, f"{taint.label} is exported to later steps (GITHUB_ENV/GITHUB_OUTPUT) "
                         f"after being rewritten by {how}: the runner does not know the derived value, so it is not "
                         "masked when printed; register it with `::add-mask::` before exporting it", taint.secret)

    def curl_verbose(self, command: Command) -> None:
        if program_of(command) != "curl":
            return
        verbose = command.short_flag("v", _CURL_VALUE_LETTERS) is not None or command.has_option(
            "--verbose", "--trace", "--trace-ascii", "--libcurl")
        if not verbose:
            return
        auth = any(_AUTH_HEADER.match(o.text) for o in command.options(["--header"], ["-H"])) or any(
            True for _ in command.options(["--user", "--oauth2-bearer", "--proxy-user"], ["-u"]))
        if auth:
            self.add("LOG-01", command, "`curl` runs in verbose/trace mode with credentials: it prints the request "
                     "headers (Authorization included) to the log; drop `-v`/`--trace` or the credentials",
                     "curl")

    def _argv_secret(self, word: Word) -> _Taint | None:
        taint = self.word_taint(word)
        if taint is not None:
            return taint
        for var in word.all_vars():  # an unbound but secret-named variable (set by an earlier step)
            if var.name not in self.assigned and var.name not in self.plain_env and secret_name(var.name, self.ctx) \
                    and var.name not in self.masked:
                return _Taint(var.name, "", var.name)
        return None

    def argv_secrets(self, command: Command) -> None:
        before = len(self.findings)
        self._known_argv(command)
        if len(self.findings) == before:
            self._generic_argv(command)

    def _generic_argv(self, command: Command) -> None:
        """Any other program given a secret-named secret as an argument (``--api-key "$KEY"``, ``/p:Pwd=...``)."""
        argv = command.argv()
        if not argv or command.keyword is not None:
            return
        name = argv[0].text
        program = program_of(command)
        if program in _BUILTINS or program in _PRINTERS or name.startswith(("$", "[", "@")):
            return
        for index, word in enumerate(argv[1:], 1):
            previous = argv[index - 1].text if index > 1 else ""
            if previous in _BUILD_ARG_FLAGS or word.text.startswith(tuple(f + "=" for f in _BUILD_ARG_FLAGS)):
                continue  # a build argument: BLD-06
            if word.text.startswith(("<(", ">(")):
                continue  # process substitution: the program gets a /dev/fd path, the secret never reaches argv
            taint = self.word_taint(word)
            if taint is None:
                continue
            flags = [word.text.split("=", 1)[0], previous]
            named = any(_flag_is_secret(flag, self.ctx) for flag in flags)
            if not (named or secret_name(taint.secret, self.ctx) or is_job_token(taint.secret)):
                continue
            self.add("LOG-04", word, f"`{program}` gets {taint.label} as a command-line argument: the process list, "
                     "`set -x` and tools that echo their invocation show it; pass it through an environment "
                     "variable the program reads, a file, or stdin", taint.secret,
                     severity=Severity.LOW if is_job_token(taint.secret) else None, confidence=Confidence.LOW)
            return

    def _known_argv(self, command: Command) -> None:
        program = program_of(command)
        argv = command.argv()
        if program in _LOGIN_TOOLS and _is_login(command):
            for option in command.options(["--password"], ["-p"]):
                if option.text and not option.text.startswith("-"):
                    taint = self._argv_secret(option.value) if option.value is not None else None
                    token_only = taint is not None and is_job_token(taint.secret)
                    self.add("LOG-04", option.flag, f"`{program} login` takes the password on its command line, "
                             "where the process list, shell history and `set -x` show it: pipe it in with "
                             "`--password-stdin` instead", program, severity=Severity.LOW if token_only else None)
            return
        if program in {"curl", "wget"}:
            self._curl_args(command)
        if program == "helm":
            for option in command.options(["--set", "--set-string", "--set-literal"]):
                word = option.value or option.flag
                carries = self._argv_secret(word) is not None
                for key, value in _helm_keys(option.text):
                    leaf = re.split(r"[.\[\]]", key.strip())
                    leaf_name = next((p for p in reversed(leaf) if p), "")
                    if not _HELM_KEY.match(key) or not leaf_name or not secret_name(leaf_name, self.ctx) \
                            or publishable_name(leaf_name):
                        continue
                    literal = classify(value).kind is ValueKind.LITERAL and looks_secret(value, name_is_secret=True)
                    if carries or literal:
                        self.add("LOG-04", option.value or option.flag, f"`helm --set {key}=...` puts a secret on the "
                                 "command line (visible in the process list and `set -x`, and stored in the release "
                                 "history); pass it with `--values` from a file or reference an existing Secret",
                                 key)
                        break
        if program in _DB_CLIENTS:
            for option in command.options(["--password"], ["-p"], attached_short=True):
                if option.attached and option.text:
                    self.add("LOG-04", option.flag, f"`{program} -p<password>` puts the password on the command "
                             "line; use the MYSQL_PWD environment variable or an option file", program)
        if program == "sshpass":
            for option in command.options([], ["-p"], attached_short=True):
                if option.text:
                    self.add("LOG-04", option.flag, "`sshpass -p` puts the password on the command line; use "
                             "`sshpass -e` (SSHPASS variable) or `-f file`", program)
        if program == "az" and command.subcommand("login"):
            for option in command.options(["--password", "--federated-token"], ["-p"]):
                if option.text and self._argv_secret(option.value or option.flag) is not None:
                    self.add("LOG-04", option.flag, "`az login` takes the secret on the command line; prefer OIDC "
                             "(`azure/login` with federated credentials) or read it from a file", program)
        if program not in _PRINTERS:
            for word in argv[1:]:
                m = _URL_CREDENTIALS.search(word.text)
                if m is None:
                    continue
                taint = self._argv_secret(word)
                if taint is not None and ("$" in m.group(2) or "${{" in word.text):
                    self.add("LOG-04", word, f"`{program}` gets a URL with {taint.label} embedded as its password: "
                             "the command line is visible in the process list and `set -x`; use a credential "
                             "helper, `http.extraheader` from a file, or a netrc", taint.secret)

    def _curl_args(self, command: Command) -> None:
        program = program_of(command)
        if program == "curl":
            options = [("-u", o) for o in command.options(["--user", "--proxy-user"], ["-u"])]
            options += [("-H", o) for o in command.options(["--header"], ["-H"])]
            options += [("-d", o) for o in command.options(
                ["--data", "--data-raw", "--data-binary", "--data-urlencode", "--form", "--form-string"], ["-d", "-F"])]
        else:
            options = [("--header", o) for o in command.options(["--header"])]
            options += [("--password", o) for o in command.options(["--password", "--http-password"])]
        for flag, option in options:
            word = option.value
            if word is None:
                continue
            taint = self._argv_secret(word)
            if taint is None:
                continue
            if flag == "-u" and ":" not in option.text:
                continue
            what = {"-u": "as `-u user:password`", "-H": "in a header", "--header": "in a header",
                    "-d": "in the request data", "--password": "as `--password`"}[flag]
            self.add("LOG-04", word, f"`{program}` gets {taint.label} on its command line {what}: the process list "
                     "and `set -x` show it; read it from a file instead (`-H @file`, `--netrc-file`, `-K config`, "
                     "`--data @file`)", taint.secret,
                     severity=Severity.LOW if is_job_token(taint.secret) else None)

    def build_args(self, command: Command) -> None:
        program = program_of(command)
        if program not in _BUILD_PROGRAMS and not command.name.endswith("/kaniko/executor"):
            return
        is_build = (
            program in {"executor", "kaniko", "img"}
            or command.name.endswith("/kaniko/executor")
            or (program == "buildah" and (command.subcommand("bud") or command.subcommand("build")))
            or (program == "buildctl" and command.subcommand("build"))
            or (program in {"docker", "podman", "nerdctl"} and (
                command.subcommand("build") or command.subcommand("buildx", "build")
                or command.subcommand("image", "build") or command.subcommand("builder", "build")
                or command.subcommand("buildx", "bake") or command.subcommand("compose", "build")
                or command.subcommand("buildx", "b")))
            or (program == "docker-compose" and command.subcommand("build"))
        )
        if not is_build:
            return
        entries: list[tuple[Word, str]] = [(o.value or o.flag, o.text) for o in command.options(["--build-arg"])]
        for option in command.options(["--set"]):
            m = re.match(r"^[^=]*\.args\.([^=]+)=(.*)$", option.text, re.S)
            if m is not None:
                entries.append((option.value or option.flag, f"{m.group(1)}={m.group(2)}"))
        for option in command.options(["--opt"]):
            if option.text.startswith("build-arg:"):
                entries.append((option.value or option.flag, option.text[len("build-arg:"):]))
        for word, text in entries:
            key, sep, value = text.partition("=")
            finding = self._build_arg(key.strip(), value if sep else None, word)
            if finding is not None:
                self.findings.append(finding)

    def _build_arg(self, key: str, value: str | None, word: Word) -> _Finding | None:
        if not ARG_NAME.match(key):
            return None  # not an ARG name (and never echoed into a message)
        taint = self.word_taint(word)
        reason: str | None = None
        severity: Severity | None = None
        literal: Value | None = None
        if taint is not None:
            reason = f"carries {taint.label}"
        elif value is None:
            bound = self.tainted.get(key)
            if bound is not None:
                reason = f"copies {bound.label} from the environment"
            elif holds_secret(key, self.ctx):
                reason = "copies a secret-named variable from the environment"
        else:
            classified = classify(value)
            if classified.kind is ValueKind.LITERAL:
                detector = provider_match(value)
                named = secret_name(key, self.ctx) and not publishable_name(key)
                if detector is not None or (named and looks_secret(value, name_is_secret=True)):
                    reason = f"holds a literal {detector.label if detector else 'secret'}"
                    severity = Severity.CRITICAL if detector is not None else None
                    literal = classified
            elif classified.kind is not ValueKind.EMPTY and classified.kind is not ValueKind.PLACEHOLDER:
                named = holds_secret(key, self.ctx)
                if named:
                    reason = "passes a secret-named value"
        if reason is None:
            return None
        return _Finding("BLD-06", word.line, word.column, bld06_message(key, reason, "--build-arg"), key, severity,
                        None, literal)

    # -- text
    def _step_name(self) -> str:
        return f"`{self.step.name}`" if self.step.name else self.step.route

    def _scope_text(self) -> str:
        names = self.scope_names()
        return f"{self._names(names)} {'is' if len(names) == 1 else 'are'}"

    def _scope_severity(self) -> Severity | None:
        """LOW when the only secret in scope is the job's own short-lived GITHUB_TOKEN."""
        names = self.scope_names()
        return Severity.LOW if names and all(is_job_token(n) for n in names) else None

    def _scope_key(self) -> str:
        return ",".join(self.scope_names())

    @staticmethod
    def _names(names: list[str]) -> str:
        shown = ", ".join(("every secret" if n == "*" else n) for n in names[:4])
        more = f" and {len(names) - 4} more" if len(names) > 4 else ""
        return f"secret{'s' if len(names) > 1 else ''} {shown}{more}"


def _flag_is_secret(text: str, ctx: RuleContext) -> bool:
    """``--api-key``, ``--veracode_api_key``, ``/p:PackageCertificatePassword``, ``db_password`` (of
    ``db_password=...``): an option or key naming a secret."""
    m = re.match(r"^(?:--?|/)?(?:p:)?([A-Za-z][\w.-]*)$", text)
    if m is None:
        return False
    return secret_name(re.sub(r"[.-]", "_", m.group(1)), ctx)


def _is_login(command: Command) -> bool:
    program = program_of(command)
    if program == "helm":
        return command.subcommand("registry", "login")
    if program == "crane":
        return command.subcommand("auth", "login")
    return command.subcommand("login")


def _helm_keys(text: str) -> Iterator[tuple[str, str]]:
    """``a.b=1,c=2`` -> (key, value) pairs (commas inside ``{...}``/``[...]`` kept)."""
    for part in re.split(r",(?![^{\[]*[}\]])", text):
        key, sep, value = part.partition("=")
        if sep and value.strip():
            yield key, value


def carries_credentials(path: str) -> bool:
    """An artifact, cache or printed path that carries credentials (catalog §D4, plus tfvars)."""
    cleaned = path.strip().strip("\"'")
    if cleaned.startswith("!"):  # an exclusion in an artifact path list
        return False
    return exposes_credentials(cleaned) or cleaned.rstrip("/").lower().endswith(".tfvars")


def bld06_message(key: str, reason: str, how: str) -> str:
    secret_id = key.lower().replace("_", "-")
    return (f"build arg {key} {reason} into the image build ({how}): build-arg values are kept in the image "
            "history and in the SLSA provenance attestation that BuildKit attaches to pushed images "
            "(`docker/build-push-action` >= v4 sets provenance `mode=max` on public repositories, which records "
            f"them); pass it as a build secret (`--secret id={secret_id},env={key}` / the action's `secrets:` "
            f"input) and read it with `RUN --mount=type=secret,id={secret_id},env={key}`")


def _script_findings(repo: Repository, ctx: RuleContext) -> Iterator[tuple[Document, _Finding]]:
    for doc, pipeline in ci_pipelines(repo):
        for job in pipeline.jobs:
            for step in job.steps:
                if step.script is not None:
                    for finding in StepScan(doc, pipeline, job, step, ctx).run():
                        yield doc, finding


def script_hits(repo: Repository, ctx: RuleContext, rule: str) -> Iterator[Hit]:
    # one finding per source position: a script shared by several jobs (GitLab `default: before_script`,
    # `extends`, anchors) is reported once, for the first job that runs it
    seen: set[tuple[str, int, int | None]] = set()
    for doc, finding in _script_findings(repo, ctx):
        if finding.rule != rule:
            continue
        key = (doc.path, finding.line, finding.column)
        if key in seen:
            continue
        seen.add(key)
        yield Hit(ci_location(doc, finding.line, finding.column), finding.message, value=finding.value,
                  severity=finding.severity, confidence=finding.confidence, name=finding.name)
