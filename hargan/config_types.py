"""Config files to plain data (TOML or JSON, :func:`read_data_file`), and dataclasses from plain data,
with errors that name the file, the line (best effort: the line where the key appears) and the dotted key.

``build(cls, data, "", Locator(path, text, fmt))`` checks every key against the dataclass
``cls`` (nested dataclasses are tables, ints are accepted as floats) and returns an instance.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from har_data.errors import InputError


class Locator:
    """Finds the line of a dotted key in the raw text (best effort, for error messages)."""

    def __init__(self, path: Path | None, text: str, fmt: str):
        self.path, self.lines, self.fmt = path, text.splitlines(), fmt

    def line(self, dotted: str) -> int | None:
        keys = dotted.split(".")
        last = re.escape(keys[-1])
        if self.fmt == "json":
            pat = re.compile(r'"' + last + r'"\s*:')
            for i, ln in enumerate(self.lines, 1):
                if pat.search(ln):
                    return i
            return None
        # TOML: prefer the key inside its own [section] (or as a header itself), else anywhere.
        section = ".".join(keys[:-1])
        key_pat = re.compile(r'^\s*["\']?' + last + r'["\']?\s*=')
        header_pat = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
        head_of_key = re.compile(r"^\s*\[+\s*" + re.escape(dotted) + r"\s*\]+")
        current = ""
        fallback = None
        for i, ln in enumerate(self.lines, 1):
            if head_of_key.match(ln):
                return i
            m = header_pat.match(ln)
            if m:
                current = m.group(1).replace('"', "").replace(" ", "")
                continue
            if key_pat.match(ln) or re.search(r"[{,]\s*" + last + r"\s*=", ln) or re.match(
                    r"^\s*" + re.escape(dotted) + r"\s*=", ln):
                if current == section:
                    return i
                fallback = fallback or i
        return fallback

    def error(self, message: str, dotted: str | None = None) -> InputError:
        return InputError(message, self.path, self.line(dotted) if dotted else None)


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any value"
    origin = typing.get_origin(tp)
    if origin in (list,):
        (arg,) = typing.get_args(tp)
        return f"a list of {_type_name(arg)}s"
    if origin in (dict,):
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, dotted: str, loc: Locator) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (ints accepted as floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], dotted, loc)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise loc.error(f"{dotted} must be a table ([{dotted}]), got {value!r}", dotted)
        return build(tp, value, dotted, loc)
    if tp is Any:
        return value
    if origin is list:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise loc.error(f"{dotted} must be {_type_name(tp)}, got {value!r}", dotted)
        return [_convert(v, arg, f"{dotted}[{i}]", loc) for i, v in enumerate(value)]
    if origin is dict:
        _, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise loc.error(f"{dotted} must be a table, got {value!r}", dotted)
        return {str(k): _convert(v, vt, f"{dotted}.{k}", loc) for k, v in value.items()}
    ok = False
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            value = float(value)
    elif tp is str:
        ok = isinstance(value, str)
    if not ok:
        raise loc.error(f"{dotted.split('[')[0]} must be {_type_name(tp)}, got {value!r}", dotted.split("[")[0])
    return value


def build(cls: type, data: dict, prefix: str, loc: Locator):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in hints:
            where = f"[{prefix}]" if prefix else "the top level"
            raise loc.error(f"unknown key {dotted!r}; valid keys in {where}: {', '.join(names)}", dotted)
        kwargs[key] = _convert(value, hints[key], dotted, loc)
    return cls(**kwargs)


def read_data_file(path: Path) -> tuple[Any, str, str]:
    """``(data, text, fmt)`` of a TOML (``.toml``) or JSON (``.json``, or anything starting with ``{``)
    file; an unreadable or malformed one is an InputError naming the file and line."""
    if not path.exists():
        raise InputError("no such file", path)
    if not path.is_file():
        raise InputError("not a file", path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason})", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    is_json = path.suffix.lower() == ".json" or (path.suffix.lower() != ".toml" and text.lstrip().startswith("{"))
    if is_json:
        try:
            return json.loads(text), text, "json"
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", path, exc.lineno) from None
    try:
        return tomllib.loads(text), text, "toml"
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        if m:
            msg += f" (column {m.group(2)})"
        elif "end of document" in msg:
            line = max(1, len(text.splitlines()))
        raise InputError(f"malformed TOML: {msg}", path, line) from None
