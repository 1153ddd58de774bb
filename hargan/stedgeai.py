"""``hargan stedgeai {analyze,validate,generate}``: ST Edge AI Core on the int8 model.

The figures stedgeai reports (weights, activations, MACC; accuracy against our int8 runtime
for validate) are printed and saved as ``hargan_stedgeai_<action>.json`` under --out.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from har_data.errors import InputError
from har_data.jsonio import to_jsonable, write_json
from har_data.outputs import output_dir
from hargan.config import Range
from hargan.options import option
from hargan.steps.common import (Command, Log, held_out_split, load_int8, load_windows, need_file, optional_file,
                                 out_dir, staged)

SHOWN = ("weights_bytes", "activations_bytes", "arena_bytes", "macc", "macs", "acc", "rmse", "cos", "files",
         "report", "source")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("analyze", "validate", "generate"), help="analyze, validate or generate")
    p.add_argument("--model", required=True, metavar="FILE.tflite", help="int8 model")
    p.add_argument("--target", default="stm32", help="stedgeai --target, e.g. stm32l4 (default: stm32)")
    p.add_argument("--stedgeai", default=None, metavar="PATH", help="the stedgeai executable or install folder")
    p.add_argument("--name", default="network", help="C name of the generated network (default: network)")
    p.add_argument("--compression", default=None, choices=("none", "lossless", "low", "medium", "high"),
                   help="weight compression")
    p.add_argument("--windows", default=None, metavar="FILE.npz",
                   help="validate: real windows (test split) as validation data, compared with our int8 runtime")
    p.add_argument("--mode", default="host", choices=("host", "target", "host-io-only", "target-io-only"),
                   help="validate: where the C model runs (default: host)")
    p.add_argument("--n", type=option("--n", int, Range(1)), default=100, metavar="N",
                   help="validate: at most this many windows (default: 100)")
    p.add_argument("--estimate", action="store_true",
                   help="analyze: when stedgeai is not installed, print the offline estimate instead of failing")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for stedgeai's reports and files")


def _estimate(args: argparse.Namespace, model, out, log: Log) -> dict:
    from firmware_export.stedgeai import analyze_or_estimate

    if args.compression:
        raise InputError("--estimate does not take --compression (the offline estimate is uncompressed)")
    load_int8(model)  # a clear error for a file that is not an int8 model
    result = analyze_or_estimate(model, out, executable=args.stedgeai, target=args.target, name=args.name)
    if "stedgeai_missing" in result:
        result["source"] = "offline estimate (stedgeai not installed)"
        log(f"stedgeai not found; offline estimate for {model}:")
    return result


def _run_tool(args: argparse.Namespace, model, out, windows_path, log: Log) -> dict:
    from firmware_export.stedgeai import CLI_ALTERNATIVE, StEdgeAI, StEdgeAINotFound

    try:
        tool = StEdgeAI(args.stedgeai, target=args.target)
    except StEdgeAINotFound as exc:  # say what to do in this command line's terms
        raise StEdgeAINotFound(exc.detail, CLI_ALTERNATIVE) from None
    common: dict[str, Any] = {"name": args.name}
    if args.compression:
        common["compression"] = args.compression
    if args.action != "validate":
        log(f"stedgeai {args.action}: {model} -> {args.out}")
        action = tool.analyze if args.action == "analyze" else tool.generate
        return action(model, out, **common)
    kwargs: dict[str, Any] = {**common, "mode": args.mode}
    if windows_path is not None:
        _, held = held_out_split(load_windows(windows_path))
        kwargs.update(x=held.x, y=held.y, n=min(len(held), args.n))
    log(f"stedgeai validate ({args.mode}): {model} -> {args.out}")
    return tool.validate(model, out, **kwargs)


def command(args: argparse.Namespace, log: Log) -> None:
    if args.estimate and args.action != "analyze":
        raise InputError(f"--estimate works with 'analyze' only (hargan's offline footprint estimate); "
                         f"'{args.action}' needs ST Edge AI Core")
    out = out_dir(args.out)
    model = need_file(args.model, "--model")
    windows_path = optional_file(args.windows, "--windows")
    with output_dir(out, [model, windows_path]) as stage:
        if args.estimate:
            result = _estimate(args, model, stage, staged(log, stage, out))
        else:
            result = _run_tool(args, model, stage, windows_path, staged(log, stage, out))
        # Paths in the result name the files where they end up, not the staging folder.
        result = json.loads(json.dumps(to_jsonable(result)).replace(json.dumps(str(stage))[1:-1],
                                                                    json.dumps(str(out))[1:-1]))
        write_json(stage / f"hargan_stedgeai_{args.action}.json", result)
    for key in SHOWN:
        if key in result:
            log(f"  {key}: {result[key]}")
    log(f"wrote {out}/hargan_stedgeai_{args.action}.json")


COMMAND = Command(
    "stedgeai", "run ST Edge AI Core (stedgeai) analyze / validate / generate on the int8 model",
    "hargan stedgeai analyze --model model_int8.tflite --out stedgeai\n"
    "hargan stedgeai validate --model model_int8.tflite --windows windows.npz --out stedgeai\n"
    "hargan stedgeai generate --model model_int8.tflite --target stm32l4 --out stedgeai",
    add_arguments, command, seed=False,
    description="Wrap the ST Edge AI Core command line (stedgeai, from X-CUBE-AI / ST Edge AI Core).\n"
                "It is found on PATH, in $STEDGEAI_CORE_DIR, or given with --stedgeai.")
