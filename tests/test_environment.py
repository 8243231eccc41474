from __future__ import annotations

import pytest

from auditor.environment import canonical, infer_environment


@pytest.mark.parametrize(
    ("path", "env"),
    [
        ("envs/prod/main.tf", "prod"),
        ("environments/staging/terraform.tfvars", "staging"),
        ("overlays/staging/kustomization.yaml", "staging"),
        (".env.production", "prod"),
        ("web/.env.development.local", "local"),
        ("charts/api/values-prod.yaml", "prod"),
        ("deploy/stg/app.yaml", "staging"),
        ("prod.tfvars", "prod"),
        ("k8s/dev/deploy.yaml", "dev"),
        ("src/app/main.py", None),
        ("production-notes/dev/x.yaml", "dev"),  # the innermost component decides
        ("product/catalog.yaml", None),  # "product" is not "prod"
        ("tests/test_x.py", None),
    ],
)
def test_infer_environment(path: str, env: str | None) -> None:
    assert infer_environment(path) == env


def test_overrides_win() -> None:
    assert infer_environment("deploy/eu-live/app.yaml", {"deploy/eu-live/*": "prod"}) == "prod"
    assert infer_environment("envs/prod/main.tf", {"envs/prod/*": "dr"}) == "dr"


def test_canonical() -> None:
    assert canonical("Production") == "prod"
    assert canonical("stg") == "staging"
    assert canonical("blue") is None
