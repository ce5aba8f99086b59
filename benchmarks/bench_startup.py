"""Startup: ``backupbridge --help`` against ``python -c "import httpx"``, and ``report --sandbox``'s CPU.

Each command runs as a fresh process, alternating, ``--rounds`` times; the figures are medians of the
child's CPU time (user + system, from ``wait4``), which the other load on a shared machine disturbs much
less than wall time. The children may write and read their bytecode caches (in a directory of their own,
``PYTHONPYCACHEPREFIX``), as an installed package's are, even where ``PYTHONDONTWRITEBYTECODE`` is set
(without caches every start compiles backupbridge's sources: 0.1-0.3 s); a first round, not counted, fills
them. ``--imports`` also lists the packages ``backupbridge --help`` spends its import time in
(``python -X importtime``), largest first.
Run: python benchmarks/bench_startup.py [--rounds 7] [--imports]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HELP_TARGET = 1.2
REPORT_TARGET = 0.7


def _cli() -> list[str]:
    found = shutil.which("backupbridge")
    return [found] if found else [sys.executable, "-m", "backupbridge.cli"]


COMMANDS: dict[str, list[str]] = {
    "python -c 'import httpx'": [sys.executable, "-c", "import httpx"],
    "python -c 'import backupbridge'": [sys.executable, "-c", "import backupbridge"],
    "backupbridge --help": [*_cli(), "--help"],
    "backupbridge report --sandbox": [*_cli(), "report", "--sandbox", "--format", "json"],
}


_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "backupbridge-bench-pycache")


def measure(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``command`` as a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # report exits 1 when the sandbox shows problems: still a full run
        raise SystemExit(f"{command} failed with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def imports() -> None:
    """Where ``backupbridge --help`` spends its import time, by top-level package."""
    run = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; sys.argv = ['backupbridge', '--help']\nfrom backupbridge.cli import run\nrun()",
        ],
        capture_output=True,
        text=True,
        env=_ENV,
    )
    own: dict[str, int] = defaultdict(int)
    for line in run.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s+)(\S+)", line)
        if match:
            name = match.group(3)
            top = name.split(".")[0]
            key = ".".join(name.split(".")[:2]) if top == "backupbridge" else top
            own[key] += int(match.group(1))
    total = sum(own.values())
    print(f"import time of backupbridge --help: {total / 1000:.0f} ms (self times summed), largest:")
    for name, micros in sorted(own.items(), key=lambda item: -item[1])[:15]:
        print(f"  {name:<28} {micros / 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--imports", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        measure(command)  # fills the bytecode caches
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            results[name].append(measure(command))
    print(f"rounds: {args.rounds}, alternating; medians of each child's CPU (user + system) and wall")
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        print(f"{name:<34} CPU {cpu[name]:6.3f} s   wall {wall:6.3f} s")
    base = cpu["python -c 'import httpx'"]
    helped = cpu["backupbridge --help"] / base
    imported = cpu["python -c 'import backupbridge'"] / base
    report = cpu["backupbridge report --sandbox"]
    print(f"backupbridge --help / import httpx : {helped:5.2f}x (target <= {HELP_TARGET}x)")
    print(f"import backupbridge / import httpx : {imported:5.2f}x")
    print(f"report --sandbox CPU               : {report:6.3f} s (target <= {REPORT_TARGET} s)")
    if args.imports:
        imports()


if __name__ == "__main__":
    main()
