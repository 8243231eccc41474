"""Run a command and measure it: wall time, CPU time and memory of the whole process tree.

What is measured, exactly:

- ``wall``: from just before ``Popen`` to the return of ``os.wait4`` on the command.
- ``user``/``sys``: the rusage that ``wait4`` returns for the command, which on Linux includes every
  descendant the command itself waited for (worker pools are joined, so their CPU is counted).
- ``max_rss_kb``: ``ru_maxrss`` from the same rusage: the peak RSS of the *largest single process* of the tree
  (Linux folds reaped children in as a maximum, not a sum).
- ``tree_rss_kb`` / ``tree_pss_kb``: the peak over samples (every ``interval`` seconds) of the *sum* over the
  live process tree of RSS (``/proc/PID/statm``; shared pages counted once per process, so an upper bound) and
  of PSS (``/proc/PID/smaps_rollup``; shared pages split between sharers, the better "total memory" figure).
  Being sampled, these can miss a peak shorter than the interval.
- ``tree_cpu_sampled``: the sum over every process seen in the tree of its last sampled user+sys time
  (``/proc/PID/stat``). A lower bound, but it also covers processes the command never reaps (left as zombies
  or re-parented), which the rusage figure misses; ``cpu`` reports the larger of the two.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Measurement:
    cmd: list[str]
    returncode: int
    wall: float
    user: float
    sys: float
    max_rss_kb: int  # largest single process (ru_maxrss)
    tree_rss_kb: int  # peak sampled sum of RSS over the live tree
    tree_pss_kb: int  # peak sampled sum of PSS over the live tree
    max_procs: int  # most processes seen alive at once in the tree
    samples: int
    tree_cpu_sampled: float = 0.0
    timed_out: bool = False

    @property
    def cpu_rusage(self) -> float:
        return self.user + self.sys

    @property
    def cpu(self) -> float:
        return max(self.cpu_rusage, self.tree_cpu_sampled)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return kids
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2:].split()
        if len(rest) > 1:
            kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def tree_pids(root: int) -> list[int]:
    kids = _children()
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(kids.get(pid, ()))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime of the process itself
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.stopped = threading.Event()
        self.rss = self.pss = self.procs = self.samples = 0
        self.ticks: dict[int, int] = {}

    def run(self) -> None:
        while not self.stopped.is_set():
            pids = tree_pids(self.pid)
            for p in pids:
                self.ticks[p] = max(self.ticks.get(p, 0), _cpu_ticks(p))
            self.rss = max(self.rss, sum(_rss_kb(p) for p in pids))
            self.pss = max(self.pss, sum(_pss_kb(p) for p in pids))
            self.procs = max(self.procs, len(pids))
            self.samples += 1
            self.stopped.wait(self.interval)


def run_measured(cmd: Sequence[str], stdout: Path, stderr: Path, *, timeout: float | None = None,
                 interval: float = 0.05, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None) -> Measurement:
    """Run ``cmd`` to completion (or until ``timeout``: then its process group is killed) and measure it."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=dict(env) if env is not None else None, start_new_session=True)
    sampler = _Sampler(proc.pid, interval)
    sampler.start()
    timed_out = threading.Event()

    def _expire() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this call started (start_new_session)

    timer = threading.Timer(timeout, _expire) if timeout else None
    if timer:
        timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if timer:
        timer.cancel()
    sampler.stopped.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    return Measurement(
        cmd=list(cmd), returncode=proc.returncode, wall=wall, user=usage.ru_utime, sys=usage.ru_stime,
        max_rss_kb=usage.ru_maxrss, tree_rss_kb=sampler.rss, tree_pss_kb=sampler.pss, max_procs=sampler.procs,
        samples=sampler.samples, tree_cpu_sampled=sum(sampler.ticks.values()) / _TICKS,
        timed_out=timed_out.is_set(),
    )


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f} MB"
