"""Deterministic synthetic repository for the keyaudit benchmark.

``generate(root, files, seed)`` writes ``files`` files across the kinds keyaudit audits (Dockerfiles, compose,
env files, ignore files, Terraform, tfvars, multi-document Kubernetes manifests, GitHub workflows) plus plain
source code and docs. A small share of files (``secret_share``) gets one planted fake credential, generated
from the seeded RNG: random characters in a provider's *shape* (so detectors can match it), never a real key.
Every planted credential is recorded with its path and 1-based line, so the benchmark can check how many of
them a scan located (and that the few planted in ``.env*.local`` files, which the root ``.gitignore`` ignores,
are not reported).

The rest of the content is deliberately secret-free but close to it: references (``${{ secrets.X }}``,
``var.x``, ``secretKeyRef``), placeholders (``changeme``), non-secret names (``PORT``), so that the false-
positive paths of the rules are exercised as well.

Nothing here is imported by keyaudit; the module is used by ``bench/bench.py`` and by the smoke test.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MARKER = ".keyaudit-bench"  # written at the root of every generated tree; bench.py only wipes such trees

# Share of each kind among the generated files (normalised by random.choices).
KIND_WEIGHTS: dict[str, float] = {
    "py": 0.20,
    "js": 0.14,
    "go": 0.09,
    "md": 0.03,
    "dockerfile": 0.06,
    "compose": 0.03,
    "env": 0.04,
    "ignore": 0.03,
    "tf": 0.15,
    "tfvars": 0.02,
    "k8s": 0.16,
    "workflow": 0.05,
}

PLANTABLE = frozenset(KIND_WEIGHTS) - {"ignore"}

_B62 = string.ascii_letters + string.digits
_URLSAFE = _B62 + "_-"
_B32 = string.ascii_uppercase + "234567"

_WORDS = (
    "billing", "orders", "search", "catalog", "users", "auth", "gateway", "ledger", "inventory", "notify",
    "reports", "metrics", "export", "import", "sync", "cache", "queue", "media", "profile", "checkout",
    "pricing", "audit", "session", "storage", "render", "feeds", "alerts", "rating", "shipping", "tenant",
)
_SECRET_NAMES = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "STRIPE_SECRET_KEY",
    "PAYMENTS_API_TOKEN", "DATABASE_URL", "SLACK_WEBHOOK_URL", "SENDGRID_API_KEY", "JWT_SECRET",
)
_PLAIN_NAMES = (
    "PORT", "LOG_LEVEL", "NODE_ENV", "APP_NAME", "WORKERS", "TIMEOUT_SECONDS", "REGION", "FEATURE_FLAGS",
    "CACHE_TTL", "PUBLIC_URL", "METRICS_PATH", "MAX_BODY_KB",
)
_PLACEHOLDERS = ("changeme", "<your-api-key>", "xxxxxxxx", "replace_me", "")


@dataclass(frozen=True, slots=True)
class Planted:
    path: str
    line: int
    shape: str  # which provider shape was generated ("openai", "aws", "github", ...)
    ignored: bool = False  # in a file the generated .gitignore ignores (``.env*.local``): must NOT be reported


@dataclass(slots=True)
class SynthTree:
    root: Path
    files: int = 0
    bytes: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    planted: list[Planted] = field(default_factory=list)


class _Gen:
    """One generator per tree: the RNG, per-kind counters and the planting decisions."""

    def __init__(self, seed: int, secret_share: float) -> None:
        self.rng = random.Random(seed)
        self.secret_share = secret_share
        self.counters: Counter[str] = Counter()

    # -- small helpers -------------------------------------------------------------------------------
    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    def ident(self) -> str:
        return f"{self.word()}_{self.word()}"

    def fake_secret(self) -> tuple[str, str, str]:
        """(shape, a name that fits it, the value): random characters in a provider's shape."""
        shape = self.rng.choice(("openai", "aws", "github", "anthropic", "slack", "dburl", "generic"))
        if shape == "openai":
            value = "sk-" + "proj-" + self.chars(_URLSAFE, 74) + "T3Blbk" + "FJ" + self.chars(_URLSAFE, 74)
            return shape, "OPENAI_API_KEY", value
        if shape == "aws":
            return shape, "AWS_ACCESS_KEY_ID", "AK" + "IA" + self.chars(_B32, 16)
        if shape == "github":
            return shape, "GITHUB_TOKEN", "gh" + "p_" + self.chars(_B62, 36)
        if shape == "anthropic":
            return shape, "ANTHROPIC_API_KEY", "sk-" + "ant-api03-" + self.chars(_URLSAFE, 93) + "AA"
        if shape == "slack":
            value = ("https://hooks.slack.com/services/T" + self.chars(_B32, 8) + "/B" + self.chars(_B32, 8)
                     + "/" + self.chars(_B62, 24))
            return shape, "SLACK_WEBHOOK_URL", value
        if shape == "dburl":
            return shape, "DATABASE_URL", f"postgres://app:{self.chars(_B62, 20)}@db.internal:5432/{self.word()}"
        return shape, "PAYMENTS_API_TOKEN", self.chars(_B62, 40)

    def plant(self) -> bool:
        return self.rng.random() < self.secret_share

    def plain_value(self, name: str) -> str:
        values = {"PORT": str(self.rng.choice((8080, 3000, 9000))), "LOG_LEVEL": self.rng.choice(("info", "debug")),
                  "NODE_ENV": "production", "WORKERS": str(self.rng.randint(1, 8))}
        return values.get(name, self.word())

    # -- paths ---------------------------------------------------------------------------------------
    def path_for(self, kind: str) -> str:
        c = self.counters[kind]
        self.counters[kind] += 1
        w = _WORDS[c % len(_WORDS)]
        if kind == "py":
            return f"services/svc-{c // 25:03d}/app/{w}_{c}.py"
        if kind == "js":
            return f"web/pkg-{c // 25:03d}/src/{w}-{c}.js"
        if kind == "go":
            return f"cmd/tool-{c // 20:03d}/{w}_{c}.go"
        if kind == "md":
            return f"docs/{w}-{c}.md"
        if kind == "dockerfile":
            return f"services/svc-{c:03d}/Dockerfile" if c % 4 else f"services/svc-{c:03d}/{w}.Dockerfile"
        if kind == "compose":
            return f"deploy/stack-{c:03d}/" + ("docker-compose.yml" if c % 3 else "compose.override.yaml")
        if kind == "env":
            names: tuple[str, ...] = (".env.example", ".env.development", ".env.production", "worker.env",
                                      ".env.local")
            return f"services/svc-{c // len(names):03d}/{names[c % len(names)]}"
        if kind == "ignore":
            if c == 0:
                return ".gitignore"
            return f"services/svc-{c:03d}/.dockerignore" if c % 2 else f"services/svc-{c:03d}/.gitignore"
        if kind == "tf":
            names = ("main.tf", "variables.tf", "outputs.tf", "providers.tf")
            return f"infra/modules/mod-{c // len(names):03d}/{names[c % len(names)]}"
        if kind == "tfvars":
            env = ("dev", "staging", "prod")[c % 3]
            return f"infra/envs/{env}-{c // 3:03d}/terraform.tfvars"
        if kind == "k8s":
            names = ("deployment.yaml", "service.yaml", "config.yaml")
            return f"k8s/app-{c // len(names):03d}/{names[c % len(names)]}"
        if kind == "workflow":
            return f".github/workflows/{w}-{c}.yml"
        raise ValueError(kind)

    # -- contents: each returns (lines, planted line or 0, shape) ------------------------------------
    def content(self, kind: str, path: str) -> tuple[list[str], int, str]:
        return getattr(self, f"_{kind}")(path)  # type: ignore[no-any-return]

    def _py(self, _path: str) -> tuple[list[str], int, str]:
        lines = ['"""Service module generated for the keyaudit benchmark."""', "", "import logging", "import os", ""]
        lines.append("log = logging.getLogger(__name__)")
        lines.append(f'API_KEY = os.environ["{self.rng.choice(_SECRET_NAMES)}"]')
        lines.append(f'TIMEOUT = int(os.environ.get("TIMEOUT_SECONDS", "{self.rng.randint(5, 60)}"))')
        lines.append("")
        hit, shape = 0, ""
        if self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f'{name} = "{value}"')
            hit = len(lines)
        for _ in range(self.rng.randint(6, 30)):
            fn = self.ident()
            lines += ["", "", f"def {fn}(items, limit={self.rng.randint(1, 100)}):",
                      f'    """Return the first {fn} entries above the threshold."""', "    out = []",
                      "    for item in items:", f"        if item.get('{self.word()}', 0) > limit:",
                      "            out.append(item)", f"    log.debug('{fn}: %d items', len(out))", "    return out"]
        return lines, hit, shape

    def _js(self, _path: str) -> tuple[list[str], int, str]:
        lines = ["'use strict';", "", "const http = require('node:http');",
                 f"const apiKey = process.env.{self.rng.choice(_SECRET_NAMES)};", ""]
        hit, shape = 0, ""
        if self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f"const {name.lower()} = '{value}';")
            hit = len(lines)
        for _ in range(self.rng.randint(6, 30)):
            fn = self.word() + self.word().capitalize()
            lines += ["", f"function {fn}(items, limit = {self.rng.randint(1, 100)}) {{",
                      f"  return items.filter((x) => x.{self.word()} > limit).map((x) => ({{ ...x, seen: true }}));",
                      "}", f"module.exports.{fn} = {fn};"]
        return lines, hit, shape

    def _go(self, _path: str) -> tuple[list[str], int, str]:
        lines = ["package main", "", "import (", '\t"fmt"', '\t"os"', ")", "",
                 f'var apiKey = os.Getenv("{self.rng.choice(_SECRET_NAMES)}")', ""]
        hit, shape = 0, ""
        if self.plant():
            shape, _name, value = self.fake_secret()
            lines.append(f'const fallbackToken = "{value}"')
            hit = len(lines)
        for _ in range(self.rng.randint(4, 20)):
            fn = self.word().capitalize() + self.word().capitalize()
            lines += ["", f"func {fn}(items []int, limit int) []int {{", "\tout := items[:0]",
                      "\tfor _, v := range items {", "\t\tif v > limit {", "\t\t\tout = append(out, v)", "\t\t}",
                      "\t}", f'\tfmt.Println("{fn}", len(out))', "\treturn out", "}"]
        return lines, hit, shape

    def _md(self, _path: str) -> tuple[list[str], int, str]:
        lines = [f"# {self.word().capitalize()} service", "", "Set the key in your shell before running:", "",
                 "```sh", f"export {self.rng.choice(_SECRET_NAMES)}=<your-api-key>"]
        hit, shape = 0, ""
        if self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f"export {name}={value}")
            hit = len(lines)
        lines += ["```", ""]
        lines += [f"The {self.word()} worker reads its settings from the environment." for _ in range(5)]
        return lines, hit, shape

    def _dockerfile(self, _path: str) -> tuple[list[str], int, str]:
        base = self.rng.choice(("python:3.12-slim", "node:22-alpine", "golang:1.23 AS build", "debian:12-slim"))
        lines = [f"FROM {base}", "WORKDIR /app", f"ENV {self.rng.choice(_PLAIN_NAMES)}={self.word()}"]
        if self.rng.random() < 0.3:
            lines.append(f"ARG {self.rng.choice(_SECRET_NAMES)}")  # hygiene problem without a literal value
        hit, shape = 0, ""
        if self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f"ENV {name}={value}")
            hit = len(lines)
        lines += ["COPY requirements.txt ./", "RUN pip install --no-cache-dir -r requirements.txt",
                  "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci" if self.rng.random() < 0.3
                  else "RUN echo building", "COPY . .", f"EXPOSE {self.rng.choice((8080, 3000))}",
                  'CMD ["python", "-m", "app"]']
        return lines, hit, shape

    def _compose(self, _path: str) -> tuple[list[str], int, str]:
        lines = ["services:"]
        hit, shape = 0, ""
        for i in range(self.rng.randint(1, 4)):
            svc = f"{self.word()}{i}"
            lines += [f"  {svc}:", f"    image: registry.example.com/{svc}:1.{i}", "    environment:",
                      f"      {self.rng.choice(_PLAIN_NAMES)}: {self.word()}",
                      f"      {self.rng.choice(_SECRET_NAMES)}: ${{{self.rng.choice(_SECRET_NAMES)}}}"]
            if i == 0 and self.plant():
                shape, name, value = self.fake_secret()
                lines.append(f"      {name}: {value}")
                hit = len(lines)
            lines += ["    env_file:", "      - .env", "    ports:", f'      - "{8000 + i}:8080"']
        return lines, hit, shape

    def _env(self, path: str) -> tuple[list[str], int, str]:
        template = path.endswith(".example")
        lines = [f"# settings for {self.word()}"]
        for name in self.rng.sample(_PLAIN_NAMES, 4):
            lines.append(f"{name}={self.plain_value(name)}")
        for name in self.rng.sample(_SECRET_NAMES, 2):
            lines.append(f"{name}={self.rng.choice(_PLACEHOLDERS)}")
        hit, shape = 0, ""
        if not template and self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f"{name}={value}")
            hit = len(lines)
        return lines, hit, shape

    def _ignore(self, path: str) -> tuple[list[str], int, str]:
        if path.endswith(".dockerignore"):
            lines = [".git", "node_modules", "**/__pycache__"]
            if self.rng.random() < 0.6:
                lines.append("**/.env*")
            return lines, 0, ""
        lines = ["node_modules/", "__pycache__/", "*.pyc", "dist/", ".terraform/", "*.tfstate"]
        if path == ".gitignore" or self.rng.random() < 0.5:
            lines += [".env", ".env*.local"]
        return lines, 0, ""

    def _tf(self, path: str) -> tuple[list[str], int, str]:
        hit, shape = 0, ""
        name = path.rsplit("/", 1)[-1]
        mod = self.word()
        if name == "variables.tf":
            lines = [f'variable "{mod}_name" {{', "  type    = string", f'  default = "{mod}"', "}", "",
                     'variable "api_token" {', "  type      = string", "  sensitive = true", "}", ""]
            if self.plant():
                shape, _n, value = self.fake_secret()
                lines += ['variable "openai_api_key" {', "  type    = string", f'  default = "{value}"']
                hit = len(lines)
                lines += ["}"]
            return lines, hit, shape
        if name == "outputs.tf":
            return [f'output "{mod}_arn" {{', f"  value = aws_lambda_function.{mod}.arn", "}"], 0, ""
        if name == "providers.tf":
            lines = ["terraform {", "  required_providers {", "    aws = {", '      source  = "hashicorp/aws"',
                     '      version = "~> 5.0"', "    }", "  }", "}", "", 'provider "aws" {',
                     f'  region = "{self.rng.choice(("eu-west-1", "us-east-1"))}"']
            if self.plant():
                shape, _n, value = self.fake_secret()
                lines.append(f'  access_key = "{value}"')
                hit = len(lines)
            lines.append("}")
            return lines, hit, shape
        lines = []
        for i in range(self.rng.randint(2, 6)):
            fn = f"{mod}_{i}"
            lines += [f'resource "aws_lambda_function" "{fn}" {{', f'  function_name = "{fn}"',
                      '  runtime       = "python3.12"', '  handler       = "app.handler"', "  environment {",
                      "    variables = {", f'      LOG_LEVEL = "{self.rng.choice(("info", "debug"))}"',
                      "      API_TOKEN = var.api_token"]
            if i == 0 and self.plant():
                shape, name_, value = self.fake_secret()
                lines.append(f'      {name_} = "{value}"')
                hit = len(lines)
            lines += ["    }", "  }", "}", ""]
        return lines, hit, shape

    def _tfvars(self, _path: str) -> tuple[list[str], int, str]:
        lines = [f'region = "{self.rng.choice(("eu-west-1", "us-east-1"))}"',
                 f"instance_count = {self.rng.randint(1, 9)}", f'api_token = "{self.rng.choice(_PLACEHOLDERS)}"']
        hit, shape = 0, ""
        if self.plant():
            shape, _n, value = self.fake_secret()
            lines.append(f'openai_api_key = "{value}"')
            hit = len(lines)
        return lines, hit, shape

    def _k8s(self, path: str) -> tuple[list[str], int, str]:
        app = f"{self.word()}-{self.counters['k8s']}"
        hit, shape = 0, ""
        lines = ["apiVersion: apps/v1", "kind: Deployment", "metadata:", f"  name: {app}", "spec:",
                 "  replicas: 2", "  selector:", "    matchLabels:", f"      app: {app}", "  template:",
                 "    metadata:", "      labels:", f"        app: {app}", "    spec:", "      containers:",
                 f"        - name: {app}", f"          image: registry.example.com/{app}:1.0", "          env:",
                 f"            - name: {self.rng.choice(_PLAIN_NAMES)}", f'              value: "{self.word()}"',
                 f"            - name: {self.rng.choice(_SECRET_NAMES)}", "              valueFrom:",
                 "                secretKeyRef:", f"                  name: {app}-secrets",
                 "                  key: token"]
        if self.plant():
            shape, name, value = self.fake_secret()
            lines += [f"            - name: {name}", f'              value: "{value}"']
            hit = len(lines)
        lines += ["---", "apiVersion: v1", "kind: Service", "metadata:", f"  name: {app}", "spec:", "  selector:",
                  f"    app: {app}", "  ports:", "    - port: 80", "      targetPort: 8080"]
        if path.endswith("config.yaml"):
            lines += ["---", "apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {app}-config", "data:",
                      f"  LOG_LEVEL: {self.rng.choice(('info', 'debug'))}", f"  PUBLIC_URL: https://{app}.example.com"]
        return lines, hit, shape

    def _workflow(self, _path: str) -> tuple[list[str], int, str]:
        lines = [f"name: {self.word()}", "on:", "  push:", "    branches: [main]", "  pull_request:", "permissions:",
                 "  contents: read", "jobs:", "  build:", "    runs-on: ubuntu-latest", "    env:",
                 f"      {self.rng.choice(_PLAIN_NAMES)}: {self.word()}",
                 f"      OPENAI_API_KEY: ${{{{ secrets.OPENAI_API_KEY_{self.rng.randint(1, 9)} }}}}"]
        hit, shape = 0, ""
        if self.plant():
            shape, name, value = self.fake_secret()
            lines.append(f"      {name}: {value}")
            hit = len(lines)
        lines += ["    steps:", "      - uses: actions/checkout@v4", "        with:",
                  "          persist-credentials: false", "      - uses: actions/setup-python@v5", "        with:",
                  "          python-version: '3.12'",
                  "      - run: pip install -r requirements.txt", "      - run: pytest -q"]
        return lines, hit, shape


def generate(root: Path, files: int, seed: int = 1, secret_share: float = 0.02) -> SynthTree:
    """Write ``files`` files below ``root`` (created; must be empty or absent) and describe what was written."""
    if files < 1:
        raise ValueError("files must be >= 1")
    root.mkdir(parents=True, exist_ok=True)
    gen = _Gen(seed, secret_share)
    kinds = list(KIND_WEIGHTS)
    plan = gen.rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds], k=files - 1)
    plan.insert(0, "ignore")  # the root .gitignore always exists
    tree = SynthTree(root=root)
    for kind in plan:
        rel = gen.path_for(kind)
        lines, hit, shape = gen.content(kind, rel)
        data = ("\n".join(lines) + "\n").encode()
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        tree.files += 1
        tree.bytes += len(data)
        tree.by_kind[kind] += 1
        if hit:
            tree.planted.append(Planted(rel, hit, shape, ignored=rel.endswith(".local")))
    (root / MARKER).write_text(f"seed={seed} files={files} secret_share={secret_share}\n")
    return tree
