"""The gravity filter's precision on real logs: float32 sections against float64, and ST's float32 form.

For every log of the transfer config's two data sets (ST's phone-in-pocket logs, PAMAP2 wrist logs), as
the board sees them (``board_samples``: the sensor's ODR and counts, LSM6DSOX +-4 g at 26 Hz):

- ``float32`` against ``float64`` (``har_data.gravity``): the filter output's RMS and largest difference
  in mg, and how many int8 model inputs differ at the input quantization of ``--int8`` (default: the
  transfer config's judge, 31.37 mg a code, zero point -1);
- ST's own float32 filter (filter_gravity.c: the 4th-order form in float32, scipy's ``lfilter`` in
  float32 with its step-response start) against the float64 filter: the dynamic acceleration's RMS
  difference per log, beside the log's own RMS motion.

    python benchmarks/bench_gravity_precision.py [--int8 <run>/classifier/model_int8.tflite]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_export.convert import mg_to_int8  # noqa: E402
from har_data import SensorSpec, load_source, write_text  # noqa: E402
from har_data.gravity import A_26HZ, B_26HZ, ZI_26HZ  # noqa: E402
from har_data.windows import board_samples  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SENSOR = SensorSpec("LSM6DSOX", 4, 26)
ST_RATES = {"lsm6dsox": 26, "lis2dux12": 25, "lsm6dsv16x": 30}


def dynamic(x: np.ndarray, dtype: type) -> np.ndarray:
    """ST's 4th-order high-pass in ``dtype`` (filter_gravity.c's form and start), per axis."""
    b, a, zi = (v.astype(dtype) for v in (B_26HZ, A_26HZ, ZI_26HZ))
    x = x.astype(dtype)
    start = np.where(x[0] == 0, dtype(1), x[0])
    return signal.lfilter(b, a, x, axis=0, zi=zi[:, None] * start[None, :])[0]


def compare(recordings: list, scale: float, zero_point: int) -> dict:
    """float32 vs float64 filter outputs and int8 codes, and ST's float32 form, over ``recordings``."""
    total = differ = 0
    sq, worst, st_rows = [], 0.0, []
    for rec in recordings:
        f32 = board_samples(rec, SENSOR.odr_hz, SENSOR, True, "float32")
        f64 = board_samples(rec, SENSOR.odr_hz, SENSOR, True, "float64")
        q32, q64 = (mg_to_int8(v, scale, zero_point) for v in (f32, f64))
        total, differ = total + q32.size, differ + int((q32 != q64).sum())
        sq.append(np.mean((f32.astype(np.float64) - f64) ** 2))
        worst = max(worst, float(np.abs(f32.astype(np.float64) - f64).max()))
        mg = board_samples(rec, SENSOR.odr_hz, SENSOR, False)
        ref = dynamic(mg, np.float64)
        st_rows.append({"log": f"{rec.label} {Path(str(rec.source)).parent.name}",
                        "st_float32_rms_mg": float(np.sqrt(np.mean((dynamic(mg, np.float32) - ref) ** 2))),
                        "motion_rms_mg": float(np.std(ref))})
    return {"logs": len(recordings), "inputs": total, "inputs_differing": differ,
            "float32_vs_float64_rms_mg": float(np.sqrt(np.mean(sq))), "float32_vs_float64_max_mg": worst,
            "st_float32_form": st_rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--int8", default=None, help="an int8 model whose input quantization counts the codes")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "gravity_precision.json"))
    args = ap.parse_args()
    scale, zero_point = 31.372549057006836, -1
    if args.int8:
        from classifier import Int8Classifier

        int8 = Int8Classifier(Path(args.int8).read_bytes())
        scale, zero_point = float(int8.input_scale), int(int8.input_zero_point)
    sets = {"st_target": load_source("st-datalog", DATA / "st_mlc_activity_mobile", odr_hz=ST_RATES),
            "pamap2_source": load_source("mems-studio", DATA / "pamap2_wrist_mems_studio")}
    result = {"sensor": SENSOR.to_dict(), "input_scale": scale, "input_zero_point": zero_point,
              **{name: compare(recs, scale, zero_point) for name, recs in sets.items()}}
    for name in sets:
        r = result[name]
        st = [row["st_float32_rms_mg"] for row in r["st_float32_form"]]
        print(f"{name}: {r['logs']} logs; int8 inputs differing {r['inputs_differing']} of {r['inputs']:,}; "
              f"float32 vs float64 RMS {r['float32_vs_float64_rms_mg']:.4f} mg, "
              f"max {r['float32_vs_float64_max_mg']:.3f} mg; "
              f"ST's float32 form vs float64 RMS {min(st):.2f}-{max(st):.2f} mg")
    write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
