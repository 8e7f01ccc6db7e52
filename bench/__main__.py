"""``python -m bench`` (``make bench``): run every benchmark and print its table.

Options: ``--quick`` (fewer repeats), ``--only NAME``, ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import numpy as np

from bench import distributed, engine, networks, recurrent, seeds, unit_graph, workloads

BENCHMARKS = {
    "engine": engine,
    "networks": networks,
    "workloads": workloads,
    "unit_graph": unit_graph,
    "recurrent": recurrent,
    "seeds": seeds,
    "distributed": distributed,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    results = {}
    print(f"machine: {machine()}\n")
    for name in args.only or BENCHMARKS:
        module = BENCHMARKS[name]
        rows = module.run(quick=args.quick)
        results[name] = rows
        if not args.json:
            print(f"## {name}\n\n{(module.__doc__ or '').strip()}\n\n{module.table(rows)}")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
