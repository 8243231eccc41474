"""Dockerfile rules BLD-01..04 and IGN-03, on small in-memory repositories and on their fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from auditor.config import Config
from auditor.loader import load_bytes
from auditor.model import Repository, Severity
from auditor.parsers import kind_of
from auditor.rules import Hit, RuleContext
from auditor.rules.dockerfile import (
    context_copy_without_ignore,
    credential_file_copied,
    credential_setup_in_run,
    literal_credential,
    secret_named_build_var,
)
from auditor.rules.dockerfile import (
    exposes_credentials as is_credential_file,
)
from auditor.scan import ScanOptions, scan

from .conftest import FIXTURES

Check = Callable[[Repository, RuleContext], Iterable[Hit]]

OPENAI = ("sk-proj-aGrVDqU_IVXlc1Bnr_P_gFbIlYq5mjoGV9T97_bpVtV-kobgBF66EyPGHKv3e8BB0qxSrljxSyT3BlbkFJteZYtJFw0qzgmY"
          "_VCGOrlFLngY2Co063uQxyJptm1P66ZZps3NWXOg03SJ0b_8MZE9TTQkHSTq")
RANDOM40 = "CQuvK9BIeVBf70u664CQ6KHD8d60MgDii2xOsm0b"


def repo_of(files: dict[str, str], extra: Iterable[str] = ()) -> Repository:
    docs = []
    for path, text in files.items():
        outcome = load_bytes(path, text.encode(), kind_of(path), None)
        assert outcome.document is not None, path
        assert not [d for d in outcome.document.diagnostics if d.level == "error"], outcome.document.diagnostics
        docs.append(outcome.document)
    return Repository(root="repo", documents=docs, files=frozenset(files) | frozenset(extra))


def run(check: Check, files: dict[str, str], ctx: RuleContext | None = None,
        extra: Iterable[str] = ()) -> list[Hit]:
    return list(check(repo_of(files, extra), ctx or RuleContext()))


def lines(hits: list[Hit]) -> list[tuple[str, int]]:
    return sorted((h.location.path, h.location.line) for h in hits)


def assert_no_values_in_messages(hits: list[Hit]) -> None:
    for hit in hits:
        if hit.value is not None and hit.value.text:
            assert hit.value.text not in hit.message


# --------------------------------------------------------------------------------------------- BLD-01


def test_bld01_flags_secret_names_in_every_stage_and_onbuild() -> None:
    hits = run(secret_named_build_var, {"Dockerfile": (
        "ARG NPM_TOKEN\n"
        "FROM node:20 AS build\n"
        "ARG OPENAI_API_KEY\n"
        "ENV LOG_LEVEL=info \\\n"
        "    DB_PASSWORD=\n"
        "ONBUILD ENV STRIPE_SECRET_KEY=$STRIPE_SECRET_KEY\n"
        "FROM node:20\n"
        "COPY --from=build /app /app\n"
    )})
    assert lines(hits) == [("Dockerfile", 1), ("Dockerfile", 3), ("Dockerfile", 5), ("Dockerfile", 6)]
    by_line = {h.location.line: h for h in hits}
    assert by_line[3].message.startswith("ARG OPENAI_API_KEY is a build-time secret")
    assert "RUN --mount=type=secret,id=openai-api-key,env=OPENAI_API_KEY" in by_line[3].message
    assert by_line[6].message.startswith("ONBUILD ENV STRIPE_SECRET_KEY")
    assert by_line[5].location.column == 5
    assert all(h.severity is None for h in hits)  # the policy default: high


def test_bld01_is_critical_when_the_default_is_a_real_secret() -> None:
    hits = run(secret_named_build_var, {"Dockerfile": f"FROM python:3.12\nENV OPENAI_API_KEY={OPENAI}\n"})
    (hit,) = hits
    assert hit.severity is Severity.CRITICAL
    assert hit.value is not None
    assert hit.value.text == OPENAI
    assert_no_values_in_messages(hits)


@pytest.mark.parametrize("line", [
    "ARG NEXT_PUBLIC_API_KEY",
    "ARG DB_PASSWORD_FILE=/run/secrets/db",
    "ARG TOKEN_PATH=/run/secrets/token",
    "ARG SECRET_VERSION=3",
    "ENV GOOGLE_APPLICATION_CREDENTIALS=/var/run/secrets/gcp.json",
    "ENV NODE_ENV=production",
    "RUN --mount=type=secret,id=openai,env=OPENAI_API_KEY python warm.py",
])
def test_bld01_does_not_flag(line: str) -> None:
    assert run(secret_named_build_var, {"Dockerfile": f"FROM python:3.12\n{line}\n"}) == []


def test_bld01_honours_check_skip() -> None:
    text = "# syntax=docker/dockerfile:1\n# check=skip=SecretsUsedInArgOrEnv\nFROM alpine\nARG GITHUB_TOKEN\n"
    assert run(secret_named_build_var, {"Dockerfile": text}) == []
    assert len(run(secret_named_build_var, {"Dockerfile": text.replace("check=skip", "check=error")})) == 1


def test_bld01_honours_a_check_skip_comment_above_one_instruction() -> None:
    text = ("FROM alpine\n# check=skip=SecretsUsedInArgOrEnv // sandbox token, public by design\n"
            "ARG SANDBOX_TOKEN\nARG DEPLOY_TOKEN\n")
    assert lines(run(secret_named_build_var, {"Dockerfile": text})) == [("Dockerfile", 4)]


def test_bld01_config_names() -> None:
    text = "FROM alpine\nARG ACME_SIGNING_SEED\nARG GITHUB_TOKEN\n"
    ctx = RuleContext(extra_secret_names=frozenset({"ACME_SIGNING_SEED"}), allowed_names=frozenset({"GITHUB_TOKEN"}))
    assert lines(run(secret_named_build_var, {"Dockerfile": text}, ctx)) == [("Dockerfile", 2)]


# --------------------------------------------------------------------------------------------- BLD-02


def test_bld02_literal_values_in_arg_env_label() -> None:
    text = (
        "FROM python:3.12\n"
        f"ENV OPENAI_API_KEY={OPENAI}\n"
        f"LABEL com.acme.deploy-token=\"{RANDOM40}\"\n"
        "ARG DB_PASSWORD=changeme\n"
        "ENV DB_PASSWORD=${DB_PASSWORD}\n"
        "ENV DATABASE_URL=postgres://app:Zq8vL2mX9pRt@db:5432/app\n"
        "ENV CACHE_URL=redis://:${REDIS_PASSWORD}@cache:6379\n"
        "ARG API_TOKEN=<your-token-here>\n"
    )
    hits = run(literal_credential, {"Dockerfile": text})
    assert lines(hits) == [("Dockerfile", 2), ("Dockerfile", 3), ("Dockerfile", 6)]
    assert {h.location.line: h.confidence for h in hits}[2] is not None
    assert_no_values_in_messages(hits)


@pytest.mark.parametrize(("run_line", "secret"), [
    (f'RUN curl -H "Authorization: Bearer {RANDOM40}" https://api.example.com', RANDOM40),
    (f"RUN curl --header='X-Api-Key: {RANDOM40}' https://api.example.com", RANDOM40),
    ("RUN curl -u deploy:Zq8vL2mX9pRt https://repo.example.com/x.tgz -o x.tgz", "Zq8vL2mX9pRt"),
    ("RUN npm config set //registry.npmjs.org/:_authToken=npm_npuvrp71lysu0lakcqpg2okxzjrhwpgnve8j",
     "npm_npuvrp71lysu0lakcqpg2okxzjrhwpgnve8j"),
    ("RUN npm config set //registry.npmjs.org/:_authToken 4f1e9c2a7b3d8e6f0a5c", "4f1e9c2a7b3d8e6f0a5c"),
    ("RUN git clone https://ci:ghp_m7xpSmsLgjpcznrkRtuLn8lLpJNgwzPLEI3H@github.com/acme/x.git",
     "ghp_m7xpSmsLgjpcznrkRtuLn8lLpJNgwzPLEI3H"),
    ("RUN pip install --index-url https://deploy:Zq8vL2mX9pRt@pypi.internal/simple app", "Zq8vL2mX9pRt"),
    ("RUN echo 'root:Wint3r-Is-C0ming!' | chpasswd", "Wint3r-Is-C0ming!"),
    ("RUN chpasswd <<< 'root:Wint3r-Is-C0ming!'", "Wint3r-Is-C0ming!"),
    (f"RUN OPENAI_API_KEY={OPENAI} python warm.py", OPENAI),
    (f"RUN some-cli deploy --api-key {RANDOM40}", RANDOM40),
    ("RUN mysql-admin --password=Zq8vL2mX9pRt create app", "Zq8vL2mX9pRt"),
    (f"RUN sh -c 'export SERVICE_TOKEN={RANDOM40} && deploy'", RANDOM40),
])
def test_bld02_literal_credentials_in_run(run_line: str, secret: str) -> None:
    hits = run(literal_credential, {"Dockerfile": f"FROM alpine\n{run_line}\n"})
    assert [(h.location.line, h.value.text if h.value else None) for h in hits] == [(2, secret)]
    assert_no_values_in_messages(hits)


@pytest.mark.parametrize("run_line", [
    'RUN curl -H "Authorization: Bearer ${API_TOKEN}" https://api.example.com',
    'RUN curl -H "Accept: application/json" https://api.example.com',
    "RUN npm config set //registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    'RUN pip install --index-url "https://deploy:${PIP_PASSWORD}@pypi.internal/simple" app',
    "RUN echo 'root:password' | chpasswd",
    "RUN echo \"$ROOT_CREDENTIALS\" | chpasswd",
    "RUN docker login --password-stdin -u ci registry.example.com",
    'RUN echo "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  app.tgz" | sha256sum -c -',
    "RUN git clone https://github.com/acme/public.git",
    "RUN app --token-file /run/secrets/token",
    "RUN apt-key adv --keyserver keyserver.ubuntu.com --recv-key 0x9DA31620334BD75D9DCB49F368818C72E52529D4",
    "RUN gpg --batch --recv-keys 7169605F62C751356D054A26A821E680E5FA6305",
    "RUN keytool -importcert -noprompt -storepass changeit -alias acme -file /tmp/acme.crt",
])
def test_bld02_does_not_flag(run_line: str) -> None:
    assert run(literal_credential, {"Dockerfile": f"FROM alpine\n{run_line}\n"}) == []


def test_bld02_heredoc_bodies_and_provider_keys_in_any_instruction() -> None:
    text = (
        "FROM alpine\n"
        "COPY <<EOF /app/.env\n"
        "LOG_LEVEL=debug\n"
        f"PAYMENTS_API_KEY={RANDOM40}\n"
        "EOF\n"
        "RUN <<EOF\n"
        "cat > /root/.netrc <<NETRC\n"
        "machine github.com login ci password Zq8vL2mX9pRt\n"
        "NETRC\n"
        "EOF\n"
        "# a key in a comment is HCK-01's business: sk-proj-not-an-instruction\n"
        f'CMD ["python", "app.py", "--model-key", "{OPENAI}"]\n'
    )
    hits = run(literal_credential, {"Dockerfile": text})
    assert lines(hits) == [("Dockerfile", 4), ("Dockerfile", 8), ("Dockerfile", 12)]
    assert_no_values_in_messages(hits)


# --------------------------------------------------------------------------------------------- BLD-03


@pytest.mark.parametrize("run_line", [
    'RUN aws configure set aws_access_key_id "$AWS_ACCESS_KEY_ID"',
    "RUN aws configure set default.aws_secret_access_key $AWS_SECRET_ACCESS_KEY",
    "RUN gcloud auth activate-service-account --key-file=/tmp/key.json",
    "RUN az login --service-principal -u $AZ_APP_ID -p $AZ_SECRET --tenant $AZ_TENANT",
    "RUN az login --service-principal --federated-token $TOKEN -u x -t y",
    "RUN doctl auth init -t $DIGITALOCEAN_ACCESS_TOKEN",
    'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > ~/.npmrc && npm ci',
    "RUN printf '[pypi]\\nusername = __token__\\npassword = %s\\n' \"$PYPI_TOKEN\" > /root/.pypirc",
    'RUN echo "machine github.com login x password $T" >> $HOME/.netrc',
    'RUN echo "$DOCKER_AUTH" | tee /root/.docker/config.json',
    "RUN echo $DOCKER_PASSWORD | docker login -u ci --password-stdin registry.example.com",
    "RUN docker login -u ci -p $DOCKER_PASSWORD registry.example.com",
    "RUN npm config set //npm.pkg.github.com/:_authToken $GH_TOKEN",
    "RUN git config --global credential.helper store",
    'RUN git config --global url."https://${GITHUB_TOKEN}@github.com/".insteadOf "https://github.com/"',
    "RUN cp /tmp/build/.git-credentials /root/.git-credentials",
    "RUN set -e; apt-get update; sh -c 'aws configure set aws_secret_access_key $K'",
    'RUN if [ -n "$KEY_FILE" ]; then gcloud auth activate-service-account --key-file="$KEY_FILE"; fi',
    '["sh", "-c", "aws configure set aws_access_key_id $K"]',
])
def test_bld03_flags_credential_setup(run_line: str) -> None:
    line = run_line if run_line.startswith("RUN") else f"RUN {run_line}"
    hits = run(credential_setup_in_run, {"Dockerfile": f"FROM python:3.12\n{line}\n"})
    assert lines(hits) == [("Dockerfile", 2)]


@pytest.mark.parametrize("run_line", [
    "RUN --mount=type=secret,id=aws,target=/root/.aws/credentials aws configure set aws_access_key_id x",
    "RUN --mount=type=secret,id=npm,env=NPM_TOKEN echo \"//r/:_authToken=${NPM_TOKEN}\" > ~/.npmrc && npm ci",
    "RUN --mount=type=ssh git config --global url.ssh://git@github.com/.insteadOf https://github.com/",
    "RUN aws configure set region eu-west-1",
    'RUN echo "registry=https://registry.npmjs.org/" > .npmrc',
    "RUN git config --global credential.helper cache",
    'RUN git config --global url."ssh://git@github.com/".insteadOf "https://github.com/"',
    "RUN npm config set registry https://registry.npmjs.org/",
    "RUN cat ~/.npmrc",
    "RUN echo 'aws configure set aws_access_key_id x' > /docs.txt",
])
def test_bld03_does_not_flag(run_line: str) -> None:
    assert run(credential_setup_in_run, {"Dockerfile": f"FROM python:3.12\n{run_line}\n"}) == []


def test_bld03_reports_the_first_offending_command_line_once_per_run() -> None:
    text = (
        "FROM python:3.12\n"
        "RUN <<EOF\n"
        "set -e\n"
        "pip install awscli\n"
        "aws configure set aws_access_key_id \"$K\"\n"
        "aws configure set aws_secret_access_key \"$S\"\n"
        "EOF\n"
    )
    (hit,) = run(credential_setup_in_run, {"Dockerfile": text})
    assert hit.location.line == 5
    assert "aws configure set aws_access_key_id; aws configure set aws_secret_access_key" in hit.message


# --------------------------------------------------------------------------------------------- BLD-04


@pytest.mark.parametrize(("path", "expected"), [
    (".env", True), ("config/.env.production", True), ("prod.env", True), (".envrc", True), (".npmrc", True),
    ("id_rsa", True), ("deploy/id_ed25519", True), ("tls/server.key", True), ("key.pem", True),
    ("gcp-service-account.json", True), ("firebase-credentials.json", True), (".aws/credentials", True),
    (".docker/config.json", True), ("kubeconfig.yaml", True), (".aws", True), ("terraform.tfstate", True),
    (".env*", True), ("*.pem", True), ("cert-key.pem", True), ("tls/private-cert.pem", True),
    (".env.example", False), (".env.sample", False), ("ca.pem", False), ("fullchain.pem", False),
    ("id_rsa.pub", False), ("package.json", False), ("config.json", False), ("*", False), ("src/", False),
])
def test_credential_file_names(path: str, expected: bool) -> None:
    assert is_credential_file(path) is expected


def test_bld04_copies_of_credential_files_that_reach_the_final_image() -> None:
    text = (
        "FROM node:20 AS deps\n"
        "WORKDIR /app\n"
        "COPY .npmrc package.json ./\n"  # deps: .npmrc lands in /app, which is not carried forward
        "RUN npm ci\n"
        "FROM node:20 AS build\n"
        "WORKDIR /app\n"
        "COPY .env.production .env\n"  # build: /app/.env, carried forward by COPY --from=build /app
        "COPY --from=deps /app/node_modules ./node_modules\n"
        "FROM node:20\n"
        "COPY --from=build /app /srv\n"
        "COPY .env.example /srv/\n"
        "COPY certs/ca.pem /etc/ssl/certs/\n"
        "COPY *.pem /etc/keys/\n"
    )
    hits = run(credential_file_copied, {"Dockerfile": text})
    assert lines(hits) == [("Dockerfile", 7), ("Dockerfile", 13)]


def test_bld04_respects_the_dockerignore() -> None:
    files = {"Dockerfile": "FROM alpine\nCOPY .env /app/.env\nCOPY config/ /app/config/\n"
                           "ENV GOOGLE_APPLICATION_CREDENTIALS=/app/config/sa.json\n",
             ".dockerignore": "**/.env\nconfig/sa.json\n"}
    assert run(credential_file_copied, files, extra=["config/app.yaml"]) == []
    files[".dockerignore"] = "node_modules\n"
    assert lines(run(credential_file_copied, files, extra=["config/app.yaml"])) == [
        ("Dockerfile", 2), ("Dockerfile", 4)]


def test_bld04_credential_path_env_only_when_it_points_into_a_copy() -> None:
    text = (
        "FROM python:3.12\n"
        "WORKDIR /app\n"
        "COPY keys/ ./keys/\n"
        "ENV GOOGLE_APPLICATION_CREDENTIALS=keys/sa.json \\\n"
        "    AWS_SHARED_CREDENTIALS_FILE=/run/secrets/aws \\\n"
        "    OPENAI_API_KEY_FILE=/app/keys/openai\n"
    )
    hits = run(credential_file_copied, {"Dockerfile": text}, extra=["keys/README"])
    assert [(h.location.line, h.name) for h in hits] == [(4, "GOOGLE_APPLICATION_CREDENTIALS"),
                                                         (6, "OPENAI_API_KEY_FILE")]
    assert "line 3" in hits[0].message


def test_bld04_copy_into_a_credential_path_variable_and_arg_paths() -> None:
    text = ("FROM busybox\nCOPY ./config $AWS_CONFIG_FILE\nCOPY /src /app/\n"
            "ARG GOOGLE_APPLICATION_CREDENTIALS=./app/google-storage-service.json\n")
    assert lines(run(credential_file_copied, {"Dockerfile": text})) == [("Dockerfile", 2), ("Dockerfile", 4)]


def test_bld04_heredoc_writing_a_credential_file() -> None:
    text = ("FROM node:20\nCOPY <<EOF /root/.npmrc\n//r/:_authToken=${NPM_TOKEN}\nEOF\n"
            "COPY <<EOF /app/.npmrc\nfund=false\nEOF\n")
    assert lines(run(credential_file_copied, {"Dockerfile": text})) == [("Dockerfile", 2)]


# --------------------------------------------------------------------------------------------- IGN-03

NODE = "FROM node:20\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
GOOD_IGNORE = ".git\n**/.env*\n!**/.env.example\n**/*.pem\n**/.npmrc\n**/id_rsa*\n**/.aws\n"


def test_ign03_fires_without_any_dockerignore() -> None:
    (hit,) = run(context_copy_without_ignore, {"Dockerfile": NODE})
    assert hit.location.line == 5
    assert "there is no .dockerignore" in hit.message


def test_ign03_lists_the_probes_a_root_anchored_ignore_misses() -> None:
    (hit,) = run(context_copy_without_ignore, {"Dockerfile": NODE, ".dockerignore": "node_modules\n.env\n.git\n"},
                 extra=["config/.env", ".env"])
    assert "sub/.env" in hit.message
    assert ".env.local" in hit.message
    assert "id_rsa" in hit.message
    assert ".git/config" not in hit.message
    assert "present now: config/.env" in hit.message
    assert "`**/.env*`" in hit.message


def test_ign03_is_clean_with_a_complete_ignore_file() -> None:
    assert run(context_copy_without_ignore, {"Dockerfile": NODE, ".dockerignore": GOOD_IGNORE}) == []


def test_ign03_dockerfile_specific_ignore_file_wins() -> None:
    files = {"api/Dockerfile": NODE, "api/.dockerignore": GOOD_IGNORE, "api/Dockerfile.dockerignore": "node_modules\n"}
    assert lines(run(context_copy_without_ignore, files)) == [("api/Dockerfile", 5)]
    files["api/Dockerfile.dockerignore"] = GOOD_IGNORE
    files["api/.dockerignore"] = "node_modules\n"
    assert run(context_copy_without_ignore, files) == []


@pytest.mark.parametrize(("copy", "fires"), [
    ("COPY . .", True), ("COPY ./ /app/", True), ("COPY * ./", True), ("ADD . /app", True),
    ("COPY src/ ./src/", True), ("COPY src ./src", True), ("COPY src/* ./src/", True),
    ("COPY package.json server.js ./", False), ("COPY *.json ./", False), ("COPY --from=build /app .", False),
    ("ADD https://example.com/app.tgz /opt/", False), ("RUN --mount=type=bind,source=.,target=/ctx make", False),
    ("ONBUILD COPY . /app", False),
])
def test_ign03_which_copies_count(copy: str, fires: bool) -> None:
    text = f"FROM node:20 AS build\nFROM node:20\nWORKDIR /app\n{copy}\n"
    hits = run(context_copy_without_ignore, {"Dockerfile": text}, extra=["src/index.js"])
    assert bool(hits) is fires


def test_ign03_only_for_stages_that_reach_the_final_image() -> None:
    builder = "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\nFROM alpine\n"
    assert run(context_copy_without_ignore, {"Dockerfile": builder + "COPY --from=build /out/app /app\n"}) == []
    assert lines(run(context_copy_without_ignore, {"Dockerfile": builder + "COPY --from=build /src /src\n"})) == [
        ("Dockerfile", 3)]
    assert lines(run(context_copy_without_ignore, {"Dockerfile": builder + "COPY --from=build / /\n"})) == [
        ("Dockerfile", 3)]
    chained = "FROM node:20 AS base\nWORKDIR /app\nCOPY . .\nFROM base AS prod\nRUN npm prune\n"
    assert lines(run(context_copy_without_ignore, {"Dockerfile": chained})) == [("Dockerfile", 3)]


def test_ign03_context_is_the_dockerfile_directory() -> None:
    files = {"services/api/Dockerfile": NODE, ".dockerignore": GOOD_IGNORE}
    (hit,) = run(context_copy_without_ignore, files)
    assert "services/api/.dockerignore" in hit.message


# --------------------------------------------------------------------------------------------- fixtures

RULES = ["BLD-01", "BLD-02", "BLD-03", "BLD-04", "IGN-03"]


@pytest.mark.parametrize("rule_id", RULES)
def test_fixtures_have_marked_bad_lines_and_good_trees(rule_id: str) -> None:
    bad = FIXTURES / "rules" / rule_id / "bad"
    marks = [p for p in bad.rglob("*") if p.is_file() and f"keyaudit-expect: {rule_id}" in p.read_text()]
    assert marks, rule_id
    result = scan(FIXTURES / "rules" / rule_id / "good", ScanOptions(config=Config(select=(rule_id,)), jobs=1))
    assert [f.location for f in result.findings if f.rule_id == rule_id] == []
    bad_result = scan(bad, ScanOptions(config=Config(select=(rule_id,)), jobs=1))
    findings = [f for f in bad_result.findings if f.rule_id == rule_id]
    assert findings
    for f in findings:  # evidence is redacted; messages carry names only
        assert f.evidence is None or "..." in f.evidence
