"""Command line: arguments in, one library call, reports out, exit code. Nothing else lives here.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage or tool error.
Heavy modules are imported inside the commands so that ``keyaudit --version`` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from auditor import __version__

if TYPE_CHECKING:
    from auditor.config import Config
    from auditor.findings import ScanResult

FORMATS = ("console", "json", "sarif", "junit", "markdown", "github")
SEVERITIES = ("info", "low", "medium", "high", "critical", "none")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class KeyauditGroup(click.Group):
    def main(self, *args: object, **kwargs: object) -> NoReturn:
        try:
            # without standalone mode click returns the code of a raised Exit instead of exiting
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=KeyauditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="keyaudit")
def main() -> None:
    """keyaudit: audit secret hygiene in infrastructure code and live clusters."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=str))
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="Output format; repeat for several (each pairs with the --output at the same position).")
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the matching --format to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Exit 1 when a finding is at or above this severity (default: low; 'none' never fails).")
@click.option("--select", multiple=True, help="Run only these rule ids or names (repeatable, comma-separated).")
@click.option("--ignore", "ignore_rules", multiple=True, help="Skip these rule ids or names.")
@click.option("--exclude", multiple=True, help="gitignore-style glob of paths not to scan (repeatable).")
@click.option("--include-ignored", is_flag=True, default=None, help="Also scan files that .gitignore ignores.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Configuration file (default: .keyaudit.yaml or [tool.keyaudit] in pyproject.toml at the root).")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mark findings recorded in this baseline as suppressed.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the current findings as accepted, then exit 0.")
@click.option("--stdin-name", default="stdin", show_default=True,
              help="File name that decides the parser for '-' (e.g. Dockerfile, .env, manifest.yaml); "
                   "by default the content decides.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings too.")
@click.option("-j", "--jobs", type=click.IntRange(0, 256), default=0, help="Worker processes (0 = one per CPU).")
@click.option("--max-file-size", type=click.FloatRange(min=0.001), default=None, help="Skip files larger than N MB.")
@click.option("--color/--no-color", default=None, help="Colour the console report (default: when stdout is a TTY).")
def scan(paths: tuple[str, ...], formats: tuple[str, ...], outputs: tuple[Path, ...], fail_on: str | None,
         select: tuple[str, ...], ignore_rules: tuple[str, ...], exclude: tuple[str, ...],
         include_ignored: bool | None, config_path: Path | None, baseline: Path | None,
         write_baseline: Path | None, stdin_name: str, show_suppressed: bool, jobs: int,
         max_file_size: float | None, color: bool | None) -> None:
    """Audit PATHS (default: the current directory; '-' reads standard input)."""
    from dataclasses import replace

    from auditor.baseline import BaselineError, read_baseline
    from auditor.config import ConfigError, find_config, load_config
    from auditor.policies import PolicyError
    from auditor.scan import ScanError, ScanOptions, repository_key, scan_text
    from auditor.scan import scan as run_scan

    if len(outputs) > max(len(formats), 1):
        raise click.UsageError("more --output than --format options")
    targets = list(paths) or ["."]
    first = Path(targets[0]) if targets[0] != "-" else Path.cwd()
    try:
        cfg = load_config(config_path or find_config(first))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    cfg = replace(
        cfg,
        fail_on=fail_on or cfg.fail_on,
        select=_split(select) or cfg.select,
        ignore=(*cfg.ignore, *_split(ignore_rules)),
        exclude=(*cfg.exclude, *exclude),
        include_ignored=cfg.include_ignored if include_ignored is None else include_ignored,
        max_file_size_mb=max_file_size or cfg.max_file_size_mb,
    )
    _check_rule_names(cfg)
    baseline_path = baseline or (Path(cfg.baseline) if cfg.baseline else None)
    try:
        accepted = read_baseline(baseline_path) if baseline_path and not write_baseline else frozenset()
    except BaselineError as exc:
        raise click.ClickException(str(exc)) from None

    results: list[ScanResult] = []
    err_tty = sys.stderr.isatty()
    try:
        for target in targets:
            options = ScanOptions(config=cfg, jobs=jobs, baseline=accepted,
                                  fingerprint_key=repository_key(first if target == "-" else Path(target)),
                                  progress=_progress if err_tty else None)
            if target == "-":
                results.append(scan_text(stdin_name, sys.stdin.buffer.read(), options))
            else:
                results.append(run_scan(target, options))
            if err_tty:
                click.echo("\r\033[K", nl=False, err=True)
    except (ScanError, PolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    result = _merge(results)

    if write_baseline:
        _save_baseline(write_baseline, result)
    _emit(result, formats or ("console",), outputs, color, show_suppressed)
    raise click.exceptions.Exit(_exit_code(result, cfg.fail_on))


def _save_baseline(path: Path, result: ScanResult) -> NoReturn:
    """``--write-baseline``: record the findings as accepted, then exit 0 without a report."""
    from auditor.baseline import write_baseline

    count = write_baseline(path, result.findings, __version__)
    click.echo(f"Wrote {count} findings to baseline {path}", err=True)
    raise click.exceptions.Exit(EXIT_OK)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _check_rule_names(cfg: Config) -> None:
    from auditor.policies import PolicyError, load_policies

    try:
        known = {p.id for p in load_policies()} | {p.name for p in load_policies()}
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    unknown = sorted((set(cfg.select) | set(cfg.ignore)) - known)
    if unknown:
        raise click.UsageError(f"unknown rule: {', '.join(unknown)} (see 'keyaudit rules')")


def _progress(done: int, total: int) -> None:
    click.echo(f"\rscanning {done}/{total} files", nl=False, err=True)


def _merge(results: list[ScanResult]) -> ScanResult:
    if len(results) == 1:
        return results[0]
    first = results[0]
    for other in results[1:]:
        first.findings.extend(other.findings)
        first.diagnostics.extend(other.diagnostics)
        for name in ("files_seen", "files_scanned", "documents_parsed", "skipped_binary", "skipped_large",
                     "skipped_ignored"):
            setattr(first.stats, name, getattr(first.stats, name) + getattr(other.stats, name))
        first.stats.seconds += other.stats.seconds
    first.root = ", ".join(r.root for r in results)
    return first


def _emit(result: ScanResult, formats: tuple[str, ...], outputs: tuple[Path, ...], color: bool | None,
          show_suppressed: bool) -> None:
    from auditor.policies import load_policies
    from auditor.reporters import render

    policies = [p for p in load_policies() if p.id in result.rules]
    for index, fmt in enumerate(formats):
        out = outputs[index] if index < len(outputs) else None
        wanted = (sys.stdout.isatty() and not os.environ.get("NO_COLOR")) if color is None else color  # no-color.org
        use_color = wanted and out is None and fmt == "console"
        text = render(fmt, result, color=use_color, policies=policies, show_suppressed=show_suppressed)
        if out is None:
            click.echo(text, nl=not text.endswith("\n"))
        else:
            out.write_text(text, encoding="utf-8")


def _exit_code(result: ScanResult, fail_on: str) -> int:
    if fail_on == "none":
        return EXIT_OK
    from auditor.model import Severity

    threshold = Severity(fail_on).rank
    return EXIT_FINDINGS if any(f.severity.rank >= threshold for f in result.active) else EXIT_OK


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def rules_cmd(fmt: str) -> None:
    """List every rule."""
    import json

    from auditor.policies import load_policies

    policies = load_policies()
    if fmt == "json":
        click.echo(json.dumps([{"id": p.id, "name": p.name, "title": p.title, "severity": p.severity.value,
                                 "confidence": p.confidence.value, "category": p.category,
                                 "targets": list(p.targets), "help_uri": p.help_uri} for p in policies], indent=2))
        return
    for p in policies:
        click.echo(f"{p.id}  {p.severity.value:<8}  {p.name:<42}  {p.title}")


@main.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Show the documentation of RULE (an id such as BLD-01, or a name)."""
    from auditor.docs import render_policy
    from auditor.policies import policy_by_id

    policy = policy_by_id(rule.upper()) or policy_by_id(rule)
    if policy is None:
        raise click.UsageError(f"unknown rule {rule!r} (see 'keyaudit rules')")
    click.echo(render_policy(policy))


from auditor.cluster.cli import cluster  # noqa: E402  (the module imports nothing heavy at load time)

main.add_command(cluster)
