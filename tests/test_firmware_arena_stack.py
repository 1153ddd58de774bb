"""A caller's arena for the plain C model, and the flash/RAM/stack figures measured at export: the call-graph
reader on known instruction sequences, meta.h without a compiler, the static arena compiled out, and the
emulated board's painted-stack check failing on a figure that is too small."""

from __future__ import annotations

import re
import subprocess

import pytest

from firmware_export import export_firmware
from firmware_export.meta import board_defines
from firmware_export.stack import Unmeasured, _read_disassembly, _worst, measure_board
from firmware_support import CLASSES, compile_run, needs_gcc, sample_windows, tiny_int8
from har_data import SensorSpec

SENSOR = SensorSpec("LSM6DSL", 4, 26)

# objdump -d --no-show-raw-insn of three functions: main calls leaf, jumps into it and falls through into tail;
# tail ends in alignment padding (0x0000 reads as movs r0, r0), which does not fall into leaf.
DISASSEMBLY = """
00008000 <main>:
    8000:	stmdb	sp!, {r4, r5, r6, r7, r8, r9, sl, fp, lr}
    8004:	vpush	{d8-d9}
    8008:	sub	sp, #140	@ 0x8c
    800a:	bl	8030 <leaf>
    800e:	beq.n	8034 <leaf+0x4>
    8010:	str.w	r0, [sp, #-8]!
    8014:	nop.w
00008018 <tail>:
    8018:	push	{r3, lr}
    801a:	sub	sp, sp, #64
    801c:	ldr.w	pc, [sp], #8
    8020:	movs	r0, r0
00008030 <leaf>:
    8030:	push	{r4, lr}
    8032:	sub.w	sp, sp, #16
    8034:	pop	{r4, pc}
    8036:	.word	0x0000ab84
"""


def test_call_graph_frames_calls_jumps_and_fall_through():
    funcs = _read_disassembly(DISASSEMBLY)
    assert [funcs[a].frame for a in (0x8000, 0x8018, 0x8030)] == [36 + 16 + 140 + 8, 8 + 64, 8 + 16]
    # main: its frame, then the deeper of leaf (called, jumped into) and tail (fallen into)
    assert _worst(funcs, 0x8000) == 200 + 72 and _worst(funcs, 0x8030) == 24


@pytest.mark.parametrize("line,why", [("sub\tsp, r3", "run-time amount"), ("blx\tr3", "through a pointer"),
                                      ("b.n\t8000 <main>", "cycle")])
def test_what_cannot_be_bounded_is_not_measured(line, why):
    text = DISASSEMBLY.replace("    8018:	push	{r3, lr}", f"    8018:	{line}")
    with pytest.raises(Unmeasured, match=why):
        _worst(_read_disassembly(text), 0x8000)


def test_without_the_cross_compiler_meta_h_says_not_measured(monkeypatch, tmp_path):
    import firmware_export.stack as stack

    monkeypatch.setattr(stack.shutil, "which", lambda tool: None)
    why = measure_board(tmp_path, "har_model")
    assert why.startswith("not measured: arm-none-eabi-gcc was not on PATH")
    text = board_defines("har_model", why)
    assert "#define" not in text and why in text


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    x, y = sample_windows(4)
    out = tmp_path_factory.mktemp("arena") / "firmware"
    export_firmware(tiny_int8(), CLASSES, SENSOR, out, test_windows=x, test_labels=y, n_test_vectors=4, stride=12)
    return out


NO_STATIC_ARENA = r"""
#include <stdio.h>
#include <string.h>
#include "har_model.h"
#include "har_model_test_vectors.h"
static union { int32_t align; int8_t bytes[HAR_MODEL_C_ARENA_BYTES]; } arena;
int main(void) {
  int8_t scores[HAR_MODEL_NUM_CLASSES];
  har_model_ctx_t ctx;
  int i, windows = 0, bad = har_model_invoke(har_model_test_inputs[0], scores) != -1
                              || har_model_ctx_init_arena(&ctx, arena.bytes, sizeof arena) != HAR_MODEL_OK;
  for (i = 0; i < HAR_MODEL_TEST_STREAM_LENGTH; ++i) {
    const int16_t *c = har_model_test_stream_counts[i];
    if (har_model_ctx_push(&ctx, c[0], c[1], c[2]) == HAR_MODEL_WINDOW_READY) {
      bad += har_model_run_pending(&ctx, scores) < 0
             || memcmp(scores, har_model_test_stream_outputs[windows++], HAR_MODEL_NUM_CLASSES) != 0;
    }
  }
  printf("windows %d bad %d\n", windows, bad);
  return 0;
}
"""


@needs_gcc
def test_static_arena_compiled_out_the_callers_arena_gives_the_reference_scores(exported, tmp_path):
    """-DHAR_MODEL_NO_STATIC_ARENA: no static arena in the object, invoke refuses, a context on a caller's
    arena still reproduces every window of the test stream."""
    sources = [exported / f for f in ("har_model.c", "har_model_decide.c", "har_model_labels.c",
                                      "har_model_test_vectors.c")]
    harness = '#define HAR_MODEL_NO_STATIC_ARENA 1\n#include "har_model_model.c"\n' + NO_STATIC_ARENA
    text = compile_run(sources, harness, tmp_path)
    windows, bad = map(int, re.search(r"windows (\d+) bad (\d+)", text).groups())
    assert windows > 0 and bad == 0, text
    obj = tmp_path / "model.o"
    subprocess.run(["gcc", "-std=c11", "-O2", "-DHAR_MODEL_NO_STATIC_ARENA", "-I", str(exported), "-c",
                    str(exported / "har_model_model.c"), "-o", str(obj)], check=True)
    assert "hg_arena" not in subprocess.run(["nm", str(obj)], capture_output=True, text=True).stdout
    assert "static int8_t hg_col" not in (exported / "har_model_model.c").read_text()


def test_board_self_test_fails_when_a_stack_figure_is_too_small(exported, tmp_path):
    """The painted-stack check bites: classify's -O2 figure lowered below what it uses fails the self-test."""
    from firmware_export.emulator import build_board, run_qemu, toolchain_missing

    if toolchain_missing():
        pytest.skip(toolchain_missing())
    meta = exported / "har_model_meta.h"
    figure = int(re.search(r"HAR_MODEL_STACK_CLASSIFY_BYTES_O2 (\d+)u", meta.read_text()).group(1))
    code, text = run_qemu(build_board(exported, tmp_path / "ok").elf, timeout=120)
    used = int(re.search(r"stack classify within the figure, bytes (\d+)", text).group(1))
    assert code == 0 and 0 < used <= figure and text.count("within the figure") == 4, text[-1500:]
    original = meta.read_text()
    try:
        meta.write_text(original.replace(f"CLASSIFY_BYTES_O2 {figure}u", f"CLASSIFY_BYTES_O2 {used - 4}u"))
        code, text = run_qemu(build_board(exported, tmp_path / "low").elf, timeout=120)
    finally:
        meta.write_text(original)
    assert code == 1 and "stack classify OVER THE FIGURE" in text, text[-1500:]
