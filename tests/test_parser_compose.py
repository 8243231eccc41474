from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, Phase, RefKind, Site, SiteKind, ValueKind
from auditor.parsers import compose, kind_of
from auditor.parsers.compose import ComposeFile, EnvFileRef, SecretRef

SECRET = "Zq8vLw2Nx7Kp4Rt9"


def parse(text: str, path: str = "compose.yaml", environment: str | None = None) -> Document:
    doc = Document(path, DocKind.COMPOSE, environment)
    compose.parse(doc, text)
    return doc


def sites(doc: Document) -> dict[str, Site]:
    return {s.route: s for s in doc.sites}


@pytest.mark.parametrize(
    "name",
    ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.prod.yaml", "ops/compose.override.yml"],
)
def test_compose_file_names(name: str) -> None:
    assert kind_of(name) is DocKind.COMPOSE


def test_environment_map_form() -> None:
    doc = parse(
        "services:\n"
        "  api:\n"
        "    image: acme/api:1\n"
        "    environment:\n"
        f"      DB_PASSWORD: {SECRET}\n"
        "      PORT: 8080\n"
        "      DEBUG: true\n"
        "      PASSTHROUGH:\n"
        "      EMPTY: ''\n"
        "      REF: ${OTHER}\n"
    )
    by = sites(doc)
    pw = by["services.api.environment.DB_PASSWORD"]
    assert (pw.kind, pw.phase, pw.name) == (SiteKind.ENV, Phase.RUNTIME, "DB_PASSWORD")
    assert (pw.location.path, pw.location.line, pw.location.column) == ("compose.yaml", 5, 7)
    assert pw.value is not None
    assert pw.value.kind is ValueKind.LITERAL
    assert pw.value.text == SECRET
    assert pw.context == {"service": "api"}
    assert by["services.api.environment.PORT"].value.text == "8080"  # type: ignore[union-attr]
    assert by["services.api.environment.DEBUG"].value.text == "true"  # type: ignore[union-attr]
    passthrough = by["services.api.environment.PASSTHROUGH"].value
    assert passthrough is not None
    assert (passthrough.kind, passthrough.ref, passthrough.ref_name) == (ValueKind.REFERENCE, RefKind.ENV_VAR,
                                                                         "PASSTHROUGH")
    assert by["services.api.environment.EMPTY"].value.kind is ValueKind.EMPTY  # type: ignore[union-attr]
    ref = by["services.api.environment.REF"].value
    assert ref is not None
    assert ref.kind is ValueKind.REFERENCE
    assert ref.ref_name == "OTHER"
    assert doc.diagnostics == []


def test_environment_list_form() -> None:
    doc = parse(
        "services:\n"
        "  worker:\n"
        "    environment:\n"
        f"      - API_TOKEN={SECRET}\n"
        "      - GITHUB_TOKEN\n"
        "      - EMPTY=\n"
        "      - WITH_EQUALS=a=b=c\n"
    )
    by = sites(doc)
    token = by["services.worker.environment.API_TOKEN"]
    assert (token.location.line, token.location.column) == (4, 9)
    assert token.value is not None
    assert token.value.text == SECRET
    assert token.value.kind is ValueKind.LITERAL
    gh = by["services.worker.environment.GITHUB_TOKEN"].value
    assert gh is not None
    assert gh.kind is ValueKind.REFERENCE
    assert gh.ref is RefKind.ENV_VAR
    assert gh.ref_name == "GITHUB_TOKEN"
    assert by["services.worker.environment.EMPTY"].value.kind is ValueKind.EMPTY  # type: ignore[union-attr]
    assert by["services.worker.environment.WITH_EQUALS"].value.text == "a=b=c"  # type: ignore[union-attr]
    assert doc.data.services["worker"].environment == ["API_TOKEN", "GITHUB_TOKEN", "EMPTY", "WITH_EQUALS"]


def test_build_args_both_forms_are_build_phase() -> None:
    doc = parse(
        "services:\n"
        "  web:\n"
        "    build:\n"
        "      context: ./web\n"
        "      args:\n"
        "        NPM_TOKEN: ${NPM_TOKEN}\n"
        "        NODE_VERSION: '20'\n"
        "  api:\n"
        "    build:\n"
        "      context: api\n"
        "      args:\n"
        "        - PIP_PASSWORD\n"
        f"        - HF_TOKEN={SECRET}\n"
    )
    by = sites(doc)
    npm = by["services.web.build.args.NPM_TOKEN"]
    assert (npm.kind, npm.phase, npm.location.line) == (SiteKind.BUILD_ARG, Phase.BUILD, 6)
    assert npm.value is not None
    assert npm.value.kind is ValueKind.REFERENCE
    pip = by["services.api.build.args.PIP_PASSWORD"]
    assert pip.value is not None
    assert pip.value.ref_name == "PIP_PASSWORD"
    assert pip.location.line == 12
    hf = by["services.api.build.args.HF_TOKEN"]
    assert hf.value is not None
    assert hf.value.text == SECRET
    assert hf.context == {"service": "api"}
    data: ComposeFile = doc.data
    assert data.services["web"].build is not None
    assert data.services["web"].build.args == ["NPM_TOKEN", "NODE_VERSION"]
    assert [s.kind for s in doc.sites].count(SiteKind.BUILD_ARG) == 4


def test_interpolation_default_is_a_reference_with_default() -> None:
    doc = parse(f"services:\n  api:\n    environment:\n      KEY: ${{KEY:-{SECRET}}}\n      REQ: ${{REQ:?set it}}\n")
    key = sites(doc)["services.api.environment.KEY"].value
    assert key is not None
    assert (key.kind, key.ref_name, key.default) == (ValueKind.REFERENCE, "KEY", SECRET)
    req = sites(doc)["services.api.environment.REQ"].value
    assert req is not None
    assert req.kind is ValueKind.REFERENCE
    assert not req.default


@pytest.mark.parametrize(
    ("raw", "kind", "text"),
    [
        ("Xk82$$pqLw0z", ValueKind.LITERAL, "Xk82$pqLw0z"),  # the container gets the literal password
        ("$${HOME}/bin", ValueKind.LITERAL, "${HOME}/bin"),
        ("$$HOME", ValueKind.REFERENCE, "$HOME"),  # a whole reference stays one (never a secret)
        ("${A}-$$", ValueKind.INTERPOLATED, "${A}-$$"),  # a real interpolation: classified as written
        ("plain", ValueKind.LITERAL, "plain"),
    ],
)
def test_double_dollar_is_compose_escape(raw: str, kind: ValueKind, text: str) -> None:
    doc = parse(f"services:\n  a:\n    environment:\n      - X={raw}\n")
    value = doc.sites[0].value
    assert value is not None
    assert value.text == text
    assert value.kind is kind


def test_merged_anchor_keeps_anchor_lines_and_feeds_every_service() -> None:
    doc = parse(
        "x-common-env: &common-env\n"
        "  LOG_LEVEL: info\n"
        f"  SESSION_SECRET: {SECRET}\n"
        "services:\n"
        "  api:\n"
        "    environment:\n"
        "      <<: *common-env\n"
        "      LOG_LEVEL: debug\n"
        "  worker:\n"
        "    environment: *common-env\n"
    )
    by = sites(doc)
    assert by["services.api.environment.SESSION_SECRET"].location.line == 3
    assert by["services.api.environment.LOG_LEVEL"].location.line == 8  # the explicit key wins
    assert by["services.api.environment.LOG_LEVEL"].value.text == "debug"  # type: ignore[union-attr]
    assert by["services.worker.environment.SESSION_SECRET"].location.line == 3
    assert by["services.worker.environment.LOG_LEVEL"].location.line == 2
    assert len(doc.sites) == 4


def test_build_context_dockerfile_and_paths_resolve_from_the_compose_directory() -> None:
    doc = parse(
        "services:\n"
        "  web:\n"
        "    build: ./web\n"
        "  api:\n"
        "    build:\n"
        "      context: ../api\n"
        "      dockerfile: docker/Dockerfile.prod\n"
        "      target: runtime\n"
        "      secrets:\n"
        "        - npm_token\n"
        "        - source: pip_conf\n"
        "          target: pip.conf\n"
        "  remote:\n"
        "    build:\n"
        "      context: https://github.com/acme/tool.git#main\n"
        "  root:\n"
        "    build: .\n",
        path="deploy/compose.yaml",
    )
    data: ComposeFile = doc.data
    assert data.project_dir == "deploy"
    web = data.services["web"].build
    assert web is not None
    assert (web.context, web.context_dir, web.dockerfile_path, web.line) == ("./web", "deploy/web",
                                                                             "deploy/web/Dockerfile", 3)
    api = data.services["api"].build
    assert api is not None
    assert api.context_dir == "api"
    assert api.dockerfile == "docker/Dockerfile.prod"
    assert api.dockerfile_line == 7
    assert api.dockerfile_path == "api/docker/Dockerfile.prod"
    assert api.target == "runtime"
    assert api.secrets == [SecretRef("npm_token", 10), SecretRef("pip_conf", 11, "pip.conf")]
    remote = data.services["remote"].build
    assert remote is not None
    assert remote.context_dir is None
    assert remote.dockerfile_path is None
    root = data.services["root"].build
    assert root is not None
    assert root.context_dir == "deploy"
    assert root.dockerfile_path == "deploy/Dockerfile"


def test_env_file_forms() -> None:
    doc = parse(
        "services:\n"
        "  a:\n"
        "    env_file: .env\n"
        "  b:\n"
        "    env_file:\n"
        "      - ./config/common.env\n"
        "      - path: ./.env.local\n"
        "        required: false\n"
        "      - ${ENV_FILE}\n",
        path="app/docker-compose.yml",
    )
    data: ComposeFile = doc.data
    assert data.services["a"].env_files == [EnvFileRef(".env", "app/.env", 3)]
    assert data.services["b"].env_files == [
        EnvFileRef("./config/common.env", "app/config/common.env", 6),
        EnvFileRef("./.env.local", "app/.env.local", 7, required=False),
        EnvFileRef("${ENV_FILE}", None, 9),
    ]


def test_secrets_image_profiles() -> None:
    doc = parse(
        "services:\n"
        "  api:\n"
        "    image: ghcr.io/acme/api:1.4\n"
        "    profiles: [prod, debug]\n"
        "    secrets:\n"
        "      - openai_api_key\n"
        "      - source: db_password\n"
        "        target: /run/secrets/db\n"
        "secrets:\n"
        "  openai_api_key:\n"
        "    environment: OPENAI_API_KEY\n"
        "  db_password:\n"
        "    file: ./secrets/db_password.txt\n"
        "  shared:\n"
        "    external: true\n",
        path="stack/compose.yaml",
    )
    data: ComposeFile = doc.data
    api = data.services["api"]
    assert (api.image, api.image_line, api.profiles) == ("ghcr.io/acme/api:1.4", 3, ["prod", "debug"])
    assert api.secrets == [SecretRef("openai_api_key", 6), SecretRef("db_password", 7, "/run/secrets/db")]
    assert data.secrets["openai_api_key"].environment == "OPENAI_API_KEY"
    assert data.secrets["openai_api_key"].line == 10
    assert data.secrets["db_password"].file_path == "stack/secrets/db_password.txt"
    assert data.secrets["shared"].external
    assert not data.secrets["db_password"].external


def test_environment_comes_from_the_document() -> None:
    doc = parse("services:\n  a:\n    environment: [X=1]\n", path="docker-compose.prod.yml", environment="prod")
    assert doc.sites[0].environment == "prod"


def test_invalid_yaml_is_a_diagnostic_without_the_source() -> None:
    doc = parse(f"services:\n  api:\n    environment:\n      TOKEN: {SECRET}\n     bad: [\n")
    assert doc.sites == []
    assert len(doc.diagnostics) == 1
    assert doc.diagnostics[0].line is not None
    assert doc.diagnostics[0].line >= 4
    assert SECRET not in doc.diagnostics[0].message
    assert isinstance(doc.data, ComposeFile)


@pytest.mark.parametrize(
    "text",
    [
        "- just\n- a list\n",
        "services: [a, b]\n",
        "services:\n  api: [x]\n",
        "services:\n  api:\n    environment: 42\n",
        "services:\n  api:\n    environment:\n      A: {nested: map}\n      B: [1]\n",
        "services:\n  api:\n    environment:\n      - {A: 1}\n      - =x\n",
        "services:\n  api:\n    build: {args: [A=1], context: {x: 1}}\n",
        "services:\n  api:\n    env_file: [{required: true}, 3]\n",
        "services:\n  api:\n    secrets: [{target: x}, [1]]\n",
        "services:\n  ? [complex, key]\n  : {environment: [A=1]}\n",
        "secrets: [a]\n",
        "services:\n  api:\n",
        "",
    ],
)
def test_odd_shapes_never_crash(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, ComposeFile)
    assert all(d.level in {"warning", "error"} for d in doc.diagnostics)


def test_unexpected_types_are_warnings_naming_the_key_only() -> None:
    doc = parse(f"services:\n  api:\n    environment:\n      A: {{nested: {SECRET}}}\n      - x\n")
    assert doc.diagnostics  # either a YAML error or a warning; never the value
    assert all(SECRET not in d.message for d in doc.diagnostics)
    doc = parse(f"services:\n  api:\n    environment:\n      A: [{SECRET}]\n")
    assert [(d.line, d.level) for d in doc.diagnostics] == [(4, "warning")]
    assert "A" in doc.diagnostics[0].message
    assert SECRET not in doc.diagnostics[0].message


def test_duplicate_keys_warn_and_both_values_are_sites() -> None:
    doc = parse(f"services:\n  api:\n    environment:\n      {SECRET}: 1\n      TOKEN: a\n      TOKEN: b\n")
    lines = [s.location.line for s in doc.sites if s.name == "TOKEN"]
    assert lines == [5, 6]
    assert [(d.line, d.level) for d in doc.diagnostics] == [(6, "warning")]
    assert "line 5" in doc.diagnostics[0].message
    assert "TOKEN" not in doc.diagnostics[0].message


def test_alias_bomb_in_compose_finishes_with_a_diagnostic() -> None:
    text = 'x-a: &a ["l","l","l","l","l","l","l","l","l"]\n'
    prev = "a"
    for name in "bcdefgh":
        text += f"x-{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    text += "services:\n"
    text += "".join(f"  s{i}:\n    environment:\n      <<: *b\n      X: *h\n" for i in range(3))
    doc = parse(text)
    assert isinstance(doc.data, ComposeFile)
    assert all(d.level in {"warning", "error"} for d in doc.diagnostics)
