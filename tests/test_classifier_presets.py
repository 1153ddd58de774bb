"""classifier presets: every preset builds, takes mg, converts to int8 and runs identically on LiteRT and TFLM."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from classifier import DEFAULT_PRESET, PRESETS, InputScaling, Int8Classifier, build_classifier, quantize_int8
from har_data import InputError

CLASSES = ["stationary", "walking", "running", "cycling"]

# Ops that TFLite-Micro (and ST Edge AI) run; a preset must not need anything else.
MICRO_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "REDUCE_MAX",
             "FULLY_CONNECTED", "SOFTMAX", "RESHAPE", "MUL", "ADD", "CONCATENATION", "QUANTIZE", "DEQUANTIZE"}


def test_default_preset_is_ours():
    assert DEFAULT_PRESET in PRESETS
    assert DEFAULT_PRESET not in ("ign", "gmp")
    assert {"ign", "gmp"} <= set(PRESETS)


def test_unknown_preset_is_bad_input():
    with pytest.raises(InputError, match="valid presets"):
        build_classifier("resnet", 48, CLASSES)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_builds_converts_and_runs_on_both_runtimes(name):
    model = build_classifier(name, 48, CLASSES, full_scale_g=4.0, channels=3, seed=0)
    assert isinstance(model.layers[1], InputScaling) and model.layers[1].full_scale_g == 4.0
    assert tuple(model.inputs[0].shape) == (None, 48, 3)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1500, size=(40, 48, 3)).astype(np.float32)
    p = np.asarray(model(x[:4], training=False))
    assert p.shape == (4, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)

    int8 = Int8Classifier(quantize_int8(model, x, num_samples=32, seed=0), CLASSES)
    assert int8.input_full_scale_mg == pytest.approx(4000.0, rel=1e-3)
    from ai_edge_litert.interpreter import Interpreter

    ops = {d["op_name"] for d in Interpreter(model_content=int8.model_bytes)._get_ops_details()}
    assert ops <= MICRO_OPS, ops - MICRO_OPS
    np.testing.assert_array_equal(int8.predict_int8(x[:8]), int8.predict_int8(x[:8], runtime="tflm"))
    assert int8.arena_bytes() > 0


def test_ign_and_gmp_follow_st_model_zoo():
    ign = build_classifier("ign", 48, CLASSES)
    conv = ign.get_layer("conv")
    assert conv.filters == 24 and tuple(conv.kernel_size) == (16, 1)
    assert tuple(ign.get_layer("pool").pool_size) == (3, 1)
    assert ign.get_layer("dense").units == 12 and ign.get_layer("dropout").rate == 0.5
    gmp = build_classifier("gmp", 48, CLASSES)
    kinds = [type(layer).__name__ for layer in gmp.layers]
    assert kinds.count("BatchNormalization") == 2 and kinds.count("Conv2D") == 2
    assert "GlobalMaxPooling2D" in kinds
    assert all(tuple(gmp.get_layer(n).kernel_size) == (5, 1) and gmp.get_layer(n).filters == 16
               for n in ("conv1", "conv2"))


def test_full_scale_is_part_of_the_saved_model(tmp_path):
    model = build_classifier(DEFAULT_PRESET, 32, CLASSES, full_scale_g=8.0, seed=1)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.layers[1].get_config()["full_scale_g"] == 8.0
    x = np.random.default_rng(1).normal(0, 3000, size=(3, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))


def test_scaling_saturates_at_the_full_scale():
    layer = InputScaling(2.0)
    out = np.asarray(layer(np.array([[[1000.0, 5000.0, -9000.0]]], np.float32)))
    np.testing.assert_allclose(out, [[[0.5, 1.0, -1.0]]])
