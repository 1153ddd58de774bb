"""Worst-case stack, flash and RAM of the exported API on a Cortex-M4F, measured at export (never estimated).

With ``arm-none-eabi-gcc`` on PATH, :func:`measure_board` compiles the export's API, decision stage and
plain C model with the flags its README and self-test use (Cortex-M4F, hard float, ``-std=c11``,
``-ffunction-sections``) at ``-O0`` (STM32CubeIDE's Debug default) and ``-O2``, with ``-fstack-usage``,
links them with the toolchain's C library as the self-test does (``--gc-sections``, the entry points
kept), and sums frames along every call path of the linked image from each entry point
(``<name>_classify``, ``<name>_push``, ``<name>_ctx_push``, ``<name>_run_pending``). The same link's map
gives flash (code, constants, data image) and static RAM (the arena, the stream state, the C library's
data) as :func:`firmware_export.emulator.section_sizes` reads them.

Frames and call edges come from the linked image's disassembly, so the C library and the compiler's
soft-float helpers (``memcpy``, ``sqrt``, ``__aeabi_dmul``, ...) count too: GCC's ``-fstack-usage`` and
``-fcallgraph-info`` stop at the object file, where those are bare names. A frame is the sum of every
instruction in the function that lowers the stack pointer (``push``, ``vpush``, ``stmdb sp!``,
``sub sp, #n``, ``str rX, [sp, #-n]!``), an upper bound of its deepest point; a jump into another
function counts that function on top of the whole frame, as does a fall-through into the next symbol.
Where ``-fstack-usage`` has a figure for a function the larger of the two is kept. A function whose
stack depends on run-time values (``sub sp, rX``, a "dynamic" frame), an indirect call or a cycle in the
graph leaves the figure unmeasured, with the reason: the export then says "not measured".
"""

from __future__ import annotations

import bisect
import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from firmware_export.emulator import ARM_FLAGS, ARM_GCC, ARM_LINK_FLAGS, STACK_OPT_LEVELS, section_sizes

OPT_LEVELS = STACK_OPT_LEVELS  # the levels the self-test checks the figures at, too
ENTRIES = ("classify", "push", "ctx_push", "run_pending")
CFLAGS = ("-std=c11", "-ffunction-sections", "-fdata-sections", "-fstack-usage")


@dataclass(frozen=True)
class BoardFigures:
    """Bytes of stack each entry point can use, flash and static RAM, per optimisation level; the compiler."""

    bytes: dict[str, dict[str, int]]  # entry (ENTRIES) -> {"-O0": n, "-O2": n}
    compiler: str
    flash: dict[str, int]  # {"-O0": n, "-O2": n}
    ram: dict[str, int]

    def worst(self, entry: str) -> int:
        return max(self.bytes[entry].values())


class Unmeasured(Exception):
    """The stack cannot be bounded statically (the message says why)."""


_INSN = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$")
_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_TARGET = re.compile(r"^([0-9a-f]+) <")
_TERMINATORS = ("b", "b.n", "b.w", "bx", "pop", "pop.w", "ldmia", "ldmia.w", "ldr", "ldr.w")


def _registers(args: str) -> tuple[int, int]:
    """(core or single registers, double registers) in a register list ``{r4, r5-r7, lr}`` / ``{d8-d9}``."""
    words = doubles = 0
    for item in re.search(r"\{([^}]*)\}", args).group(1).split(","):  # type: ignore[union-attr]
        lo, _, hi = item.strip().partition("-")
        n = int(hi[1:]) - int(lo[1:]) + 1 if hi else 1
        if lo.startswith("d"):
            doubles += n
        else:
            words += n
    return words, doubles


def _lowers_sp(op: str, args: str) -> int | None:
    """Bytes one instruction lowers the stack pointer by (0: it does not); None: by a run-time amount."""
    base = op.split(".")[0]
    if base in ("push", "vpush") or (base in ("stmdb", "stmfd", "vstmdb") and args.startswith("sp!")):
        words, doubles = _registers(args)
        return 4 * words + 8 * doubles
    if base in ("sub", "subs", "subw") and re.match(r"sp, (sp, )?", args):
        imm = re.match(r"sp, (?:sp, )?#(\d+)", args)
        return int(imm.group(1)) if imm else None
    pre = re.search(r"\[sp, #-(\d+)\]!", args)
    return int(pre.group(1)) if base.startswith(("str", "vstr")) and pre else 0


@dataclass
class _Function:
    name: str
    frame: int = 0
    targets: set[int] | None = None  # addresses branched or called to
    last: tuple[str, str] = ("", "")  # the last instruction (data and padding left out)


def _read_disassembly(text: str) -> dict[int, _Function]:
    """Functions of ``objdump -d`` output by start address: frame, branch targets, last instruction."""
    funcs: dict[int, _Function] = {}
    cur: _Function | None = None
    for line in text.splitlines():
        head = _FUNC.match(line)
        if head:
            cur = funcs.setdefault(int(head.group(1), 16), _Function(head.group(2), 0, set()))
            continue
        insn = _INSN.match(line)
        if cur is None or not insn or insn.group(2).startswith("."):
            continue
        op, args = insn.group(2), insn.group(3).split("@")[0].strip()
        lowered = _lowers_sp(op, args)
        if lowered is None:
            raise Unmeasured(f"{cur.name} moves the stack pointer by a run-time amount ({op} {args})")
        cur.frame += lowered
        if op in ("blx", "bx") and not args.startswith("lr") and not _TARGET.match(args):
            raise Unmeasured(f"{cur.name} calls through a pointer ({op} {args})")
        target = _TARGET.match(args)
        if op.startswith(("b", "cb")) and target:
            cur.targets.add(int(target.group(1), 16))  # type: ignore[union-attr]
        if op.split(".")[0] != "nop" and (op, args) != ("movs", "r0, r0"):  # 0x0000: alignment padding
            cur.last = (op, args)
    return funcs


def _ends(last: tuple[str, str]) -> bool:
    """Whether control cannot fall through the end of a function ending with ``last``."""
    op, args = last
    if op not in _TERMINATORS:
        return False
    if op.startswith("ldr"):
        return args.startswith("pc,")
    return op.startswith("b") or "pc" in args


def _worst(funcs: dict[int, _Function], entry: int) -> int:
    """Bytes of stack on the deepest path from ``entry`` (every call, jump and fall-through on top)."""
    starts = sorted(funcs)

    def owner(addr: int) -> int:
        return starts[bisect.bisect_right(starts, addr) - 1]

    depth: dict[int, int] = {}
    active: set[int] = set()

    def visit(addr: int) -> int:
        if addr in depth:
            return depth[addr]
        f = funcs[addr]
        if addr in active:
            raise Unmeasured(f"{f.name} is on a cycle of calls or jumps")
        active.add(addr)
        succ = {owner(t) for t in f.targets or ()} - {addr}
        i = starts.index(addr)
        if not _ends(f.last) and i + 1 < len(starts):
            succ.add(starts[i + 1])
        depth[addr] = f.frame + max((visit(s) for s in succ), default=0)
        active.discard(addr)
        return depth[addr]

    return visit(entry)


def _stack_usage(workdir: Path) -> dict[str, int]:
    """GCC's ``-fstack-usage`` frames by function name (names defined twice are left out)."""
    frames: dict[str, list[int]] = {}
    for su in workdir.glob("*.su"):
        for line in su.read_text().splitlines():
            where, size, kind = line.rsplit("\t", 2)
            name = where.rsplit(":", 1)[-1]
            if kind != "static":
                raise Unmeasured(f"{name} has a {kind} stack frame (-fstack-usage)")
            frames.setdefault(name, []).append(int(size))
    return {n: v[0] for n, v in frames.items() if len(v) == 1}


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if res.returncode:
        raise Unmeasured(f"{Path(cmd[0]).name} failed: {res.stderr.strip().splitlines()[-1:]}")
    return res.stdout


def _measure_level(export_dir: Path, name: str, sources: tuple[str, ...], opt: str) -> dict[str, int]:
    """Stack per entry point, and ``flash`` and ``ram`` of the linked image, at ``opt``."""
    with tempfile.TemporaryDirectory(prefix="hargan-stack-") as tmp:
        work = Path(tmp)
        objects = []
        for src in sources:
            obj = work / (Path(src).stem + ".o")
            _run([ARM_GCC, *ARM_FLAGS, *CFLAGS, opt, "-I", str(export_dir), "-c", str(export_dir / src), "-o",
                  str(obj)], work)
            objects.append(str(obj))
        symbols = [f"{name}_{e}" for e in ENTRIES]
        elf, map_file = work / "stack.elf", work / "stack.map"
        _run([ARM_GCC, *ARM_FLAGS, *ARM_LINK_FLAGS, f"-Wl,-e,{symbols[0]}",
              *(f"-Wl,-u,{s}" for s in symbols), f"-Wl,-Map={map_file}", *objects, "-lm", "-o", str(elf)], work)
        sizes = section_sizes(map_file.read_text()).values()
        funcs = _read_disassembly(_run([shutil.which("arm-none-eabi-objdump") or "arm-none-eabi-objdump", "-d",
                                        "--no-show-raw-insn", str(elf)], work))
        by_name: dict[str, list[int]] = {}
        for addr, f in funcs.items():
            by_name.setdefault(re.sub(r"\.\d+$", "", f.name), []).append(addr)
        for fname, size in _stack_usage(work).items():
            if len(by_name.get(fname, ())) == 1:
                f = funcs[by_name[fname][0]]
                f.frame = max(f.frame, size)
        return {**{e: _worst(funcs, by_name[s][0]) for e, s in zip(ENTRIES, symbols)},
                "flash": sum(v["flash"] for v in sizes), "ram": sum(v["ram"] for v in sizes)}


_MEASURED: dict[str, BoardFigures | str] = {}  # by the hash of the C it measured: an export made twice is measured once


def _measure(export_dir: Path, name: str, sources: tuple[str, ...]) -> BoardFigures | str:
    try:
        version = _run([ARM_GCC, "-dumpfullversion"], export_dir).strip()
        per_level = {opt: _measure_level(export_dir, name, sources, opt) for opt in OPT_LEVELS}
    except Unmeasured as exc:
        return f"not measured: {exc}"
    return BoardFigures({e: {opt: per_level[opt][e] for opt in OPT_LEVELS} for e in ENTRIES}, f"{ARM_GCC} {version}",
                        {opt: per_level[opt]["flash"] for opt in OPT_LEVELS},
                        {opt: per_level[opt]["ram"] for opt in OPT_LEVELS})


def measure_board(export_dir: str | Path, name: str) -> BoardFigures | str:
    """The worst-case stack of the export's entry points (:data:`ENTRIES`) at :data:`OPT_LEVELS`, or why it
    was not measured (a sentence starting "not measured": no compiler, a dynamic frame, a cycle)."""
    if shutil.which(ARM_GCC) is None:
        return f"not measured: {ARM_GCC} was not on PATH at export"
    export_dir = Path(export_dir)
    sources = (f"{name}.c", f"{name}_decide.c", f"{name}_model.c")
    code = [export_dir / s for s in sources] + sorted(p for p in export_dir.glob("*.h") if p.name != f"{name}_meta.h")
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in code)).hexdigest()
    if digest not in _MEASURED:
        _MEASURED[digest] = _measure(export_dir, name, sources)
    return _MEASURED[digest]
