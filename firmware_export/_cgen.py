"""Small C code generation helpers: identifiers, literals, integer tables, writing files.

The files themselves come from templates (:mod:`firmware_export.render`).

Every generated file compiles as C11 and as C++11 (``gcc -std=c11``, ``g++ -std=c++11``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from collections.abc import Iterable

import numpy as np

from har_data import InputError
from har_data.atomic import write_text

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

C_KEYWORDS = frozenset([
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
    "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
    "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local", "alignas", "alignof", "bool", "static_assert", "thread_local", "noreturn"
])
# The headers are included from C++ (TFLite-Micro projects are C++), so C++ keywords are out too.
CXX_KEYWORDS = frozenset([
    "and", "and_eq", "asm", "bitand", "bitor", "catch", "char16_t", "char32_t", "class", "compl", "constexpr",
    "const_cast", "decltype", "delete", "dynamic_cast", "explicit", "export", "false", "friend", "mutable",
    "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected",
    "public", "reinterpret_cast", "static_cast", "template", "this", "throw", "true", "try", "typeid", "typename",
    "using", "virtual", "wchar_t", "xor", "xor_eq"
])

def check_c_name(name: str) -> str:
    """Return ``name`` when it is a valid C identifier usable as a symbol prefix, else raise InputError."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise InputError(f"name {name!r} is not a valid C identifier (letters, digits and '_', not starting "
                         "with a digit)")
    if name in C_KEYWORDS or name in CXX_KEYWORDS:
        raise InputError(f"name {name!r} is a C/C++ keyword; choose another name, e.g. 'har_model'")
    if name.startswith("__") or (name.startswith("_") and len(name) > 1 and name[1].isupper()):
        raise InputError(f"name {name!r} is reserved for the compiler (leading '__' or '_' + capital)")
    return name


def macro_prefix(name: str) -> str:
    """``har_model`` -> ``HAR_MODEL`` (prefix of the generated macros)."""
    return check_c_name(name).upper()


def enum_suffix(label: str) -> str:
    """A class name -> an upper-case identifier fragment (``"walking up"`` -> ``WALKING_UP``)."""
    s = re.sub(r"[^A-Za-z0-9]+", "_", str(label)).strip("_").upper()
    return s or "CLASS"


def c_string(text: str) -> str:
    """A C string literal for ``text`` (UTF-8, escaped so it compiles under -Wall -Werror)."""
    out = ['"']
    for b in str(text).encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F and ch != "?":  # '?' escaped: no trigraphs
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    out.append('"')
    return "".join(out)


def c_float(value: float) -> str:
    """A float literal equal to ``np.float32(value)`` (9 significant digits round-trip float32)."""
    v = float(np.float32(value))
    if not math.isfinite(v):
        raise InputError(f"cannot write the non-finite value {value!r} into a C header")
    text = f"{v:.9g}"
    if not any(c in text for c in ".en"):
        text += ".0"
    return text + "f"


def int_table(values: Iterable[int] | np.ndarray, per_line: int = 16, indent: str = "  ") -> str:
    """Comma-separated integers, ``per_line`` a line (for small int8/int16 tables)."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values).reshape(-1)
    tokens = [str(int(v)) for v in arr]
    lines = [indent + ", ".join(tokens[i:i + per_line]) + "," for i in range(0, len(tokens), per_line)]
    return "\n".join(lines)


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write each ``filename -> text`` atomically into ``out_dir`` (``filename`` may name a subfolder, e.g.
    ``selftest/main.c``); return the paths in order."""
    out_dir = Path(out_dir)
    paths = []
    for fname, text in files.items():
        (out_dir / fname).parent.mkdir(parents=True, exist_ok=True)
        paths.append(write_text(out_dir / fname, text))
    return paths
