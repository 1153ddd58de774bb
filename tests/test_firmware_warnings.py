"""The exported C is warning-free where firmware engineers build it: C99/C11/C17 and C++11/17 under
a strict warning set with -Werror, on the host and with arm-none-eabi-gcc for Cortex-M0+, M4 (hard
and soft float), M7 and M33 (the SIMD path included), with and without the gravity filter.
Compile only (-c): one exported tiny model, every .c of the folder plus the self-test's main.c."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from firmware_export import export_firmware
from firmware_support import CLASSES, sample_windows, tiny_int8
from har_data import SensorSpec

WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wsign-conversion", "-Wshadow", "-Wcast-align",
            "-Wfloat-equal", "-Werror"]
C_ONLY = ["-Wstrict-prototypes", "-Wmissing-prototypes"]
STANDARDS = {"c99": ["-std=c99", *C_ONLY], "c11": ["-std=c11", *C_ONLY], "c17": ["-std=c17", *C_ONLY],
             "c++11": ["-x", "c++", "-std=c++11"], "c++17": ["-x", "c++", "-std=c++17"]}
ARM = "arm-none-eabi-gcc"
TARGETS = {
    "host": ["gcc"],
    "m0plus": [ARM, "-mcpu=cortex-m0plus", "-mthumb"],
    "m4_hard": [ARM, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "m4_soft": [ARM, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"],
    "m7": [ARM, "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "m33": [ARM, "-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    int8 = tiny_int8()
    x, y = sample_windows(8)
    out = {}
    for gravity in (True, False):
        d = tmp_path_factory.mktemp("warn") / "firmware"
        export_firmware(int8, CLASSES, SensorSpec("LSM6DSL", 4, 26), d, test_windows=x, test_labels=y,
                        n_test_vectors=4, gravity=gravity, stride=12)
        out[gravity] = d
    return out


def _compile(cmd: list[str], cwd) -> tuple[str, str]:
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    return (" ".join(cmd[:6]), res.stderr) if res.returncode else ("", "")


@pytest.mark.parametrize("gravity", [True, False], ids=["gravity", "no_gravity"])
@pytest.mark.parametrize("target", list(TARGETS))
def test_exported_c_is_warning_free(exports, target, gravity, tmp_path):
    compiler = TARGETS[target][0]
    if shutil.which(compiler) is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the warning matrix must run in CI: {compiler} not found")
        pytest.skip(f"{compiler} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    d = exports[gravity]
    # Without the filter only the API, the test vectors and main differ: the model compiles once (with it).
    files = sorted(p for p in d.glob("*.c") if gravity or not p.name.endswith(("_model.c", "_data.c", "_labels.c")))
    sources = [str(p) for p in files] + [str(d / "selftest" / "main.c")]
    cmds = [[*TARGETS[target], *std, *WARNINGS, "-O2", "-I", str(d), "-c", *sources] for std in STANDARDS.values()]
    dirs = [tmp_path / name for name in STANDARDS]
    for w in dirs:
        w.mkdir()
    with ThreadPoolExecutor(2) as pool:
        failures = [f for f in pool.map(_compile, cmds, dirs) if f[0]]
    assert not failures, "\n".join(f"{cmd}:\n{err[:1500]}" for cmd, err in failures)


@pytest.mark.parametrize("std", ["c11", "c++11"])
def test_readme_snippets_compile_warning_free(exports, std, tmp_path):
    """Every ```c block of the generated README, as a firmware engineer pastes it (const-correct calls)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    d = exports[True]
    blocks = re.findall(r"```c\n(.*?)```", (d / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    for i, block in enumerate(blocks):
        src = tmp_path / f"snippet{i}.c"
        src.write_text(textwrap.dedent(block))
        res = subprocess.run(["gcc", *STANDARDS[std], *WARNINGS, "-O2", "-I", str(d), "-c", str(src), "-o",
                              str(tmp_path / f"snippet{i}.o")], capture_output=True, text=True)
        assert res.returncode == 0, f"README block {i}:\n{block}\n{res.stderr[:2000]}"
