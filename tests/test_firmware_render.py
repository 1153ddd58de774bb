"""One way to generate C: every file from a template whose keys must match exactly, and a C op
declared in one place (firmware_export.c_ops) with its struct filled by name."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from firmware_export import c_model_sources
from firmware_export.c_ops import C_OPS, COp, Layer, register_op, supported_ops
from firmware_export.render import TemplateError, placeholders, render, render_text
from firmware_support import GCC, T, needs_gcc
from har_data import InputError


def test_a_missing_or_unused_key_is_one_line_naming_the_template():
    with pytest.raises(TemplateError, match=r"^templates/labels.c.in: no value for \$label_rows$"):
        render("labels.c.in", name="m", P="M")
    with pytest.raises(TemplateError, match=r"^templates/labels.c.in: value 'extra' given but the template has no"):
        render("labels.c.in", name="m", P="M", label_rows="", extra=1)
    with pytest.raises(TemplateError, match="not followed by a key name"):
        render_text("int a = $;", "inline")
    assert render_text("$banner\n#ifndef $guard\n", "inline", "m_x.h").endswith("#ifndef M_X_H_\n")


def test_every_template_renders_only_through_named_keys():
    # the banner and guard are the only keys the renderer fills itself; every template parses
    from importlib import resources

    root = resources.files("firmware_export").joinpath("templates")
    names = [p.name for p in root.iterdir() if p.name.endswith(".in")]
    names += [f"{d.name}/{p.name}" for d in root.iterdir() if d.is_dir() for p in d.iterdir()]
    assert len(names) > 20
    for name in names:
        placeholders(name)
    assert "@name@" not in "".join((root / n).read_text() for n in names if n.endswith(".in"))


def _tanh_model() -> bytes:
    import keras

    from classifier import quantize_int8
    from classifier.layers import StaticFlatten

    inputs = keras.Input((T, 3))
    x = StaticFlatten()(inputs)
    x = keras.layers.Dense(4, activation="tanh")(x)
    model = keras.Model(inputs, keras.layers.Softmax()(x))
    return quantize_int8(model, np.random.default_rng(0).normal(0, 1, (8, T, 3)).astype(np.float32), 8)


FAKE_KERNEL = """$struct

/* A lookup table over the 256 int8 codes. */
static void hg_fake_tanh(const hg_fake_tanh_t *p, const int8_t *in, int8_t *out)
{
  int i;
  for (i = 0; i < p->size; ++i) {
    out[i] = p->table[(uint8_t)in[i]];
  }
}
"""


def _lower_tanh(g, op) -> Layer:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    codes = np.arange(256).astype(np.uint8).astype(np.int8).astype(np.float64)
    real = np.tanh((codes - x.zero_point) * x.scale)
    table = np.clip(np.rint(real / y.scale) + y.zero_point, -128, 127).astype(np.int8)
    return Layer("fake_tanh", op.name, [x.index], y.index, {"size": x.size}, {"table": ("int8_t", table)})


@needs_gcc
def test_a_c_op_added_in_its_one_place_is_used(monkeypatch, tmp_path):
    model = _tanh_model()
    with pytest.raises(InputError, match="op TANH is not supported"):
        c_model_sources(model, "m")
    monkeypatch.setitem(C_OPS, "TANH", None)  # undone after the test
    register_op(COp("fake_tanh", ("TANH",), _lower_tanh, (("int16_t", "size"),), (("int8_t", "table"),),
                    kernel_source=FAKE_KERNEL))
    assert "TANH" in supported_ops()
    files = c_model_sources(model, "m").files
    source = files["m_model.c"]
    assert "} hg_fake_tanh_t;" in source and "  const int8_t *table;" in source
    assert "hg_fake_tanh(&hg_l1, " in source and "  hg_l1_table, /* table */" in source
    for fname, text in files.items():
        (tmp_path / fname).write_text(text)
    (tmp_path / "main.c").write_text('#include "m_model.h"\nint main(void) {\n  int8_t in[M_MODEL_INPUT_SIZE] = {0};\n'
                                     '  int8_t out[M_MODEL_OUTPUT_SIZE];\n  return m_invoke(in, out);\n}\n')
    subprocess.run([GCC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(tmp_path),
                    str(tmp_path / "main.c"), str(tmp_path / "m_model.c"), "-o", str(tmp_path / "m")], check=True)
    subprocess.run([str(tmp_path / "m")], check=True)


def test_a_lowering_that_misnames_a_parameter_is_refused(monkeypatch):
    def bad(g, op) -> Layer:
        layer = _lower_tanh(g, op)
        layer.fields = {"length": layer.fields["size"]}
        return layer

    monkeypatch.setitem(C_OPS, "TANH", None)
    register_op(COp("fake_tanh", ("TANH",), bad, (("int16_t", "size"),), (("int8_t", "table"),),
                    kernel_source=FAKE_KERNEL))
    with pytest.raises(InputError, match=r"TANH: the lowering gave parameters \['length'\]") as err:
        c_model_sources(_tanh_model(), "m")
    assert "\n" not in str(err.value)
