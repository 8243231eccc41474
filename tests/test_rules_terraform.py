"""Terraform rules beyond the fixture trees: resolution, must-not-trigger lists, configuration, secrecy."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.findings import Finding
from auditor.model import Severity
from auditor.rules.terraform import schedule_days
from auditor.scan import ScanOptions, scan

from .conftest import FIXTURES

TF_RULES = ("HCK-05", "HCK-06", "HCK-07", "HCK-08", "HCK-09", "HCK-12", "ROT-01", "ROT-02")
OPENAI = "sk-proj-" + "A1b2C3d4E5" * 6 + "T3BlbkFJ" + "Z9y8X7w6V5" * 6
PASSWORD = "Tq7Wm2Zp9Lk4Vx8Rb3"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run(root: Path, rule: str, **config: object) -> list[Finding]:
    result = scan(root, ScanOptions(config=Config(select=(rule,), **config), jobs=1))  # type: ignore[arg-type]
    return [f for f in result.findings if f.rule_id == rule]


def lines(findings: list[Finding]) -> set[tuple[str, int]]:
    return {(f.location.path, f.location.line) for f in findings}


# --- HCK-05 --------------------------------------------------------------------------------------------------

def test_provider_credential_resolution(tmp_path: Path) -> None:
    write(tmp_path, {
        "envs/prod/providers.tf": """\
            provider "aws" {
              access_key = var.access_key
              secret_key = var.secret_key
              token      = local.token
            }
            locals {
              token = var.session_token
            }
            """,
        "envs/prod/variables.tf": f"""\
            variable "access_key" {{}}
            variable "secret_key" {{
              default = "{PASSWORD}"
            }}
            variable "session_token" {{
              default = ""
            }}
            """,
        # the same variable name in another module does not leak into envs/prod
        "envs/dev/variables.tf": f'variable "access_key" {{\n  default = "{PASSWORD}"\n}}\n',
    })
    found = run(tmp_path, "HCK-05")
    assert lines(found) == {("envs/prod/providers.tf", 3)}
    (hit,) = found
    assert hit.severity is Severity.CRITICAL
    assert "through var.secret_key" in hit.message


def test_provider_credential_from_a_committed_file(tmp_path: Path) -> None:
    write(tmp_path, {
        ".gitignore": "secrets/\n",
        "main.tf": """\
            provider "google" {
              credentials = file("${path.module}/keys/terraform-sa.json")
            }
            provider "google" {
              alias       = "ignored"
              credentials = file("secrets/terraform-sa.json")
            }
            provider "google" {
              alias       = "path"
              credentials = "/etc/gcp/terraform-sa.json"
            }
            """,
        "keys/terraform-sa.json": '{"type": "service_account"}\n',
        "secrets/terraform-sa.json": '{"type": "service_account"}\n',
    })
    found = run(tmp_path, "HCK-05")
    assert lines(found) == {("main.tf", 2)}
    assert "keys/terraform-sa.json" in found[0].message


def test_provider_must_not_trigger(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": """\
        provider "aws" {
          access_key = "AKIAIOSFODNN7EXAMPLE"
          secret_key = "${var.secret_key}"
          token      = "var.session_token"
        }
        provider "stripe" {
          api_key = "<your-stripe-key>"
        }
        provider "github" {
          token = ""
        }
        provider "kubernetes" {
          client_certificate = file("~/.kube/client.crt")
          client_key         = file(var.client_key_path)
        }
        """})
    assert run(tmp_path, "HCK-05") == []


# --- HCK-06 / HCK-12 -------------------------------------------------------------------------------------------

def test_variable_default_feeding_a_provider_is_critical(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": f"""\
        provider "datadog" {{
          api_key = var.dd
        }}
        variable "dd" {{
          default = "{PASSWORD}"
        }}
        variable "app_password" {{
          default = "{PASSWORD}"
        }}
        """})
    found = {f.location.line: f for f in run(tmp_path, "HCK-06")}
    assert set(found) == {8}  # `dd` is not secret-named: HCK-06 is about names; HCK-05 reports the provider line
    assert found[8].severity is Severity.HIGH
    write(tmp_path, {"main.tf": f"""\
        provider "datadog" {{
          api_key = var.dd_api_key
        }}
        variable "dd_api_key" {{
          default = "{PASSWORD}"
        }}
        """})
    (hit,) = run(tmp_path, "HCK-06")
    assert hit.location.line == 5
    assert hit.severity is Severity.CRITICAL


def test_configured_names(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": f"""\
        variable "license_blob" {{
          default = "{PASSWORD}"
        }}
        variable "db_password" {{
          default = "{PASSWORD}"
        }}
        """})
    assert lines(run(tmp_path, "HCK-06")) == {("main.tf", 5)}
    extra = run(tmp_path, "HCK-06", secret_names=frozenset({"license_blob"}), allowed_names=frozenset({"db_password"}))
    assert lines(extra) == {("main.tf", 2)}
    assert lines(run(tmp_path, "HCK-12", allowed_names=frozenset({"db_password"}))) == set()


# --- HCK-07 --------------------------------------------------------------------------------------------------

def test_tfvars_json_ignored_files_and_sensitive_declarations(tmp_path: Path) -> None:
    write(tmp_path, {
        ".gitignore": "*.auto.tfvars\n",
        "envs/prod/variables.tf": 'variable "smtp_login" {\n  sensitive = true\n}\n',
        "envs/prod/terraform.tfvars": f'smtp_login = "{PASSWORD}"\nregion = "eu-west-1"\n',
        "envs/prod/secrets.auto.tfvars": f'db_password = "{PASSWORD}"\n',
        "envs/staging/secrets.tfvars.json": f'{{\n  "region": "eu-west-1",\n  "api_token": "{OPENAI}"\n}}\n',
    })
    found = run(tmp_path, "HCK-07")
    assert lines(found) == {("envs/prod/terraform.tfvars", 1), ("envs/staging/secrets.tfvars.json", 3)}
    by_path = {f.location.path: f for f in found}
    assert by_path["envs/staging/secrets.tfvars.json"].severity is Severity.CRITICAL


# --- HCK-08 --------------------------------------------------------------------------------------------------

def test_resource_must_not_trigger(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": """\
        resource "random_password" "db" {
          length           = 32
          override_special = "!#$%"
        }
        ephemeral "aws_secretsmanager_secret_version" "db" {
          secret_id = "prod/db"
        }
        resource "aws_db_instance" "a" {
          password_wo         = ephemeral.aws_secretsmanager_secret_version.db.secret_string
          password_wo_version = 1
        }
        resource "aws_db_instance" "b" {
          password = random_password.db.result
        }
        resource "aws_rds_cluster" "c" {
          master_password = data.aws_secretsmanager_secret_version.db.secret_string
        }
        data "aws_secretsmanager_secret_version" "db" {
          secret_id = "prod/db"
        }
        data "google_secret_manager_secret_version" "x" {
          secret = "somesecretid"
        }
        resource "aws_db_instance" "d" {
          password = var.db_password
        }
        variable "db_password" {
          sensitive = true
        }
        resource "aws_db_instance" "e" {
          password = "changeme"
        }
        resource "aws_efs_file_system" "f" {
          creation_token = "my-product"
        }
        resource "aws_ssm_parameter" "g" {
          name  = "/app/db_password"
          type  = "SecureString"
          value = "changeme"
        }
        resource "github_actions_secret" "h" {
          repository      = "x"
          secret_name     = "TOKEN"
          plaintext_value = ""
        }
        """})
    assert run(tmp_path, "HCK-08") == []


def test_user_data_base64_and_remote_state_config(tmp_path: Path) -> None:
    import base64

    script = base64.b64encode(f"export DATABASE_PASSWORD={PASSWORD}\n".encode()).decode()
    write(tmp_path, {"main.tf": f"""\
        resource "aws_launch_template" "lt" {{
          user_data = "{script}"
        }}
        data "terraform_remote_state" "net" {{
          backend = "azurerm"
          config = {{
            key        = "network.tfstate"
            access_key = "{PASSWORD}"
          }}
        }}
        """})
    assert lines(run(tmp_path, "HCK-08")) == {("main.tf", 2), ("main.tf", 8)}


def test_generic_env_rule_sees_terraform_env_sites(tmp_path: Path) -> None:
    """HCK-02 (the shared env-map rule) fires on Lambda / ECS env literals, never on references."""
    write(tmp_path, {"app.tf": f"""\
        resource "aws_lambda_function" "fn" {{
          function_name = "summarize"
          environment {{
            variables = {{
              OPENAI_API_KEY = "{OPENAI}"
              DB_PASSWORD    = var.db_password
            }}
          }}
        }}
        resource "aws_ecs_task_definition" "td" {{
          container_definitions = jsonencode([{{
            name        = "api"
            environment = [{{ name = "STRIPE_SECRET_KEY", value = "{PASSWORD}" }}]
            secrets     = [{{ name = "DB_PASSWORD", valueFrom = "arn:aws:ssm:eu-west-1:1:parameter/db" }}]
          }}])
        }}
        """})
    assert lines(run(tmp_path, "HCK-02")) == {("app.tf", 5), ("app.tf", 13)}


# --- HCK-09 --------------------------------------------------------------------------------------------------

def test_output_rules(tmp_path: Path) -> None:
    write(tmp_path, {"outputs.tf": """\
        output "db_endpoint" {
          value = aws_db_instance.main.endpoint
        }
        output "db_master_password" {
          value = aws_db_instance.main.password
        }
        output "token_arn" {
          value = aws_secretsmanager_secret.token.arn
        }
        output "api_token" {
          value = aws_secretsmanager_secret.token.id
        }
        """})
    assert lines(run(tmp_path, "HCK-09")) == {("outputs.tf", 4)}


# --- ROT-01 / ROT-02 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "days"), [
    ("rate(30 days)", 30), ("rate(120 days)", 120), ("rate(12 hours)", 0.5), ("rate(1 day)", 1),
    ("cron(0 0 1 * ? *)", 30.5), ("cron(0 0 1 */4 ? *)", 122), ("cron(0 0 1 1,7 ? *)", 183),
    ("cron(0 0 1 JAN ? *)", 366), ("cron(0 0 ? * MON *)", 30.5), ("cron(0 0 1 1 ? 2030)", 366),
    ("cron(0 0 1 JAN-DEC ? *)", 30.5), ("not a schedule", None), ("cron(bad)", None),
])
def test_schedule_days(expr: str, days: float | None) -> None:
    assert schedule_days(expr) == days


def test_rotation_limit_comes_from_config(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": """\
        resource "aws_secretsmanager_secret" "s" {
          name = "x"
        }
        resource "aws_secretsmanager_secret_rotation" "s" {
          secret_id = aws_secretsmanager_secret.s.arn
          rotation_rules {
            automatically_after_days = 60
          }
        }
        """})
    assert run(tmp_path, "ROT-01") == []
    assert lines(run(tmp_path, "ROT-01", rotation_fail_days=30)) == {("main.tf", 7)}


# --- every rule: bad fixtures -----------------------------------------------------------------------------------

_QUOTED = re.compile(r'"([^"\s]{8,})"|=([A-Za-z0-9/+%!#]{12,})')


@pytest.mark.parametrize("rule", TF_RULES)
def test_messages_never_quote_values(rule: str, copy_tree) -> None:
    tree = copy_tree(FIXTURES / "rules" / rule / "bad")
    secrets = {m.group(1) or m.group(2) for p in tree.rglob("*") if p.is_file()
               for m in _QUOTED.finditer(p.read_text(encoding="utf-8"))}
    secrets = {s for s in secrets if any(c.isdigit() for c in s) and not s.startswith(("arn:", "ami-", "/"))
               and not re.fullmatch(r"[a-z][a-z0-9_]*", s)}  # resource type labels
    findings = run(tree, rule)
    assert findings
    for f in findings:
        shown = " ".join(filter(None, (f.message, f.name, f.route, f.evidence)))
        assert not [s for s in secrets if s in shown], f.message
