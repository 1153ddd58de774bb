"""The ``hargan`` command line: the whole flow (``run``, ``demo``) or any single step.

Exit status: 0 success, 2 bad input or usage (one line on stderr, no traceback unless
``--debug``, nothing written), 1 internal failure. Heavy modules (TensorFlow, Keras) are
imported only inside the commands, so ``hargan --help`` is fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
import traceback
from typing import Callable, Sequence

# Quiet TensorFlow's C++ logging before anything imports it (the user can still override it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROG = "hargan"


class UsageError(Exception):
    """Bad command-line usage: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, so ``main`` can print them and return 2)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sub = self.prog[len(PROG):].strip()
        where = f"{sub}: " if sub else ""
        hint = f" (see '{self.prog} --help')"
        raise UsageError(f"{where}{' '.join(message.split())}{hint}")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=34, width=min(100, max(60, _term_width())))


def _term_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


SENSOR_NAMES = ("LSM6DSL", "LSM6DSO", "LSM6DSOX", "ISM330DHCX", "LIS3DSH", "LIS2DW12", "IIS2DLPC")
SOURCES = ("pamap2", "mems-studio", "wisdm", "st-mobility", "basic-motions")


def _common(p: argparse.ArgumentParser, seed: bool = True) -> None:
    g = p.add_argument_group("common options")
    if seed:
        g.add_argument("--seed", type=int, default=argparse.SUPPRESS, metavar="N",
                       help="random seed (the same seed gives the same result on CPU; default: 0 or the config's)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback on errors")


def _sensor_args(p: argparse.ArgumentParser, required_default: bool = True) -> None:
    g = p.add_argument_group("sensor (the STM32 accelerometer the data is made for)")
    g.add_argument("--sensor", default=None, metavar="NAME",
                   help=f"sensor part number: {', '.join(SENSOR_NAMES)} (default: LSM6DSL"
                        + ("" if required_default else ", or the one stored in --windows") + ")")
    g.add_argument("--full-scale", type=int, default=None, metavar="G", help="full scale in g (default: 4)")
    g.add_argument("--odr", type=float, default=None, metavar="HZ", help="output data rate in Hz (default: 26)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, formatter_class=_Formatter,
        description=textwrap.dedent("""\
            Synthetic accelerometer data for STM32 activity recognition: a conditional WGAN-GP
            steered by the int8 classifier that will run on the board."""),
        epilog=textwrap.dedent("""\
            examples:
              hargan demo --out demo-run                   the whole flow on bundled real data
              hargan run --config configuration.json --out dataset
              hargan train-classifier --help               help on one step

            exit status: 0 success, 2 bad input or usage, 1 internal failure."""),
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_: str, example: str, description: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, formatter_class=_Formatter,
                           description=(description or help_[0].upper() + help_[1:] + "."),
                           epilog="example:\n  " + example.replace("\n", "\n  "))
        return p

    # demo ---------------------------------------------------------------------
    p = add("demo", "the whole flow on the bundled real BasicMotions data (CPU, a few minutes)",
            "hargan demo --out demo-run\nhargan demo --quick --out /tmp/demo   # under 3 minutes",
            description=textwrap.dedent("""\
                The whole flow on the bundled real BasicMotions data (smartwatch accelerometer,
                gravity removed, 4 activities, 80 recordings at 10 Hz): prepare -> ST classifier
                -> int8 -> GAN -> validated sampling -> evaluation report -> firmware export,
                into one run directory.
                The data is resampled to 12.5 Hz, the LSM6DSL output data rate closest to the
                recording rate (upsampling to 26 Hz would add no information), at +-4 g.
                Re-running with the same --out reuses finished steps."""))
    p.add_argument("--out", default="hargan-demo", metavar="DIR", help="run directory (default: hargan-demo)")
    p.add_argument("--quick", action="store_true", help="tiny GAN and few epochs: a smoke run in under 3 minutes")
    p.add_argument("--force", action="store_true", help="re-run every step even if unchanged")
    _common(p)
    p.set_defaults(handler=cmd_demo, trains_gan=True)

    # run ----------------------------------------------------------------------
    p = add("run", "the whole flow from a TOML or JSON config file",
            "hargan run --config configuration.json --out dataset",
            description=textwrap.dedent("""\
                The whole flow from one config file (TOML or JSON): prepare -> ST classifier ->
                int8 -> GAN (pretrain on the source domain, fine-tune on the target domain when
                [data.target] is set) -> validated sampling -> evaluation report -> firmware export.
                Re-running with the same --out reuses finished steps whose inputs and config did
                not change. 'hargan run --print-config' shows every key with its default."""))
    p.add_argument("--config", metavar="FILE", help="TOML or JSON configuration (required unless --print-config)")
    p.add_argument("--out", default="hargan-run", metavar="DIR", help="run directory (default: hargan-run)")
    p.add_argument("--force", action="store_true", help="re-run every step even if unchanged")
    p.add_argument("--until", default=None, metavar="STEP",
                   choices=("prepare", "classifier", "quantize", "gan", "finetune", "sample", "evaluate", "export"),
                   help="stop after this step: prepare, classifier, quantize, gan, finetune, sample, evaluate, export")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration (defaults filled in) as TOML and exit")
    _common(p)
    p.set_defaults(handler=cmd_run, trains_gan=True)

    # prepare ------------------------------------------------------------------
    p = add("prepare", "read real logs and cut them into labelled windows in the sensor's format",
            "hargan prepare --source pamap2 --path PAMAP2_Dataset --classes stationary walking running "
            "--out windows.npz")
    p.add_argument("--source", required=True, choices=SOURCES, metavar="NAME",
                   help=f"loader: {', '.join(SOURCES)}")
    p.add_argument("--path", default=None, help="file or folder to read (not needed for basic-motions)")
    p.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="classes to keep, in this order (default: all found)")
    p.add_argument("--imu", default=None, help="PAMAP2: which IMU (hand, chest, ankle)")
    p.add_argument("--suppress-gravity", action="store_true", help="run the gravity rotation+suppression filter")
    _sensor_args(p)
    p.add_argument("--window", type=int, default=48, metavar="N", help="window length in samples (default: 48)")
    p.add_argument("--stride", type=int, default=24, metavar="N", help="stride in samples (default: 24)")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="windows file to write")
    _common(p)
    p.set_defaults(handler=pipeline_step("prepare"))

    # train-classifier -----------------------------------------------------------
    p = add("train-classifier", "train the float ST classifier on windows (writes model.keras, figures)",
            "hargan train-classifier --windows windows.npz --preset cnn1d --out classifier")
    p.add_argument("--windows", required=True, metavar="FILE.npz", help="windows from 'hargan prepare'")
    p.add_argument("--preset", default="cnn1d", metavar="NAME",
                   help="architecture: cnn1d (default), cnn1d_tiny, ign, gmp")
    p.add_argument("--epochs", type=int, default=60, metavar="N", help="maximum epochs (default: 60; early stopping)")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="batch size (default: 64)")
    p.add_argument("--patience", type=int, default=10, metavar="N", help="early-stopping patience (default: 10)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for model.keras, history.csv, PNGs")
    _common(p)
    p.set_defaults(handler=pipeline_step("train_classifier"))

    # quantize -------------------------------------------------------------------
    p = add("quantize", "quantize the float classifier to a full-integer int8 TFLite model",
            "hargan quantize --model classifier/model.keras --windows windows.npz --out model_int8.tflite")
    p.add_argument("--model", required=True, metavar="FILE.keras", help="float classifier")
    p.add_argument("--windows", required=True, metavar="FILE.npz",
                   help="windows: train split calibrates, test split is scored")
    p.add_argument("--samples", type=int, default=300, metavar="N", help="calibration windows (default: 300)")
    p.add_argument("--out", required=True, metavar="FILE.tflite", help="int8 model to write")
    _common(p)
    p.set_defaults(handler=pipeline_step("quantize"))

    # train-gan -----------------------------------------------------------------
    p = add("train-gan", "train the conditional WGAN-GP with the classifier's feedback",
            "hargan train-gan --windows windows.npz --classifier classifier/model.keras --out gan\n"
            "hargan train-gan --windows target.npz --classifier target/model.keras "
            "--init gan/generator.keras --steps 500 --out gan-finetuned")
    p.add_argument("--windows", required=True, metavar="FILE.npz", help="real windows (train split is used)")
    p.add_argument("--classifier", default=None, metavar="FILE.keras",
                   help="float ST classifier that steers the generator (omit for a plain WGAN-GP)")
    p.add_argument("--init", default=None, metavar="FILE.keras",
                   help="start from this generator (fine-tuning); a critic.keras beside it is used too")
    p.add_argument("--steps", type=int, default=3000, metavar="N", help="generator steps (default: 3000)")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="batch size (default: 64)")
    p.add_argument("--latent-dim", type=int, default=64, metavar="N", help="latent size (default: 64)")
    p.add_argument("--n-critic", type=int, default=5, metavar="N", help="critic steps per generator step (default: 5)")
    p.add_argument("--gp-weight", type=float, default=10.0, metavar="W", help="gradient-penalty weight (default: 10)")
    p.add_argument("--classifier-weight", type=float, default=1.0, metavar="W",
                   help="classifier-feedback weight (default: 1)")
    p.add_argument("--g-learning-rate", type=float, default=5e-4, metavar="LR", help="generator Adam LR (default: 5e-4)")
    p.add_argument("--c-learning-rate", type=float, default=5e-4, metavar="LR", help="critic Adam LR (default: 5e-4)")
    p.add_argument("--loss", default="wasserstein", choices=("wasserstein", "minimax"),
                   help="adversarial loss (default: wasserstein)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for generator.keras, critic.keras, history.csv")
    _common(p)
    p.set_defaults(handler=pipeline_step("train_gan"), trains_gan=True)

    # generate ------------------------------------------------------------------
    p = add("generate", "generate windows and keep those the int8 classifier accepts (validated sampling)",
            "hargan generate --generator gan/generator.keras --int8 model_int8.tflite --windows windows.npz "
            "--per-class 200 --out synthetic")
    p.add_argument("--generator", required=True, metavar="FILE.keras", help="trained generator")
    p.add_argument("--int8", required=True, metavar="FILE.tflite", help="int8 ST classifier that accepts or rejects")
    p.add_argument("--windows", default=None, metavar="FILE.npz",
                   help="real windows: take the sensor and class names from them")
    p.add_argument("--per-class", type=int, default=200, metavar="N", help="accepted windows per class (default: 200)")
    p.add_argument("--min-confidence", type=float, default=0.5, metavar="P",
                   help="int8 probability of the wanted class needed to accept (default: 0.5)")
    p.add_argument("--max-tries", type=int, default=20, metavar="N", help="generation rounds (default: 20)")
    _sensor_args(p, required_default=False)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for windows.npz and csv/")
    _common(p)
    p.set_defaults(handler=pipeline_step("generate"))

    # evaluate -------------------------------------------------------------------
    p = add("evaluate", "score synthetic windows against real ones (TSTR, TRTR, discriminative score, MMD)",
            "hargan evaluate --real windows.npz --synthetic synthetic --int8 model_int8.tflite --out report")
    p.add_argument("--real", required=True, metavar="FILE.npz", help="real windows")
    p.add_argument("--synthetic", required=True, metavar="DIR|FILE.npz",
                   help="output folder of 'hargan generate' (or its windows.npz)")
    p.add_argument("--int8", default=None, metavar="FILE.tflite", help="int8 classifier (adds its figures)")
    p.add_argument("--preset", default="cnn1d", metavar="NAME", help="classifier preset for TSTR/TRTR (default: cnn1d)")
    p.add_argument("--quick", action="store_true", help="fewer epochs for the TSTR/TRTR classifiers")
    p.add_argument("--no-augmentation", action="store_true",
                   help="skip the augmentation-gain trainings (real + synthetic vs real only)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="average TSTR/TRTR over this many seeds (default: 1)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for metrics.json, report.md, PNGs")
    _common(p)
    p.set_defaults(handler=pipeline_step("evaluate"))

    # export -----------------------------------------------------------------------
    p = add("export", "write the int8 model, labels, sensor settings and test vectors as C for STM32CubeIDE",
            "hargan export --int8 model_int8.tflite --test-vectors windows.npz --out firmware")
    p.add_argument("--int8", required=True, metavar="FILE.tflite", help="int8 classifier")
    p.add_argument("--test-vectors", default=None, metavar="FILE.npz",
                   help="windows: class names, sensor and test vectors from their test split")
    p.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                   help="class names in output order (default: from --test-vectors)")
    p.add_argument("--name", default="har_model", help="C prefix of files and symbols (default: har_model)")
    p.add_argument("--n-test-vectors", type=int, default=10, metavar="N", help="test vectors (default: 10)")
    _sensor_args(p, required_default=False)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the .h/.c files")
    _common(p, seed=False)
    p.set_defaults(handler=pipeline_step("export"))

    # stedgeai -------------------------------------------------------------------
    p = add("stedgeai", "run ST Edge AI Core (stedgeai) analyze / validate / generate on the int8 model",
            "hargan stedgeai analyze --model model_int8.tflite --out stedgeai\n"
            "hargan stedgeai validate --model model_int8.tflite --windows windows.npz --out stedgeai\n"
            "hargan stedgeai generate --model model_int8.tflite --target stm32l4 --out stedgeai",
            description=textwrap.dedent("""\
                Wrap the ST Edge AI Core command line (stedgeai, from X-CUBE-AI / ST Edge AI Core).
                It is found on PATH, in $STEDGEAI_CORE_DIR, or given with --stedgeai."""))
    p.add_argument("action", choices=("analyze", "validate", "generate"), help="analyze, validate or generate")
    p.add_argument("--model", required=True, metavar="FILE.tflite", help="int8 model")
    p.add_argument("--target", default="stm32", help="stedgeai --target, e.g. stm32l4 (default: stm32)")
    p.add_argument("--stedgeai", default=None, metavar="PATH", help="the stedgeai executable or install folder")
    p.add_argument("--name", default="network", help="C name of the generated network (default: network)")
    p.add_argument("--compression", default=None, choices=("none", "lossless", "low", "medium", "high"),
                   help="weight compression")
    p.add_argument("--windows", default=None, metavar="FILE.npz",
                   help="validate: real windows (test split) as validation data, compared with our int8 runtime")
    p.add_argument("--mode", default="host", choices=("host", "target", "host-io-only", "target-io-only"),
                   help="validate: where the C model runs (default: host)")
    p.add_argument("--n", type=int, default=100, metavar="N", help="validate: at most this many windows (default: 100)")
    p.add_argument("--estimate", action="store_true",
                   help="analyze: when stedgeai is not installed, print the offline estimate instead of failing")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for stedgeai's reports and files")
    _common(p, seed=False)
    p.set_defaults(handler=pipeline_step("stedgeai"))
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hargan")
    except Exception:  # pragma: no cover - not installed
        return "0.1.0"


# ------------------------------------------------------------------------------ commands

def _say(msg: str) -> None:
    print(msg, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from hargan.demo import run_demo

    run_demo(args.out, quick=args.quick, seed=getattr(args, "seed", 0), force=args.force, log=_say)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hargan.config import config_text, load_config

    if args.config is None:
        if args.print_config:
            from hargan.config import Config

            sys.stdout.write(config_text(Config()))
            return 0
        raise UsageError("run: the following arguments are required: --config (see 'hargan run --help')")
    cfg = load_config(args.config)
    if hasattr(args, "seed"):
        cfg.seed = args.seed
    if args.print_config:
        sys.stdout.write(config_text(cfg))
        return 0
    from hargan.pipeline import run_pipeline

    run_pipeline(cfg, args.out, force=args.force, log=_say, until=args.until)
    return 0


def pipeline_step(name: str):
    """The handler of a single-step command: ``hargan.pipeline.cmd_<name>`` (imported when it runs,
    so ``--help`` stays fast)."""

    def handler(args: argparse.Namespace) -> int:
        from hargan import pipeline

        getattr(pipeline, "cmd_" + name.replace("-", "_"))(args, log=_say)
        return 0

    handler.__name__ = "cmd_" + name.replace("-", "_")
    return handler


# ------------------------------------------------------------------------------ native log noise

_NATIVE_LOG = None  # compiled lazily


def _is_native_noise(line: str) -> bool:
    """TensorFlow/absl/XLA C++ log lines (``I0000 00:00:... file.cc:12] ...``) and their preamble."""
    global _NATIVE_LOG
    if _NATIVE_LOG is None:
        import re

        _NATIVE_LOG = re.compile(r"^(?:[IWEF]\d{4} \d+:\d+:\d+(?:\.\d+)?\s+\d+ \S+:\d+\]|"
                                 r"WARNING: All log messages before absl::InitializeLog\(\) is called)")
    return bool(_NATIVE_LOG.match(line))


class _NativeStderrFilter:
    """Route file descriptor 2 through a thread that drops native TF/absl log lines (unless --debug).

    TF_CPP_MIN_LOG_LEVEL does not reach every library that TensorFlow, LiteRT and TFLite-Micro load,
    so their C++ start-up chatter is filtered here; everything else (Python warnings, our
    messages) passes through unchanged.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.saved: int | None = None

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, ValueError):
            self.saved = None
            return self
        import threading

        r, w = os.pipe()
        os.dup2(w, 2)
        os.close(w)
        out = self.saved

        def pump() -> None:
            with os.fdopen(r, "rb") as fh:
                for raw in fh:
                    line = raw.decode("utf-8", "replace")
                    if not _is_native_noise(line):
                        os.write(out, raw)

        self.thread = threading.Thread(target=pump, name="hargan-stderr-filter", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)  # closes the pipe's last write end: the pump sees EOF
        self.thread.join(timeout=5)
        os.close(self.saved)
        self.saved = None




@contextlib.contextmanager
def _quiet_python_logs(enabled: bool):
    """TensorFlow's Python logger at ERROR and Keras' benign UserWarnings off, for this command only."""
    if not enabled:
        yield
        return
    import logging
    import warnings

    tf_logger = logging.getLogger("tensorflow")
    old = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed.*")
            warnings.filterwarnings("ignore", message=r".*triggered tf\.function retracing.*")
            yield
    finally:
        tf_logger.setLevel(old)


# ------------------------------------------------------------------------------ entry point

def _error(msg: str) -> None:
    sys.stdout.flush()
    print(f"{PROG}: error: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 internal failure, 2 bad input/usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The flow ends in the TFLite converter, which needs Keras on TensorFlow; a shell-wide
    # KERAS_BACKEND=jax (for GAN training in one's own code) must not break the command.
    os.environ["KERAS_BACKEND"] = "tensorflow"
    debug = "--debug" in argv
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version
            return int(exc.code or 0) if not isinstance(exc.code, str) else 2
        debug = bool(getattr(args, "debug", False)) or debug
        handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
        if handler is None:
            raise UsageError("no command given (see 'hargan --help')")
        with _NativeStderrFilter(enabled=not debug and not os.environ.get("HARGAN_NATIVE_LOGS")), \
                _quiet_python_logs(enabled=not debug):
            if getattr(args, "trains_gan", False):
                import gan  # noqa: F401 - first, before TensorFlow loads: turns on the XLA compile cache
            return int(handler(args) or 0)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BaseException as exc:  # noqa: BLE001 - the one place errors become exit codes
        from har_data.errors import InputError

        if isinstance(exc, SystemExit):
            raise
        if debug:
            traceback.print_exc()
        if isinstance(exc, InputError):
            _error(str(exc))
            return 2
        _error(f"internal error: {type(exc).__name__}: {exc}"
               + ("" if debug else " (run again with --debug for the traceback)"))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
