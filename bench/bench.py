"""keyaudit benchmark: scan a large synthetic repository (or an existing tree) and report speed and memory.

    .venv/bin/python bench/bench.py                       # 5000 generated files, default workers
    .venv/bin/python bench/bench.py --files 20000 --jobs 2 --repeat 3
    .venv/bin/python bench/bench.py --tree ../shared/corpora/realworld-sample
    .venv/bin/python bench/bench.py --checkov --checkov-bin /tmp/checkov-venv/bin/checkov

keyaudit runs in a subprocess exactly as a user runs it (``python -m auditor scan DIR --format json
--fail-on none``); see ``bench/measure.py`` for what the time and memory figures mean. The generated tree
(``bench/synth.py``) is deterministic for a given ``--files``/``--seed`` and holds a small share of planted fake
credentials (random characters in provider shapes, never real keys); the report says how many of them a
finding points at.

checkov is optional and never a dependency of keyaudit: install it into a separate virtualenv and pass
``--checkov-bin``, or have ``checkov`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Measurement, mb, run_measured
from synth import MARKER, SynthTree, generate

REPO = Path(__file__).resolve().parent.parent
CHECKOV_FRAMEWORKS = ("dockerfile", "kubernetes", "terraform", "github_actions", "secrets")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=5000, help="files to generate (default 5000)")
    p.add_argument("--seed", type=int, default=1, help="RNG seed of the generated tree (default 1)")
    p.add_argument("--secret-share", type=float, default=0.02,
                   help="share of generated files holding a planted fake credential (default 0.02)")
    p.add_argument("--tree", type=Path, help="benchmark this existing tree instead of generating one")
    p.add_argument("--out", type=Path,
                   help="generate into this directory (absent, empty, or an earlier bench tree: it is replaced)")
    p.add_argument("--keep", action="store_true", help="keep the generated tree (default: delete it)")
    p.add_argument("--jobs", type=int, default=None, help="keyaudit -j/--jobs (default: keyaudit's own, one per CPU)")
    p.add_argument("--repeat", type=int, default=1, help="scan this many times; figures are the median run")
    p.add_argument("--python", default=sys.executable, help="interpreter that runs keyaudit (default: this one)")
    p.add_argument("--startup-runs", type=int, default=5, help="runs of 'keyaudit --version' to time (default 5)")
    p.add_argument("--interval", type=float, default=0.05, help="memory sampling interval in seconds")
    p.add_argument("--checkov", action="store_true", help="also run checkov on the same tree")
    p.add_argument("--checkov-bin", help="checkov executable (default: 'checkov' on PATH)")
    p.add_argument("--checkov-timeout", type=float, default=1200.0, help="seconds before checkov is killed (20 min)")
    p.add_argument("--json-out", type=Path, help="also write every figure to this JSON file")
    args = p.parse_args(argv)
    if args.files < 1 or args.repeat < 1 or args.startup_runs < 0:
        p.error("--files and --repeat must be >= 1, --startup-runs >= 0")
    return args


# -- the tree -----------------------------------------------------------------------------------------

def prepare_tree(args: argparse.Namespace) -> tuple[Path, SynthTree | None, float, bool]:
    """(root, generation record or None, generation seconds, whether to delete the tree afterwards)."""
    if args.tree:
        if not args.tree.is_dir():
            sys.exit(f"bench: {args.tree}: not a directory")
        return args.tree.resolve(), None, 0.0, False
    if args.out:
        out: Path = args.out.resolve()
        if out.exists() and any(out.iterdir()):
            if not (out / MARKER).is_file():
                sys.exit(f"bench: {out} is not empty and was not made by bench.py; refusing to replace it")
            shutil.rmtree(out)
        cleanup = not args.keep
    else:
        out = Path(tempfile.mkdtemp(prefix="keyaudit-bench-")) / "repo"
        cleanup = not args.keep
    started = time.perf_counter()
    synth = generate(out, args.files, seed=args.seed, secret_share=args.secret_share)
    return out, synth, time.perf_counter() - started, cleanup


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
            files += 1
    return files, size


# -- start-up -----------------------------------------------------------------------------------------

def time_command(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return times


def imported_modules(cmd: list[str]) -> list[str]:
    """Modules imported by ``cmd`` (a Python command line) according to ``-X importtime``."""
    out = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, check=False)
    mods = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "imported package" not in line:
            mods.append(line.rsplit("|", 1)[1].strip())
    return mods


def startup(args: argparse.Namespace) -> dict[str, Any]:
    info: dict[str, Any] = {}
    module_cmd = [args.python, "-m", "auditor", "--version"]
    version = subprocess.run(module_cmd, capture_output=True, text=True, check=False)
    info["version"] = version.stdout.strip() or version.stderr.strip()[-200:]
    if args.startup_runs:
        info["python_m_auditor"] = time_command(module_cmd, args.startup_runs)
        script = Path(args.python).with_name("keyaudit")
        if script.is_file():
            info["keyaudit_script"] = time_command([str(script), "--version"], args.startup_runs)
        info["bare_python"] = time_command([args.python, "-c", "pass"], args.startup_runs)
    mods = imported_modules(module_cmd)
    bare = imported_modules([args.python, "-c", "pass"])
    info["modules"] = len(mods)
    info["modules_bare_python"] = len(bare)
    info["modules_auditor"] = sorted(m for m in mods if m == "auditor" or m.startswith("auditor."))
    info["modules_third_party"] = sorted({m.split(".")[0] for m in mods} - {m.split(".")[0] for m in bare}
                                         - set(sys.stdlib_module_names) - {"auditor"})
    return info


# -- keyaudit -----------------------------------------------------------------------------------------

def run_keyaudit(args: argparse.Namespace, root: Path, work: Path) -> tuple[list[Measurement], dict[str, Any]]:
    cmd = [args.python, "-m", "auditor", "scan", str(root), "--format", "json", "--fail-on", "none"]
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    runs = []
    report: dict[str, Any] = {}
    for i in range(args.repeat):
        out, err = work / f"keyaudit-{i}.json", work / f"keyaudit-{i}.err"
        m = run_measured(cmd, out, err, interval=args.interval)
        runs.append(m)
        if m.returncode != 0:
            tail = err.read_text(errors="replace")[-2000:]
            sys.exit(f"bench: keyaudit exited {m.returncode}:\n{tail}")
        if i == 0:
            report = json.loads(out.read_text())
    return runs, report


def median_run(runs: list[Measurement]) -> Measurement:
    return sorted(runs, key=lambda m: m.wall)[len(runs) // 2]


def keyaudit_lines(report: dict[str, Any]) -> set[tuple[str, int]]:
    return {(f["location"]["path"], f["location"]["line"]) for f in report.get("findings", [])}


def located(planted: SynthTree, lines: set[tuple[str, int]]) -> tuple[int, Counter[str], Counter[str]]:
    """How many planted credentials (outside git-ignored files) have a finding on their exact line.

    Returns (total located, located by shape, planted by shape).
    """
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p in planted.planted:
        if p.ignored:
            continue
        total[p.shape] += 1
        if (p.path, p.line) in lines:
            found[p.shape] += 1
    return sum(found.values()), found, total


# -- checkov ------------------------------------------------------------------------------------------

def find_checkov(args: argparse.Namespace) -> str | None:
    if args.checkov_bin:
        path = Path(args.checkov_bin)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which("checkov")


def run_checkov(args: argparse.Namespace, binary: str, root: Path, work: Path) -> dict[str, Any]:
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    # --skip-download: no attempt to fetch policy metadata from the vendor's API (offline here; its retries
    # would otherwise be timed as part of the scan)
    cmd = [binary, "-d", str(root), "--framework", *CHECKOV_FRAMEWORKS, "--quiet", "--compact", "-o", "json",
           "--skip-download"]
    out, err = work / "checkov.json", work / "checkov.err"
    m = run_measured(cmd, out, err, timeout=args.checkov_timeout, interval=max(args.interval, 0.1))
    info: dict[str, Any] = {"version": version, "cmd": cmd, "measurement": m}
    failed: Counter[str] = Counter()
    secret_lines: set[tuple[str, int]] = set()  # (path, line) covered by a failed check of the secrets framework
    parsing_errors = resources = passed = 0
    try:
        data = json.loads(out.read_text() or "null")
    except json.JSONDecodeError:
        data = None
        info["error"] = "output is not JSON: " + err.read_text(errors="replace")[-500:]
    for rep in data if isinstance(data, list) else [data] if isinstance(data, dict) else []:
        results = rep.get("results", {})
        for check in results.get("failed_checks", []):
            failed[f"{rep.get('check_type', '?')}:{check.get('check_id', '?')}"] += 1
            span = check.get("file_line_range") or [0, 0]
            if rep.get("check_type") == "secrets" and len(span) == 2:
                path = str(check.get("file_path", "")).lstrip("/")
                secret_lines.update((path, n) for n in range(int(span[0]), int(span[1]) + 1))
        passed += len(results.get("passed_checks", []))
        summary = rep.get("summary", {})
        parsing_errors += int(summary.get("parsing_errors", 0))
        resources += int(summary.get("resource_count", 0))
    info.update(failed=failed, passed=passed, parsing_errors=parsing_errors, resources=resources,
                secret_lines=secret_lines)
    return info


# -- report -------------------------------------------------------------------------------------------

def fmt_times(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f} ms, {len(times)} runs)"


def describe(m: Measurement, files: int, indent: str = "  ") -> list[str]:
    rate = files / m.wall if m.wall else 0.0
    cpu = f"user {m.user:.2f} + sys {m.sys:.2f} from rusage"
    if m.tree_cpu_sampled > m.cpu_rusage * 1.05:
        cpu = f"sampled over the process tree; rusage of reaped processes only: {m.cpu_rusage:.2f} s"
    return [
        f"{indent}wall {m.wall:.2f} s   CPU {m.cpu:.2f} s ({cpu}; {100 * m.cpu / m.wall if m.wall else 0:.0f}% of "
        f"one core)   {rate:,.0f} files/s",
        f"{indent}peak memory: largest process {mb(m.max_rss_kb)} (ru_maxrss); whole tree, sampled every "
        f"{m.wall / max(m.samples, 1) * 1000:.0f} ms: {mb(m.tree_pss_kb)} PSS sum, {mb(m.tree_rss_kb)} RSS sum; "
        f"up to {m.max_procs} processes",
    ]


def measurement_dict(m: Measurement) -> dict[str, Any]:
    return {"wall_s": round(m.wall, 3), "cpu_s": round(m.cpu, 3), "user_s": round(m.user, 3),
            "sys_s": round(m.sys, 3), "cpu_rusage_s": round(m.cpu_rusage, 3),
            "cpu_sampled_s": round(m.tree_cpu_sampled, 3), "max_rss_kb": m.max_rss_kb, "tree_rss_kb": m.tree_rss_kb,
            "tree_pss_kb": m.tree_pss_kb, "max_procs": m.max_procs, "returncode": m.returncode,
            "timed_out": m.timed_out}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checkov_bin = find_checkov(args) if args.checkov else None
    if args.checkov and not checkov_bin:
        print("bench: checkov not found. Install it outside keyaudit's venv, e.g.\n"
              "  python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov\n"
              "then pass --checkov-bin /tmp/checkov-venv/bin/checkov", file=sys.stderr)
        return 2
    root, synth, gen_seconds, cleanup = prepare_tree(args)
    work = Path(tempfile.mkdtemp(prefix="keyaudit-bench-work-"))
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "python": platform.python_version(),
        "cpus": os.cpu_count(), "machine": f"{platform.system()} {platform.machine()}", "tree": str(root),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    try:
        n_files, n_bytes = tree_size(root)
        lines = [f"keyaudit benchmark  {result['date']}  Python {result['python']}  {result['cpus']} CPUs  "
                 f"{result['machine']}  load average {result['loadavg_1m_at_start']} (other work on the machine "
                 "skews wall times)"]
        if synth:
            kinds = ", ".join(f"{k} {v}" for k, v in synth.by_kind.most_common())
            lines += [f"tree: {root} (generated in {gen_seconds:.1f} s, seed {args.seed}: {synth.files} files, "
                      f"{synth.bytes / 1e6:.1f} MB, {len(synth.planted)} planted fake credentials)",
                      f"  kinds: {kinds}"]
        else:
            lines.append(f"tree: {root} ({n_files} files, {n_bytes / 1e6:.1f} MB)")
        result.update(files=n_files, bytes=n_bytes, generated=bool(synth), seed=args.seed if synth else None)

        st = startup(args)
        result["startup"] = {k: [round(t, 4) for t in v] if k in ("python_m_auditor", "keyaudit_script", "bare_python")
                             else v for k, v in st.items() if k != "modules_auditor"}
        result["startup"]["modules_auditor"] = len(st["modules_auditor"])
        lines.append(f"start-up ({st['version']}):")
        if "python_m_auditor" in st:
            lines.append(f"  python -m auditor --version   {fmt_times(st['python_m_auditor'])}")
            if "keyaudit_script" in st:
                lines.append(f"  keyaudit --version            {fmt_times(st['keyaudit_script'])}")
            lines.append(f"  python -c pass (baseline)     {fmt_times(st['bare_python'])}")
        third = ", ".join(st["modules_third_party"]) or "none"
        lines.append(f"  modules imported by --version: {st['modules']} (bare interpreter {st['modules_bare_python']};"
                     f" auditor.* {len(st['modules_auditor'])}; third-party packages: {third})")

        runs, report = run_keyaudit(args, root, work)
        m = median_run(runs)
        summary = report.get("summary", {})
        findings = report.get("findings", [])
        by_rule = Counter(f["rule_id"] for f in findings)
        by_sev = Counter(f["severity"] for f in findings)
        jobs = "keyaudit default" if args.jobs is None else str(args.jobs)
        lines.append(f"keyaudit scan (--jobs {jobs}; median of {len(runs)} run{'s' if len(runs) > 1 else ''}):")
        lines += describe(m, n_files)
        if len(runs) > 1:
            lines.append("  all runs wall: " + ", ".join(f"{r.wall:.2f} s" for r in runs))
        sev = ", ".join(f"{s} {by_sev[s]}" for s in ("critical", "high", "medium", "low", "info") if by_sev[s])
        lines.append(f"  files seen {summary.get('files_seen')}, scanned {summary.get('files_scanned')}, "
                     f"parsed {summary.get('documents_parsed')}, skipped as ignored {summary.get('skipped_ignored')}; "
                     f"findings {len(findings)} ({sev or 'none'}), suppressed {summary.get('suppressed')}, "
                     f"diagnostics {summary.get('diagnostics')}")
        lines.append("  findings by rule: " + (", ".join(f"{r} {c}" for r, c in sorted(by_rule.items())) or "none"))
        lines.append(f"  rules run: {len(report.get('rules', []))}")
        result["keyaudit"] = measurement_dict(m) | {
            "runs_wall_s": [round(r.wall, 3) for r in runs], "files_per_s": round(n_files / m.wall, 1),
            "findings": len(findings), "by_rule": dict(sorted(by_rule.items())), "by_severity": dict(by_sev),
            "diagnostics": summary.get("diagnostics"), "rules_run": len(report.get("rules", [])),
            "jobs": args.jobs,
        }
        if synth:
            ka_lines = keyaudit_lines(report)
            hit, found, total = located(synth, ka_lines)
            shapes = ", ".join(f"{s} {found[s]}/{t}" for s, t in sorted(total.items()))
            ignored = [p for p in synth.planted if p.ignored]
            wrongly = sum((p.path, p.line) in ka_lines for p in ignored)
            lines.append(f"  planted fake credentials with a finding on their line: {hit}/{sum(total.values())}"
                         + (f" ({shapes})" if shapes else "")
                         + (f"; in git-ignored files: {wrongly}/{len(ignored)} reported (should be 0)"
                            if ignored else ""))
            result["planted"] = {"total": sum(total.values()), "located": hit,
                                 "by_shape": {s: [found[s], t] for s, t in sorted(total.items())},
                                 "in_ignored_files": len(ignored), "in_ignored_files_reported": wrongly}

        if checkov_bin:
            ck = run_checkov(args, checkov_bin, root, work)
            cm: Measurement = ck["measurement"]
            failed: Counter[str] = ck["failed"]
            status = "TIMED OUT (killed)" if cm.timed_out else f"exit {cm.returncode}"
            lines.append(f"checkov {ck['version']} ({status}; frameworks {' '.join(CHECKOV_FRAMEWORKS)}):")
            lines += describe(cm, n_files)
            secrets = sum(c for k, c in failed.items() if k.startswith("secrets:"))
            lines.append(f"  failed checks {sum(failed.values())} (secrets framework {secrets}; passed checks are not "
                         f"listed under --quiet), resources {ck['resources']}, parsing errors {ck['parsing_errors']}")
            top = ", ".join(f"{k} {c}" for k, c in failed.most_common(8))
            lines.append(f"  most frequent: {top or 'none'}")
            if "error" in ck:
                lines.append(f"  {ck['error']}")
            if synth:
                ck_hit, ck_found, ck_total = located(synth, ck["secret_lines"])
                shapes = ", ".join(f"{s} {ck_found[s]}/{t}" for s, t in sorted(ck_total.items()))
                lines.append(f"  planted fake credentials inside a failed secrets check's lines: {ck_hit}/"
                             f"{sum(ck_total.values())}" + (f" ({shapes})" if shapes else ""))
            ratio = {
                "wall": cm.wall / m.wall, "cpu": cm.cpu / m.cpu if m.cpu else 0.0,
                "max_rss": cm.max_rss_kb / m.max_rss_kb if m.max_rss_kb else 0.0,
                "tree_pss": cm.tree_pss_kb / m.tree_pss_kb if m.tree_pss_kb else 0.0,
            }
            lines.append(f"checkov / keyaudit: wall x{ratio['wall']:.1f}, CPU x{ratio['cpu']:.1f}, "
                         f"largest-process RSS x{ratio['max_rss']:.1f}, tree PSS x{ratio['tree_pss']:.1f}")
            result["checkov"] = measurement_dict(cm) | {
                "version": ck["version"], "failed_checks": sum(failed.values()), "failed_secrets": secrets,
                "parsing_errors": ck["parsing_errors"], "files_per_s": round(n_files / cm.wall, 1),
            }
            if synth:
                result["checkov"]["planted_located"] = located(synth, ck["secret_lines"])[0]
            result["ratio_checkov_over_keyaudit"] = {k: round(v, 2) for k, v in ratio.items()}
        print("\n".join(lines))
        if args.json_out:
            args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if synth and cleanup:
            shutil.rmtree(root.parent if not args.out else root, ignore_errors=True)
        elif synth:
            print(f"kept: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
