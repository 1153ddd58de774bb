"""firmware_export: files that drop into an STM32CubeIDE project, and the ST Edge AI Core wrapper.

- :func:`export_model_c_array`: the int8 .tflite as an aligned C array (``<name>_model_data.h/.c``)
- :func:`export_headers`: labels, sensor configuration, input/output quantization + counts -> int8 in C
- :func:`export_test_vectors`: int8 inputs, labels and expected int8 outputs for on-target checks
- :func:`c_model_sources`: the int8 graph as plain C11 (bit-exact with TFLite's reference kernels), one
  kernel per C op of :data:`firmware_export.c_ops.C_OPS` (an op is declared there, once)
- :func:`firmware_export.render.render`: every generated file comes from ``templates/`` through it
  (``$name`` keys; a missing or unused key is an error)
- :func:`app_sources`: one API for both back-ends (classify a window, push samples), preprocessing,
  the TFLite-Micro back-end and op resolver; :func:`preprocess_counts` is its Python twin
- :func:`export_firmware`: all of the above into one folder with a README, atomically
- :func:`export_st_har_app`: ``ai_model_config.h`` and a float-input network for ST's model zoo HAR
  application (``export_firmware(..., st_har_app=True)`` writes them into ``st_har_app/``)
- :mod:`firmware_export.emulator`: build an export's self-test for the host or for QEMU's
  mps2-an386 (Cortex-M4F) and run it (the exit code is the verdict)
- :func:`counts_to_int8`: the Python twin of the generated C conversion (bit-identical)
- :mod:`firmware_export.stedgeai`: ``StEdgeAI`` (analyze / validate / generate), report parsers,
  ``StEdgeAINotFound``; :func:`estimate_footprint` when the tool is absent
"""

from firmware_export._cgen import check_c_name
from firmware_export.c_app import app_sources, preprocess_counts, stream_inputs
from firmware_export.c_array import export_model_c_array, format_bytes, model_c_sources
from firmware_export.c_model import SUPPORTED_OPS, c_model_sources
from firmware_export.convert import counts_to_int8, mg_to_int8
from firmware_export.export import export_firmware
from firmware_export.footprint import count_macs, estimate_footprint, weights_bytes
from firmware_export.headers import export_headers
from firmware_export.st_har_app import export_st_har_app
from firmware_export.stedgeai import (StEdgeAI, StEdgeAIError, StEdgeAINotFound, analyze_or_estimate, find_stedgeai,
                                      parse_c_info, parse_report)
from firmware_export.test_vectors import TestVectors, export_test_vectors, make_test_vectors

__all__ = [
    "SUPPORTED_OPS", "StEdgeAI", "StEdgeAIError", "StEdgeAINotFound", "TestVectors", "analyze_or_estimate",
    "app_sources", "c_model_sources", "check_c_name", "count_macs", "counts_to_int8", "mg_to_int8",
    "preprocess_counts", "stream_inputs",
    "estimate_footprint", "export_firmware", "export_headers", "export_model_c_array", "export_st_har_app",
    "export_test_vectors",
    "find_stedgeai", "format_bytes", "make_test_vectors", "model_c_sources", "parse_c_info", "parse_report",
    "weights_bytes",
]
