"""Produce the reliability figures of docs/reliability.md: a soak over all four simulators at a fault rate.

    python tools/reliability_figures.py --requests 100000          # the large run, by hand (minutes)
    python tools/reliability_figures.py --requests 2000 --print     # a quick look

Runs rounds of the soak (backupbridge.sandbox.soak) until at least ``--requests`` requests were made, then
prints the figures as JSON and (unless --print) rewrites the figures block of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from backupbridge.sandbox.soak import SoakResult, run_soak

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=0.10)
    parser.add_argument("--accounts", type=int, default=3, help="accounts per vendor in each round")
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--print", action="store_true", help="print only; leave docs/reliability.md alone")
    args = parser.parse_args(argv)
    total = SoakResult()
    started = time.perf_counter()
    round_number = 0
    while total.requests < args.requests:
        part = run_soak(accounts_per_vendor=args.accounts, size=args.size, rate=args.rate, rounds=1, seed=round_number)
        total.add(part)
        round_number += 1
    figures = {
        **total.summary(),
        "rounds": round_number,
        "fault_rate": args.rate,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures, indent=2))
    if not args.print:
        block = "```json\n" + json.dumps(figures, indent=2) + "\n```"
        text = DOC.read_text()
        text = re.sub(
            r"<!-- figures -->.*<!-- /figures -->", f"<!-- figures -->\n{block}\n<!-- /figures -->", text, flags=re.S
        )
        DOC.write_text(text)
    return 0 if total.clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
