"""``keyaudit cluster``: arguments in, :func:`auditor.cluster.audit.audit`, reports out, exit code.

Registered in :mod:`auditor.cli` with ``main.add_command(cluster)``. Output, ``--fail-on``, ``--select``,
``--ignore``, baselines and exit codes behave as in ``keyaudit scan`` (the helpers are shared). Exit 2 when no
cluster could be reached; ``--fail-on-partial`` also exits 2 when some resources could not be read.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

FORMATS = ("console", "json", "sarif", "junit", "markdown", "github")
SEVERITIES = ("info", "low", "medium", "high", "critical", "none")


@click.command("cluster")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=str),
              help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster account).")
@click.option("--context", "contexts", multiple=True,
              help="kubeconfig context to audit (default: the current one); repeat to audit several clusters "
                   "together (ENV-04 then compares values across them).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (as the deploy/ CronJob does).")
@click.option("--cluster-name", help="Name shown in locations instead of the context name (one context only).")
@click.option("-n", "--namespace", "namespaces", multiple=True,
              help="Audit only this namespace (repeatable, comma-separated); default: every namespace.")
@click.option("--no-secret-values", is_flag=True,
              help="Metadata-only audit: never request Secret values (keys judged by name; ENV-04 skipped).")
@click.option("--from-file", "from_files", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Audit objects saved with `kubectl get ... -o yaml` (files or directories) instead of a live "
                   "cluster.")
@click.option("--now", "now_text", metavar="ISO-TIME",
              help="Evaluate ages and staleness as of this time (e.g. 2025-09-01T00:00:00Z); default: now.")
@click.option("--request-timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds to wait for one API response.")
@click.option("--page-size", type=click.IntRange(10, 5000), default=500, show_default=True,
              help="Objects per list page (limit/continue).")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="Output format; repeat for several (each pairs with the --output at the same position).")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the matching --format to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Exit 1 when a finding is at or above this severity (default: low; 'none' never fails).")
@click.option("--fail-on-partial", is_flag=True, help="Exit 2 when some resources could not be read.")
@click.option("--select", multiple=True, help="Run only these rule ids or names (repeatable, comma-separated).")
@click.option("--ignore", "ignore_rules", multiple=True, help="Skip these rule ids or names.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Configuration file (default: .keyaudit.yaml or [tool.keyaudit] in the current directory).")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mark findings recorded in this baseline as suppressed.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the current findings as accepted, then exit 0.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings too.")
@click.option("--color/--no-color", default=None, help="Colour the console report (default: when stdout is a TTY).")
def cluster(
        kubeconfig: str | None, contexts: tuple[str, ...], in_cluster: bool, cluster_name: str | None,
        namespaces: tuple[str, ...], no_secret_values: bool, from_files: tuple[Path, ...], now_text: str | None,
        request_timeout: float, page_size: int, formats: tuple[str, ...], outputs: tuple[Path, ...],
        fail_on: str | None, fail_on_partial: bool, select: tuple[str, ...], ignore_rules: tuple[str, ...],
        config_path: Path | None, baseline: Path | None, write_baseline: Path | None, show_suppressed: bool,
        color: bool | None) -> None:
    """Audit a live Kubernetes cluster: literal keys in running workloads, unmanaged and stale Secrets,
    secret-store settings, values shared across environments and broad Secret access."""
    from dataclasses import replace

    from auditor.baseline import BaselineError, read_baseline
    from auditor.cli import EXIT_ERROR, _check_rule_names, _emit, _exit_code, _save_baseline, _split
    from auditor.cluster.audit import AuditOptions, ClusterUnreachable, audit, is_partial
    from auditor.cluster.model import DEFAULT_ENVIRONMENT_LABELS, DEFAULT_SYSTEM_NAMESPACES
    from auditor.cluster.source import ClusterSource, ConnectError, FixtureSource, LiveSource
    from auditor.config import ConfigError, find_config, load_config
    from auditor.policies import PolicyError

    if len(outputs) > max(len(formats), 1):
        raise click.UsageError("more --output than --format options")
    if cluster_name and len(contexts) > 1:
        raise click.UsageError("--cluster-name names one cluster: use it with at most one --context")
    if from_files and (contexts or in_cluster or kubeconfig):
        raise click.UsageError("--from-file audits saved objects: it cannot be combined with a live cluster")
    now = _parse_now(now_text)
    try:
        cfg = load_config(config_path or find_config(Path.cwd()))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    cfg = replace(cfg, fail_on=fail_on or cfg.fail_on, select=_split(select) or cfg.select,
                  ignore=(*cfg.ignore, *_split(ignore_rules)))
    _check_rule_names(cfg)
    _warn_inapplicable(cfg.select)
    baseline_path = baseline or (Path(cfg.baseline) if cfg.baseline else None)
    try:
        accepted = read_baseline(baseline_path) if baseline_path and not write_baseline else frozenset()
    except BaselineError as exc:
        raise click.ClickException(str(exc)) from None

    sources: list[ClusterSource] = []
    try:
        if from_files:
            fixture = FixtureSource.from_paths(*from_files)
            if cluster_name:
                fixture.label = cluster_name
            sources.append(fixture)
        else:
            for context in contexts or (None,):
                sources.append(LiveSource(kubeconfig, context, True if in_cluster else None, cluster_name,
                                          request_timeout, page_size).connect())
    except ConnectError as exc:
        for source in sources:
            source.close()
        raise click.ClickException(str(exc)) from None

    options = AuditOptions(config=cfg, namespaces=_split(namespaces),
                           secret_values=cfg.cluster_secret_values and not no_secret_values, now=now, baseline=accepted,
                           system_namespaces=frozenset(cfg.cluster_system_namespaces or DEFAULT_SYSTEM_NAMESPACES),
                           environment_labels=cfg.cluster_environment_labels or DEFAULT_ENVIRONMENT_LABELS)
    try:
        result = audit(sources, options)
    except ClusterUnreachable as exc:
        raise click.ClickException(f"cannot reach the cluster: {exc}") from None
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None

    partial = is_partial(result)
    if write_baseline:
        _save_baseline(write_baseline, result)
    _emit(result, formats or ("console",), outputs, color, show_suppressed)
    if partial:
        click.echo("keyaudit: the audit is partial: some resources could not be read (see the diagnostics)",
                   err=True)
        if fail_on_partial:
            raise click.exceptions.Exit(EXIT_ERROR)
    raise click.exceptions.Exit(_exit_code(result, cfg.fail_on))


def _warn_inapplicable(select: tuple[str, ...]) -> None:
    from auditor.cluster.audit import TARGET
    from auditor.policies import load_policies

    for policy in load_policies():
        if (policy.id in select or policy.name in select) and TARGET not in policy.targets:
            click.echo(f"keyaudit: {policy.id} does not run on live clusters (targets: {', '.join(policy.targets)})",
                       err=True)


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint="--now") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


if __name__ == "__main__":  # pragma: no cover - `python -m auditor.cluster.cli` before it is registered
    sys.exit(cluster.main(prog_name="keyaudit cluster"))
