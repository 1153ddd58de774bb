"""Benchmark: load a PAMAP2-sized .dat file (about 2.8 M rows x 54 columns, ~1 GB).

    python benchmarks/bench_pamap2_loader.py [--rows 2800000] [--repeat 3]

Writes a synthetic file in the exact PAMAP2 Protocol format (single spaces, NaN heart rate
between readings, short NaN drop-outs in the IMUs, activity runs with transients) to a
temporary folder, times ``har_data.load_pamap2`` on it, prints a table and writes
benchmarks/results/pamap2_loader.json. Target: under 15 s on 2 cores. The loader is single-threaded
(pandas' C parser), so on a busy shared machine the CPU time per load is the better estimate of an
idle machine's wall time; both are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from har_data import load_pamap2, write_text  # noqa: E402

# activity plan: (id, seconds) cycled; 0 = transient between activities
PLAN = [(1, 180), (0, 20), (2, 180), (0, 20), (3, 180), (0, 20), (17, 240), (0, 20), (4, 220), (0, 20), (12, 100),
        (0, 20), (13, 90), (0, 20), (16, 220), (0, 20), (6, 160), (0, 20), (7, 200), (0, 20), (5, 100), (0, 20),
        (24, 60), (0, 20)]


def write_pamap2_like(path: Path, n_rows: int, seed: int = 0, chunk: int = 100_000) -> float:
    """Write ``n_rows`` lines in PAMAP2 .dat format; returns seconds taken."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    pool = 4096

    def imu_block(n: int, mean: tuple[float, float, float]) -> list[str]:
        temp = rng.normal(32.0, 0.5, n)
        a16 = rng.normal(0, 2.0, (n, 3)) + mean
        a6 = a16 + rng.normal(0, 0.05, (n, 3))
        gyro = rng.normal(0, 0.5, (n, 3))
        mag = rng.normal(0, 30.0, (n, 3))
        quat = rng.normal(0, 0.5, (n, 4))
        vals = np.column_stack([temp, a16, a6, gyro, mag, quat])
        return [" ".join(f"{v:.6g}" for v in row) for row in vals]

    hand = imu_block(pool, (9.0, 3.0, 1.0))
    chest = imu_block(pool, (0.5, 9.7, 1.0))
    ankle = imu_block(pool, (9.6, -1.6, -0.1))
    nan17 = " ".join(["NaN"] * 17)
    ids = np.concatenate([np.full(sec * 100, a) for a, sec in PLAN])
    with open(path, "w", encoding="ascii") as fh:
        for start in range(0, n_rows, chunk):
            n = min(chunk, n_rows - start)
            idx = np.arange(start, start + n)
            acts = ids[idx % len(ids)]
            hr = np.where(idx % 9 == 0, "104", "NaN")
            ph, pc, pa = (rng.integers(0, pool, n) for _ in range(3))
            drop_hand = rng.random(n) < 0.01   # wireless drop-outs: short NaN runs
            drop_ankle = rng.random(n) < 0.005
            lines = []
            for k in range(n):
                i = start + k
                lines.append(f"{5.0 + i * 0.01:.2f} {acts[k]} {hr[k]} "
                             f"{nan17 if drop_hand[k] else hand[ph[k]]} {chest[pc[k]]} "
                             f"{nan17 if drop_ankle[k] else ankle[pa[k]]}\n")
            fh.write("".join(lines))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_800_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pamap2_loader.json"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_pamap2_") as tmp:
        f = Path(tmp) / "subject101.dat"
        write_s = write_pamap2_like(f, args.rows, args.seed)
        size_mb = f.stat().st_size / 1e6
        times, cpu, recs = [], [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            recs = load_pamap2(f)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    samples = sum(len(r) for r in recs)
    result = {
        "benchmark": "load_pamap2 on a PAMAP2-sized .dat",
        "command": "python benchmarks/bench_pamap2_loader.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": args.rows, "columns": 54, "file_mb": round(size_mb, 1), "write_seconds": round(write_s, 2),
        "load_seconds": [round(t, 3) for t in times], "load_seconds_best": round(min(times), 3),
        "load_seconds_median": round(float(np.median(times)), 3),
        "load_cpu_seconds": [round(t, 3) for t in cpu], "load_cpu_seconds_best": round(min(cpu), 3),
        "rows_per_second_best": int(args.rows / min(times)), "recordings": len(recs), "samples_kept": samples,
        "target_seconds": 15.0, "meets_target": bool(min(times) < 15.0),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
        "numpy": np.__version__, "pandas": __import__("pandas").__version__,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows = [("rows x columns", f"{args.rows:,} x 54"), ("file size", f"{size_mb:,.0f} MB"),
            ("write (generator)", f"{write_s:.1f} s"), ("load runs", ", ".join(f"{t:.2f} s" for t in times)),
            ("load best / median", f"{min(times):.2f} s / {np.median(times):.2f} s"),
            ("CPU time per load (best)", f"{min(cpu):.2f} s (wall minus waiting for a shared core)"),
            ("rows per second (best)", f"{result['rows_per_second_best']:,}"),
            ("recordings / samples kept", f"{len(recs)} / {samples:,}"),
            ("usable CPUs, load avg", f"{result['cpus_usable']}, {result['load_average_after']}"),
            ("target < 15 s", "met" if result["meets_target"] else "NOT met")]
    w = max(len(k) for k, _ in rows)
    print("load_pamap2 benchmark")
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
