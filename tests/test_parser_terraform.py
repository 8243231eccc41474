"""The Terraform / tfvars parser: model, positions, value classification, sites, resolution, bad input."""

from __future__ import annotations

import pickle
import textwrap

import pytest

from auditor.model import DocKind, Document, Phase, RefKind, Repository, SiteKind, ValueKind
from auditor.parsers import kind_of
from auditor.parsers import parse as dispatch
from auditor.parsers.hcl_json import JsonError, parse_json
from auditor.parsers.hcl_model import ExprKind, HclFile
from auditor.parsers.hcl_ts import unescape
from auditor.parsers.terraform import module_index, resolve

OPENAI = "sk-proj-" + "A1b2C3d4E5" * 6 + "T3BlbkFJ" + "Z9y8X7w6V5" * 6


def doc_of(text: str, path: str = "main.tf", environment: str | None = None) -> Document:
    doc = Document(path, kind_of(path), environment)
    dispatch(doc, textwrap.dedent(text))
    return doc


def hcl(doc: Document) -> HclFile:
    assert isinstance(doc.data, HclFile)
    return doc.data


# --- kinds ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "kind"), [
    ("main.tf", DocKind.TERRAFORM),
    ("envs/prod/providers.tf.json", DocKind.TERRAFORM),
    ("terraform.tfvars", DocKind.TFVARS),
    ("envs/prod/prod.auto.tfvars", DocKind.TFVARS),
    ("secrets.tfvars.json", DocKind.TFVARS),
    ("x.auto.tfvars.json", DocKind.TFVARS),
    ("terraform.tfvars.example", DocKind.TEXT),
    ("main.tf.bak", DocKind.TEXT),
])
def test_kind_of_terraform_names(path: str, kind: DocKind) -> None:
    assert kind_of(path) is kind


# --- model and positions -------------------------------------------------------------------------------------

def test_blocks_attributes_and_exact_positions() -> None:
    doc = doc_of("""\
        # comment
        resource "aws_db_instance" "main" {
          engine   = "postgres"
          password = var.db_password

          timeouts {
            create = "40m"
          }
        }
        """)
    (block,) = hcl(doc).blocks
    assert (block.type, block.labels, block.line, block.end_line) == ("resource", ("aws_db_instance", "main"), 2, 9)
    assert block.address == "aws_db_instance.main"
    pw = block.attrs["password"]
    assert (pw.line, pw.column, pw.expr.line, pw.expr.column) == (4, 3, 4, 14)
    assert pw.expr.kind is ExprKind.TRAVERSAL
    assert pw.expr.name == "var.db_password"
    assert pw.refs == ("var.db_password",)
    assert block.attrs["engine"].literal == "postgres"
    (nested,) = block.blocks
    assert nested.type == "timeouts"
    assert nested.attrs["create"].line == 7


def test_columns_count_characters_not_bytes() -> None:
    doc = doc_of('locals {\n  x = { "ü" = "ok", k = "v" }\n}\n')
    attrs = hcl(doc).blocks[0].attrs
    x = attrs["x"].expr
    assert x.kind is ExprKind.OBJECT
    assert [(i.key, i.column) for i in x.items] == [("ü", 9), ("k", 21)]


def test_literals_escapes_and_heredocs() -> None:
    doc = doc_of('''\
        locals {
          quoted  = "a\\"b\\n\\u00e9 $${x} %%{y}"
          number  = 1.5e3
          flag    = true
          nothing = null
          plain   = <<EOF
        line one
          line two
        EOF
          strip   = <<-EOT
            alpha
              beta
            EOT
          dynamic = <<-EOT
            key=${var.k}
            EOT
        }
        ''')
    a = hcl(doc).blocks[0].attrs
    assert a["quoted"].literal == 'a"b\né ${x} %{y}'
    assert a["number"].literal == 1500.0
    assert a["flag"].literal is True
    assert a["nothing"].expr.kind is ExprKind.NULL
    assert a["plain"].literal == "line one\n  line two\n"
    assert a["plain"].expr.heredoc
    assert a["strip"].literal == "alpha\n  beta\n"
    dyn = a["dynamic"].expr
    assert dyn.kind is ExprKind.TEMPLATE
    assert dyn.value == "key=${var.k}\n"
    assert dyn.refs == ("var.k",)


def test_unescape_unknown_escape_is_kept() -> None:
    assert unescape(r"a\qb") == r"a\qb"
    assert unescape(r"\U0001F600") == "\U0001f600"


def test_references_through_indexes_splats_conditionals_and_for() -> None:
    doc = doc_of("""\
        locals {
          a = aws_secretsmanager_secret.this[0].id
          b = var.enabled ? data.aws_ssm_parameter.p.value : local.fallback
          c = [for s in var.list : s.name]
          d = module.db.endpoints[*].address
          e = each.value
        }
        """)
    a = hcl(doc).blocks[0].attrs
    assert a["a"].refs == ("aws_secretsmanager_secret.this.id",)
    assert set(a["b"].refs) == {"var.enabled", "data.aws_ssm_parameter.p.value", "local.fallback"}
    assert a["c"].refs == ("var.list",)  # the iterator `s` is not a reference
    assert a["d"].refs == ("module.db.endpoints.address",)
    assert a["e"].refs == ()


# --- sites ---------------------------------------------------------------------------------------------------

def test_variable_sites_classify_default_and_record_flags() -> None:
    doc = doc_of(f"""\
        variable "openai_api_key" {{
          type      = string
          sensitive = true
          default   = "{OPENAI}"
        }}

        variable "db_password" {{
          type = string
        }}

        variable "region" {{
          default = "eu-west-1"
        }}
        """, "envs/prod/variables.tf", "prod")
    sites = {s.name: s for s in doc.sites_of(SiteKind.VARIABLE)}
    key = sites["openai_api_key"]
    assert key.value is not None
    assert key.value.kind is ValueKind.LITERAL
    assert key.value.text == OPENAI
    assert (key.location.line, key.location.column) == (4, 15)
    assert key.context["sensitive"] == "true"
    assert key.phase is Phase.PROVISION
    assert key.environment == "prod"
    assert sites["db_password"].value is None
    assert sites["db_password"].location.line == 7
    assert sites["db_password"].context["sensitive"] == "false"
    assert sites["region"].value is not None
    assert sites["region"].value.kind is ValueKind.LITERAL


def test_provider_sites_include_nested_blocks() -> None:
    doc = doc_of("""\
        provider "helm" {
          kubernetes {
            host  = "https://k8s"
            token = var.token
          }
        }
        provider "aws" {
          alias      = "us"
          access_key = "${var.key}"
          secret_key = "Bearer ${var.key}"
        }
        """)
    sites = {s.route: s for s in doc.sites_of(SiteKind.CONFIG_KEY)}
    token = sites["provider.helm.kubernetes.token"]
    assert token.context == {"block": "provider", "provider": "helm"}
    assert token.value is not None
    assert token.value.kind is ValueKind.REFERENCE
    assert token.value.ref is RefKind.VARIABLE
    assert token.value.ref_name == "var.token"
    access = sites["provider.aws.access_key"]
    assert access.context["alias"] == "us"
    assert access.value is not None
    assert access.value.kind is ValueKind.REFERENCE
    secret = sites["provider.aws.secret_key"]
    assert secret.value is not None
    assert secret.value.kind is ValueKind.INTERPOLATED


def test_store_references_are_recognised() -> None:
    doc = doc_of("""\
        provider "github" {
          token = data.aws_secretsmanager_secret_version.gh.secret_string
        }
        provider "gitlab" {
          token = ephemeral.vault_kv_secret_v2.gl.data["token"]
        }
        """)
    values = [s.value for s in doc.sites_of(SiteKind.CONFIG_KEY)]
    assert all(v is not None and v.ref is RefKind.STORE for v in values)


def test_lambda_app_settings_cloud_run_and_codebuild_env_sites() -> None:
    doc = doc_of(f"""\
        resource "aws_lambda_function" "fn" {{
          function_name = "summarize"
          environment {{
            variables = {{
              OPENAI_API_KEY = "{OPENAI}"
              DB_PASSWORD    = var.db_password
            }}
          }}
        }}
        resource "azurerm_linux_web_app" "web" {{
          app_settings = {{
            "STRIPE_SECRET_KEY" = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/stripe/)"
          }}
        }}
        resource "google_cloud_run_v2_service" "api" {{
          template {{
            containers {{
              env {{
                name  = "API_TOKEN"
                value = "t0k3n-Zp4Kq9Tw2Lx7"
              }}
              env {{
                name = "DB_PASSWORD"
                value_source {{
                  secret_key_ref {{
                    secret = "db"
                  }}
                }}
              }}
            }}
          }}
        }}
        resource "aws_codebuild_project" "build" {{
          environment {{
            environment_variable {{
              name  = "NPM_TOKEN"
              value = "/ci/npm-token"
              type  = "PARAMETER_STORE"
            }}
          }}
        }}
        """, "envs/prod/app.tf", "prod")
    env = {s.name: s for s in doc.sites_of(SiteKind.ENV)}
    key = env["OPENAI_API_KEY"]
    assert key.value is not None
    assert key.value.kind is ValueKind.LITERAL
    assert key.location.line == 5
    assert key.phase is Phase.RUNTIME
    assert key.environment == "prod"
    assert key.route == "aws_lambda_function.fn.environment.variables.OPENAI_API_KEY"
    assert key.context["resource"] == "aws_lambda_function"
    assert env["DB_PASSWORD"].value is not None
    assert env["DB_PASSWORD"].value.kind is ValueKind.REFERENCE
    stripe = env["STRIPE_SECRET_KEY"].value
    assert stripe is not None
    assert stripe.kind is ValueKind.REFERENCE
    assert env["API_TOKEN"].location.line == 20
    assert env["NPM_TOKEN"].value is not None
    assert env["NPM_TOKEN"].value.ref is RefKind.STORE
    assert [s for s in doc.sites_of(SiteKind.ENV) if s.name == "DB_PASSWORD"][-1].value.ref is RefKind.STORE  # type: ignore[union-attr]


def test_ecs_container_definitions_jsonencode_and_heredoc() -> None:
    doc = doc_of(f"""\
        resource "aws_ecs_task_definition" "inline" {{
          family = "api"
          container_definitions = jsonencode([
            {{
              name  = "api"
              image = "ghcr.io/acme/api:1.4"
              environment = [
                {{ name = "LOG_LEVEL", value = "info" }},
                {{ name = "OPENAI_API_KEY", value = "{OPENAI}" }},
              ]
              secrets = [
                {{ name = "DB_PASSWORD", valueFrom = aws_secretsmanager_secret.db.arn }},
              ]
            }}
          ])
        }}
        resource "aws_ecs_task_definition" "heredoc" {{
          family                = "worker"
          container_definitions = <<-DEF
            [
              {{
                "name": "worker",
                "cpu": ${{var.cpu}},
                "environment": [
                  {{"name": "SENTRY_AUTH_TOKEN", "value": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}},
                  {{"name": "REGION", "value": "${{var.region}}"}}
                ],
                "secrets": [{{"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/api"}}]
              }}
            ]
            DEF
        }}
        """)
    env = {s.name: s for s in doc.sites_of(SiteKind.ENV)}
    assert env["OPENAI_API_KEY"].location.line == 9
    assert env["OPENAI_API_KEY"].context["container"] == "api"
    assert env["OPENAI_API_KEY"].value is not None
    assert env["OPENAI_API_KEY"].value.text == OPENAI
    assert env["DB_PASSWORD"].value is not None
    assert env["DB_PASSWORD"].value.ref is RefKind.STORE
    sentry = env["SENTRY_AUTH_TOKEN"]
    assert sentry.location.line == 25
    assert sentry.context["container"] == "worker"
    assert sentry.value is not None
    assert sentry.value.kind is ValueKind.LITERAL
    assert env["REGION"].value is not None
    assert env["REGION"].value.kind is ValueKind.REFERENCE
    assert env["API_KEY"].value is not None
    assert env["API_KEY"].value.ref is RefKind.STORE


def test_kubernetes_secret_data_sites_and_outputs() -> None:
    doc = doc_of("""\
        resource "kubernetes_secret_v1" "s" {
          data = {
            password = "Tq7Wm2Zp9Lk4Vx8Rb3"
          }
        }
        output "db_password" {
          value     = var.db_password
          sensitive = true
        }
        """)
    (data,) = doc.sites_of(SiteKind.SECRET_DATA)
    assert data.name == "password"
    assert data.location.line == 3
    assert data.context["field"] == "data"
    (out,) = doc.sites_of(SiteKind.OUTPUT)
    assert out.name == "db_password"
    assert out.context["sensitive"] == "true"


def test_tfvars_sites_with_nested_members() -> None:
    doc = doc_of("""\
        region      = "eu-west-1"
        db_password = "Tq7Wm2Zp9Lk4Vx8Rb3"
        datadog = {
          api_key = "4f9c2a7e81b3d6054c8e2f1a9b7d3e60"
        }
        """, "envs/prod/terraform.tfvars", "prod")
    assert doc.kind is DocKind.TFVARS
    sites = {s.route: s for s in doc.sites_of(SiteKind.VARIABLE)}
    assert set(sites) == {"region", "db_password", "datadog", "datadog.api_key"}
    assert sites["datadog.api_key"].location.line == 4
    assert sites["datadog.api_key"].phase is Phase.PROVISION
    assert sites["db_password"].context == {"block": "tfvars"}


# --- JSON syntax ---------------------------------------------------------------------------------------------

def test_terraform_json_syntax() -> None:
    doc = doc_of("""\
        {
          "provider": {"aws": {"region": "eu-west-1", "access_key": "${var.key}"}},
          "variable": {"key": {"type": "string", "default": "AKIA3XR3M6FVV2Q7QLHB"}},
          "resource": {
            "aws_lambda_function": {
              "fn": {
                "function_name": "x",
                "environment": {"variables": {"API_TOKEN": "Zp4Kq9Tw2Lx7Rv5Nb8Mc3Yh6"}},
                "provisioner": [{"local-exec": {"command": "echo ${var.key}"}}]
              }
            }
          }
        }
        """, "main.tf.json")
    f = hcl(doc)
    assert f.syntax == "json"
    provider, variable, resource = f.blocks
    assert provider.labels == ("aws",)
    assert provider.attrs["access_key"].expr.kind is ExprKind.TRAVERSAL
    assert provider.attrs["access_key"].line == 2
    assert variable.attrs["default"].literal == "AKIA3XR3M6FVV2Q7QLHB"
    assert variable.attrs["default"].line == 3
    assert resource.address == "aws_lambda_function.fn"
    assert resource.line == 6
    (prov,) = resource.blocks_of("provisioner")
    assert prov.labels == ("local-exec",)
    assert prov.attrs["command"].refs == ("var.key",)
    (env,) = doc.sites_of(SiteKind.ENV)
    assert env.name == "API_TOKEN"
    assert env.location.line == 8


def test_tfvars_json_values_are_literal() -> None:
    doc = doc_of('{\n  "db_password": "${not_a_template}",\n  "n": 3\n}\n', "x.tfvars.json")
    (pw,) = [s for s in doc.sites if s.name == "db_password"]
    assert pw.location.line == 2
    assert hcl(doc).attrs["db_password"].expr.kind is ExprKind.STRING


def test_json_reader_positions_and_errors() -> None:
    expr = parse_json('{\n  "a": [1, {"b": "c"}],\n  "d": null\n}', first_line=10)
    assert [(i.key, i.line, i.column) for i in expr.items] == [("a", 11, 3), ("d", 12, 3)]
    with pytest.raises(JsonError) as err:
        parse_json('{\n  "a": 1,\n  "b": }\n')
    assert err.value.line == 3


# --- bad input -----------------------------------------------------------------------------------------------

def test_syntax_error_gives_first_error_line_and_keeps_valid_blocks() -> None:
    doc = doc_of("""\
        variable "ok" {
          default = "x"
        }

        resource "aws_instance" "broken" {
          ami = = "ami-123"
        }

        output "after" {
          value = var.ok
        }
        """)
    assert [d.line for d in doc.diagnostics] == [6]
    assert "invalid HCL" in doc.diagnostics[0].message
    assert "ami-123" not in doc.diagnostics[0].message
    types = [b.type for b in hcl(doc).blocks]
    assert "variable" in types
    assert "output" in types


def test_invalid_json_records_a_diagnostic() -> None:
    doc = doc_of('{\n  "variable": {\n    "x": {"default": "AKIA3XR3M6FVV2Q7QLHB",}\n  }\n}\n', "main.tf.json")
    assert [d.line for d in doc.diagnostics] == [3]
    assert "AKIA" not in doc.diagnostics[0].message
    assert hcl(doc).blocks == ()


@pytest.mark.parametrize("text", [
    "",
    "\x00\x01garbage {{{",
    'resource "a" "b" {\n  x = <<EOF\nno terminator\n',
    "locals {\n  x = " + "[" * 3000 + "]" * 3000 + "\n}\n",
    'x = "${' * 200,
    "}}}}\n" * 50,
])
def test_garbage_never_raises(text: str) -> None:
    for path in ("main.tf", "a.tfvars", "main.tf.json"):
        doc = Document(path, kind_of(path))
        dispatch(doc, text)
        assert isinstance(doc.data, HclFile)


def test_document_pickles_for_worker_processes() -> None:
    doc = doc_of(f'variable "k" {{\n  default = "{OPENAI}"\n}}\nresource "aws_lambda_function" "f" {{\n'
                 '  environment {\n    variables = { A = "b" }\n  }\n}\n')
    clone = pickle.loads(pickle.dumps(doc))
    assert clone.data == doc.data
    assert clone.sites == doc.sites


def test_repr_of_model_never_shows_values() -> None:
    doc = doc_of(f'variable "k" {{\n  default = "{OPENAI}"\n}}\n')
    assert OPENAI not in repr(doc.data)


# --- module-level resolution ---------------------------------------------------------------------------------

def _repo(*docs: Document) -> Repository:
    return Repository(root="r", documents=list(docs), files=frozenset(d.path for d in docs))


def test_resolve_follows_var_defaults_and_locals_within_a_module() -> None:
    main = doc_of("""\
        provider "aws" {
          secret_key = local.key
          access_key = var.no_default
          token      = var.null_default
        }
        locals {
          key = "${var.creds.secret}"
          a   = local.b
          b   = local.a
        }
        """, "envs/prod/main.tf")
    variables = doc_of("""\
        variable "creds" {
          default = { secret = "Tq7Wm2Zp9Lk4Vx8Rb3" }
        }
        variable "no_default" {}
        variable "null_default" { default = null }
        """, "envs/prod/variables.tf")
    other = doc_of('variable "no_default" { default = "elsewhere" }\n', "envs/dev/variables.tf")
    modules = module_index(_repo(main, variables, other))
    module = modules["envs/prod"]
    attrs = hcl(main).blocks[0].attrs
    got = resolve(attrs["secret_key"].expr, main.path, module)
    assert got.value.kind is ValueKind.LITERAL
    assert got.value.text == "Tq7Wm2Zp9Lk4Vx8Rb3"
    assert got.path == "envs/prod/variables.tf"
    assert got.location.line == 2
    assert got.via == ("local.key", "var.creds")
    no_default = resolve(attrs["access_key"].expr, main.path, module)
    assert no_default.value.kind is ValueKind.REFERENCE
    assert no_default.value.ref is RefKind.VARIABLE
    assert resolve(attrs["token"].expr, main.path, module).value.kind is ValueKind.REFERENCE
    loop = resolve(hcl(main).blocks[1].attrs["a"].expr, main.path, module)  # a -> b -> a: stops, no error
    assert loop.value.kind is ValueKind.REFERENCE
