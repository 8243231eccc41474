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


def test_namespace_mapping_applies_to_manifests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import Config
    from auditor.scan import ScanOptions, build_repository

    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop-live}\n"
        "spec:\n  containers:\n  - name: c\n    image: x\n    env:\n    - {name: API_TOKEN, value: abc}\n")
    plain, _ = build_repository(tmp_path, ScanOptions(jobs=1))
    mapped, _ = build_repository(tmp_path, ScanOptions(config=Config(namespace_environments={"*-live": "prod"}),
                                                       jobs=1))
    assert [s.environment for s in plain.documents[0].sites] == [None]
    assert [s.environment for s in mapped.documents[0].sites] == ["prod"]


def test_namespace_environment() -> None:
    from auditor.environment import namespace_environment

    assert namespace_environment("payments-prod") == "prod"
    assert namespace_environment("team-a", {"team-*": "dev"}) == "dev"
