"""Parsing what ST Edge AI Core writes: the text reports and ``<name>_c_info.json``.

``<name>_analyze_report.txt`` (and validate/generate): "weights (ro) : 2,704 B (2.64 KiB) ...",
"activations (rw) : 1,780 B ...", "macc : 12,960", and for validate the "Evaluation report
(summary)" table (acc, rmse, mae, l2r, ..., cos). ``<name>_c_info.json`` (json_schema_version
2.0): memory_footprint.{weights, activations, io}, graphs[0].nodes[*].macc.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from collections.abc import Mapping


class StEdgeAIError(RuntimeError):
    """stedgeai ran but failed (non-zero exit status or no report)."""


_NUM = r"(-?[\d,]+)"


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _float(text: str) -> float | None:
    text = text.strip()
    if text.endswith("%"):
        try:
            return float(text[:-1]) / 100.0
        except ValueError:
            return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_evaluation_table(text: str) -> dict[str, dict[str, Any]]:
    """Rows of the "Evaluation report (summary)" table: ``{row name: {acc, rmse, mae, l2r, mean, std, nse,
    cos, tensor}}``; ``acc`` as a fraction (98.29% -> 0.9829), None where the tool prints n.a."""
    lines = text.splitlines()
    rows: dict[str, dict[str, Any]] = {}
    for start, line in enumerate(lines):
        if "Evaluation report (summary)" not in line:
            continue
        header = None
        for line2 in lines[start + 1:]:
            s = line2.strip()
            if not s or set(s) <= set("-= "):
                if header is not None and rows and not s:
                    break
                continue
            if header is None:
                if s.lower().startswith("output"):
                    header = [h.lower() for h in s.split()][1:]
                continue
            m = re.match(r"^(.+?#\d+)\s+(.*)$", s)
            if not m:
                break
            fields = m.group(2).split()
            cols = [h for h in header if h != "tensor"]
            values: dict[str, Any] = {}
            for col, val in zip(cols, fields):
                values[col] = _float(val)
            values["tensor"] = " ".join(fields[len(cols):]) or None
            rows[m.group(1).strip()] = values
        break
    return rows


def _main_row(rows: Mapping[str, Mapping[str, Any]]) -> tuple[str | None, Mapping[str, Any]]:
    """The C model vs. the reference outputs (``... c-model #1``), else X-cross (C model vs. original)."""
    for pref in ("c-model", "x-cross"):
        for name, vals in rows.items():
            if pref in name.lower():
                return name, vals
    for name, vals in rows.items():
        return name, vals
    return None, {}


def parse_report(text: str) -> dict[str, Any]:
    """Plain figures from a ``<name>_{analyze,validate,generate}_report.txt``.

    Keys (present when the report has them): tool, tool_version, weights_bytes, activations_bytes,
    ram_total_bytes, macc, params, model_fmt, target, c_name, flash_total_bytes, ram_total_rt_bytes
    (from the "Summary - target" table), evaluation (all rows) and acc, rmse, mae, l2r, cos.
    """
    out: dict[str, Any] = {}
    lines = text.splitlines()
    if lines:
        m = re.match(r"^\s*(ST Edge AI Core|Neural Network Tools for STM32\S*)\s+v?(\S+)", lines[0])
        if m:
            out["tool"], out["tool_version"] = m.group(1), m.group(2)
    patterns = {
        "weights_bytes": r"^\s*weights \(ro\)\s*:\s*" + _NUM,
        "activations_bytes": r"^\s*activations \(rw\)\s*:\s*" + _NUM,
        "ram_total_bytes": r"^\s*ram \(total\)\s*:\s*" + _NUM,
        "macc": r"^\s*macc\s*:\s*" + _NUM,
        "params": r"^\s*params #\s*:\s*" + _NUM,
    }
    for key, pat in patterns.items():
        m = re.search(pat, text, re.MULTILINE)
        if m:
            out[key] = _int(m.group(1))
    for key, label in (("model_fmt", "model_fmt"), ("target", "target/series"), ("c_name", "c_name"),
                       ("compression", "compression"), ("model_file", "model file")):
        m = re.search(r"^\s*" + re.escape(label) + r"\s*:\s*(.*?)\s*$", text, re.MULTILINE)
        if m and m.group(1):
            out[key] = m.group(1)
    m = re.search(r"Summary - .*?target.*?\n(.*?)\n\s*\*", text, re.DOTALL)
    if m:
        tot = re.search(r"^\s*TOTAL\s+" + _NUM + r"\s+" + _NUM, m.group(1), re.MULTILINE)
        rt = re.search(r"^\s*RT total\s+" + _NUM + r"\s+\S+%\s+" + _NUM, m.group(1), re.MULTILINE)
        if tot:
            out["flash_total_bytes"], out["ram_total_rt_bytes"] = _int(tot.group(1)), _int(tot.group(2))
        if rt:
            out["runtime_flash_bytes"], out["runtime_ram_bytes"] = _int(rt.group(1)), _int(rt.group(2))
    rows = parse_evaluation_table(text)
    if rows:
        out["evaluation"] = rows
        name, main = _main_row(rows)
        out["evaluation_row"] = name
        for k in ("acc", "rmse", "mae", "l2r", "cos"):
            out[k] = main.get(k)
    return out


def parse_c_info(path_or_dict: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """Plain figures from ``<name>_c_info.json`` (json_schema_version 2.0): weights_bytes,
    activations_bytes, io_bytes, macc (sum over graphs[0].nodes), c_name, series, tool_version."""
    if isinstance(path_or_dict, Mapping):
        d, where = dict(path_or_dict), None
    else:
        where = Path(path_or_dict)
        try:
            d = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StEdgeAIError(f"{where}: cannot read c_info JSON: {exc}") from None
    ver = str(d.get("json_schema_version", ""))
    if not ver.startswith("2."):
        raise StEdgeAIError(f"{where or 'c_info'}: json_schema_version {ver!r}, expected 2.x")
    mf = d.get("memory_footprint", {}) or {}
    out: dict[str, Any] = {}
    for key, src in (("weights_bytes", "weights"), ("activations_bytes", "activations"),
                     ("kernel_flash_bytes", "kernel_flash"), ("kernel_ram_bytes", "kernel_ram")):
        if isinstance(mf.get(src), (int, float)):
            out[key] = int(mf[src])
    io = mf.get("io")
    if isinstance(io, (list, tuple)):
        out["io_bytes"] = [int(v) for v in io]
    if mf.get("series"):
        out["series"] = mf["series"]
    graphs = d.get("graphs") or []
    if graphs:
        out["macc"] = int(sum(int(n.get("macc", 0) or 0) for n in graphs[0].get("nodes", [])))
    envd = d.get("environment", {}) or {}
    if isinstance(envd.get("generated_model"), Mapping):
        out["c_name"] = envd["generated_model"].get("name")
    tools = envd.get("tools") or []
    if tools and isinstance(tools[0], Mapping):
        v = tools[0].get("version")
        if isinstance(v, Mapping):
            v = ".".join(str(v.get(k, 0)) for k in ("major", "minor", "micro"))
        out["tool_version"] = v
    return out
