"""``make bench``: run every benchmark module and print figures and ratios.

Each ``benchmarks/bench_*.py`` defines ``run(quick: bool) -> list[Figure]``. Figures are printed as one
table and written to ``benchmarks/results/latest.json`` (one JSON object per figure), so a change
can be compared with the recorded run. ``--quick`` shrinks sizes for a smoke run; ``--only NAME``
runs one module.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "plugins"))
sys.path.insert(1, str(BENCH_DIR.parent))  # max_gateway/ and sandboxes/
os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR.parent / "plugins"), str(BENCH_DIR.parent)])

from figures import Figure  # noqa: E402


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--only", help="run only benchmarks/bench_<ONLY>.py")
    args = parser.parse_args()

    paths = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        paths = [p for p in paths if p.stem == f"bench_{args.only}"]
    figures: list[tuple[str, Figure]] = []
    for path in paths:
        started = time.perf_counter()
        print(f"== {path.stem} ...", flush=True)
        for figure in _load(path).run(quick=args.quick):
            figures.append((path.stem, figure))
            print("   " + figure.line(), flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)

    print()
    print(f"{'benchmark':<58} {'value':>14} {'unit':<10} {'ratio':>8}")
    for _module, figure in figures:
        ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
        print(f"{figure.name:<58} {figure.value:>14.3f} {figure.unit:<10} {ratio:>8}")
    out = BENCH_DIR / "results" / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "quick": args.quick,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    rows = [{"module": module, **figure.as_dict()} for module, figure in figures]
    if args.only and out.exists():  # a partial run keeps the other modules' recorded figures
        ran = {path.stem for path in paths}
        previous = json.loads(out.read_text()).get("figures", [])
        rows = [row for row in previous if row.get("module") not in ran and row.get("module")] + rows
    out.write_text(json.dumps({"meta": meta, "figures": rows}, indent=2) + "\n")
    print(f"\nwritten to {out.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
