"""Run an export's self-test on the host and on an emulated Cortex-M4 (QEMU mps2-an386, semihosting).

The self-test (:func:`selftest_main`) feeds every exported test vector's raw counts through
``<name>_classify`` and the test stream through ``<name>_push``, compares the int8 scores byte for
byte with the reference runtime's, prints one line per check and returns the number of mismatches:
on the board that number is QEMU's exit code (semihosting SYS_EXIT_EXTENDED), so the exit code is
the verdict. With ``measure`` it also reports SysTick ticks per call; under ``-icount shift=0`` QEMU
runs one instruction per virtual nanosecond and the ticks convert to instructions with a factor the
self-test calibrates on a loop of known length.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from firmware_export._cgen import check_c_name
from firmware_export.render import render

ARM_GCC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
ARM_LINK_FLAGS = ["-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections"]  # no C start-up files, newlib stubs
HOST_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
STACK_OPT_LEVELS = ("-O0", "-O2")  # the levels <name>_meta.h's stack figures are measured at (firmware_export.stack)
QEMU_MACHINE = ["-M", "mps2-an386", "-cpu", "cortex-m4", "-semihosting", "-nographic", "-monitor", "none",
                "-serial", "none"]


def selftest_main(name: str = "har_model", measure: bool = False) -> str:
    """C source of the self-checking ``main`` for the export called ``name``."""
    name = check_c_name(name)
    return ("#define HG_MEASURE 1\n" if measure else "") + render("selftest/main.c.in", name=name, P=name.upper())


def selftest_files(name: str, sources: list[str]) -> dict[str, str]:
    """``selftest/``: main, start-up, linker script and Makefile (``make run``: host, then QEMU).

    ``sources``: the export's C files the self-test links (names relative to the export folder).
    """
    name = check_c_name(name)
    return {"selftest/main.c": selftest_main(name), "selftest/startup_mps2.c": render("selftest/startup_mps2.c.in"),
            "selftest/mps2_an386.ld": render("selftest/mps2_an386.ld.in"),
            "selftest/Makefile": render("selftest/Makefile.in", name=name, sources=" ".join(sources))}


def toolchain_missing() -> str | None:
    """Why the emulated-board test cannot run here (None when it can)."""
    missing = [tool for tool in (ARM_GCC, QEMU) if shutil.which(tool) is None]
    if missing:
        return (f"{' and '.join(missing)} not found (Debian: apt-get install gcc-arm-none-eabi "
                "libnewlib-arm-none-eabi qemu-system-arm)")
    return None


def _sources(export_dir: Path) -> list[Path]:
    return sorted(p for p in Path(export_dir).glob("*.c") if not p.name.endswith("_model_data.c"))


def _run(cmd: list[str], timeout: float | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def build_host(export_dir: Path, workdir: Path, name: str = "har_model", opt: str = "-O2") -> Path:
    """Compile the export + self-test with the host's gcc (warnings are errors); return the executable."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    main = workdir / "selftest.c"
    main.write_text(selftest_main(name))
    exe = workdir / "selftest"
    cmd = ["gcc", *HOST_FLAGS, opt, "-I", str(export_dir), str(main), *map(str, _sources(export_dir)), "-o",
           str(exe), "-lm"]
    res = _run(cmd)
    if res.returncode:
        raise RuntimeError(f"host build failed: {' '.join(cmd)}\n{res.stderr}")
    return exe


@dataclass
class BoardBuild:
    elf: Path
    map_file: Path
    objects: dict[str, Path]  # source stem -> object file


def build_board(export_dir: Path, workdir: Path, name: str = "har_model", opt: str = "-O2",
                measure: bool = False, extra_flags: tuple[str, ...] = (), float_abi: str = "hard") -> BoardBuild:
    """Cross-compile the export + self-test + startup for mps2-an386 (Cortex-M4F); return the ELF and map.

    ``extra_flags``: more compiler flags, e.g. ``("-DHARGAN_NO_SIMD",)`` for the plain C loops.
    ``float_abi``: ``"hard"`` (the FPU) or ``"soft"`` (float in software, as on a core without one)."""
    arm_flags = ARM_FLAGS if float_abi == "hard" else [*ARM_FLAGS[:2], f"-mfloat-abi={float_abi}"]
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "selftest.c").write_text(selftest_main(name, measure))
    (workdir / "startup.c").write_text(render("selftest/startup_mps2.c.in"))
    (workdir / "mps2_an386.ld").write_text(render("selftest/mps2_an386.ld.in"))
    # the export's stack figures are for the FPU build with the default flags (no -DHARGAN_NO_SIMD etc.)
    check = opt in STACK_OPT_LEVELS and float_abi == "hard" and not extra_flags
    cflags = [*arm_flags, "-std=c11", opt, "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections",
              "-DHG_BOARD", *(["-DHG_STACK_CHECK"] if check else []), *extra_flags, "-I", str(export_dir)]
    objects = {}
    for src in [workdir / "selftest.c", workdir / "startup.c", *_sources(export_dir)]:
        obj = workdir / (src.stem + ".o")
        res = _run([ARM_GCC, *cflags, "-c", str(src), "-o", str(obj)])
        if res.returncode:
            raise RuntimeError(f"ARM build of {src.name} failed:\n{res.stderr}")
        objects[src.stem] = obj
    elf, map_file = workdir / "selftest.elf", workdir / "selftest.map"
    res = _run([ARM_GCC, *arm_flags, *ARM_LINK_FLAGS,
                f"-Wl,-Map={map_file}", "-T", str(workdir / "mps2_an386.ld"), *map(str, objects.values()),
                "-lm", "-o", str(elf)])
    if res.returncode:
        raise RuntimeError(f"ARM link failed:\n{res.stderr}")
    return BoardBuild(elf, map_file, objects)


def run_qemu(elf: Path, timeout: float = 60.0, icount: bool = False) -> tuple[int, str]:
    """Run ``elf`` on the emulated board: (exit code = the self-test's verdict, its output).

    QEMU writes semihosting output to stderr; both streams are returned, in that order.
    """
    cmd = [QEMU, *QEMU_MACHINE, *(["-icount", "shift=0"] if icount else []), "-kernel", str(elf)]
    res = _run(cmd, timeout=timeout)
    return res.returncode, res.stdout + res.stderr


_SECTION = re.compile(r"^ (\.[\w.]+)?\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", re.M)


def section_sizes(map_text: str) -> dict[str, dict[str, int]]:
    """Bytes per input file in the linked image, split into flash (text, rodata, data image) and ram
    (data, bss), from a GNU ld map file. Keys: object file or ``archive(member)`` names."""
    out: dict[str, dict[str, int]] = {}
    memory_map = map_text.split("Linker script and memory map", 1)[-1]
    for sec, addr, size, where in _SECTION.findall(memory_map):
        size_b = int(size, 16)
        if not sec or size_b == 0 or int(addr, 16) == 0 and not sec.startswith(".isr"):
            continue
        key = os.path.basename(where)
        entry = out.setdefault(key, {"flash": 0, "ram": 0})
        if sec.startswith((".text", ".rodata", ".isr")):
            entry["flash"] += size_b
        elif sec.startswith(".data"):
            entry["flash"] += size_b
            entry["ram"] += size_b
        elif sec.startswith((".bss", "COMMON")):
            entry["ram"] += size_b
    return out
