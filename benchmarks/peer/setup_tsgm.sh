#!/usr/bin/env bash
# Create a separate virtual environment for the TSGM peer benchmark (benchmarks/trainer_tsgm.py).
#
#     benchmarks/peer/setup_tsgm.sh [VENV_DIR]      # default: benchmarks/.venv-tsgm
#
# TSGM is NOT a dependency of hargan: it lives only in this venv. Pins:
#   tsgm==0.1.0            the peer under test
#   pandas<3               tsgm pins statsmodels==0.14.5, which breaks with pandas 3
#   tensorflow==2.21.0     TSGM's TF backend ("tsgm[tensorflow]" also pulls tensorflow-probability and
#   keras==3.15.1          tf-keras, which ConditionalGAN does not use); the same TF / Keras as hargan's venv,
#                          so the comparison measures the code, not the framework version
# Needs python3 >= 3.10 (tested with 3.11) and access to PyPI. Takes a few minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$ROOT/benchmarks/.venv-tsgm}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade --quiet pip
"$VENV/bin/python" -m pip install --quiet \
    "tsgm==0.1.0" "pandas<3" "tensorflow==2.21.0" "keras==3.15.1"
KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" - <<'PY'
import keras, tensorflow as tf, tsgm
assert keras.backend.backend() == "tensorflow", keras.backend.backend()
print(f"tsgm {tsgm.__version__}, tensorflow {tf.__version__}, keras {keras.__version__} ({keras.backend.backend()})")
PY
echo "TSGM venv ready: $VENV/bin/python benchmarks/trainer_tsgm.py --help"
