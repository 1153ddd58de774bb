"""The ``hargan`` command line: the whole flow (``run``, ``demo``) or any single step.

Exit status: 0 success, 2 bad input or usage (one line on stderr, no traceback unless
``--debug``, nothing written), 3 training failed (a NaN loss, too few windows accepted; one line),
1 internal failure (docs/architecture.md, "Errors"). Heavy modules (TensorFlow, Keras) are
imported only inside the commands, so ``hargan --help`` is fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence

# Quiet TensorFlow's C++ logging before anything imports it (the user can still override it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from har_data.errors import InputError, TrainingError  # noqa: E402
from hargan import classify, stedgeai  # noqa: E402
from hargan.config import Config, DataConfig, DomainConfig, config_text, load_config  # noqa: E402
from hargan.console import NativeStderrFilter, quiet_python_logs  # noqa: E402
from hargan.demo import run_demo  # noqa: E402
from hargan.flow import STEP_NAMES, STEPS, run_pipeline  # noqa: E402
from hargan.interrupt import prompt_interrupt  # noqa: E402
from hargan.steps import classifier, evaluate, export, gan, prepare, quantize, sample  # noqa: E402
from hargan.options import option  # noqa: E402
from hargan.steps.common import Command  # noqa: E402

COMMANDS: tuple[Command, ...] = (prepare.COMMAND, classifier.COMMAND, quantize.COMMAND, gan.COMMAND, sample.COMMAND,
                                 evaluate.COMMAND, export.COMMAND, classify.COMMAND, stedgeai.COMMAND)
"""The single-step commands after demo and run, in --help order. Add a command: a module with a
``COMMAND`` (see hargan.steps.common.Command) and its place here."""
GAN_COMMANDS = ("demo", "run", "train-gan")  # they train a GAN: gan is imported first (gan.compile_cache)

PROG = "hargan"
EXIT_INPUT = 2
"""Bad input or usage."""
EXIT_TRAINING = 3
"""Training failed (:class:`har_data.errors.TrainingError`): the input was fine, the result was not."""


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


def _common(p: argparse.ArgumentParser, seed: bool = True) -> None:
    g = p.add_argument_group("common options")
    if seed:
        g.add_argument("--seed", type=option("seed"), default=argparse.SUPPRESS, metavar="N",
                       help=f"random seed (the same seed gives the same result on CPU; default: {Config.seed} "
                            "or the config's)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback on errors")


def _steps(transfer: bool) -> str:
    """The steps a run takes, from the flow's registry (``STEPS``): one domain, or a transfer run."""
    cfg = Config(data=DataConfig(target=DomainConfig() if transfer else None))
    return " -> ".join(step.name for step in STEPS if step.enabled(cfg))


DEMO_DESCRIPTION = f"""\
The whole flow on the bundled real BasicMotions data (smartwatch accelerometer,
gravity removed, 4 activities, 80 recordings at 10 Hz), into one run directory:
{_steps(transfer=False)}.
The data is resampled to 12.5 Hz, the LSM6DSL output data rate closest to the
recording rate (upsampling to 26 Hz would add no information), at +-4 g.
Re-running with the same --out reuses finished steps."""

RUN_DESCRIPTION = f"""\
The whole flow from one config file (TOML or JSON):
{_steps(transfer=False)}.
With [data.target] set (a transfer run: the judge is a classifier on both domains,
the board model unless [transfer] synthetic = true; the GAN learns (domain, class)
labels):
{_steps(transfer=True)}.
Re-running with the same --out reuses finished steps whose inputs and config did
not change. 'hargan run --print-config' shows every key with its default."""


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="hargan-demo", metavar="DIR", help="run directory (default: hargan-demo)")
    p.add_argument("--quick", action="store_true", help="tiny GAN and few epochs: a smoke run in under 3 minutes")
    p.add_argument("--force", action="store_true", help="re-run every step even if unchanged")
    _add_tensorboard(p)


def _add_tensorboard(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="TensorBoard logs of the classifier and GAN training into DIR/classifier, DIR/gan, ... "
                        "(config key: tensorboard)")


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML or JSON configuration (required unless --print-config)")
    p.add_argument("--out", default="hargan-run", metavar="DIR", help="run directory (default: hargan-run)")
    p.add_argument("--force", action="store_true", help="re-run every step even if unchanged")
    p.add_argument("--until", default=None, metavar="STEP", choices=STEP_NAMES,
                   help=f"stop after this step: {', '.join(STEP_NAMES)}")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration (defaults filled in) as TOML and exit")
    _add_tensorboard(p)


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

            exit status: 0 success, 2 bad input or usage, 3 training failed, 1 internal failure."""),
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_: str, example: str, description: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, formatter_class=_Formatter,
                              description=(description or help_[0].upper() + help_[1:] + "."),
                              epilog="example:\n  " + example.replace("\n", "\n  "))

    p = add("demo", "the whole flow on the bundled real BasicMotions data (CPU, a few minutes)",
            "hargan demo --out demo-run\nhargan demo --quick --out /tmp/demo   # under 3 minutes", DEMO_DESCRIPTION)
    _add_demo(p)
    _common(p)
    p.set_defaults(handler=cmd_demo)

    p = add("run", "the whole flow from a TOML or JSON config file",
            "hargan run --config configuration.json --out dataset", RUN_DESCRIPTION)
    _add_run(p)
    _common(p)
    p.set_defaults(handler=cmd_run)

    for command in COMMANDS:
        p = add(command.name, command.help, command.example, command.description)
        command.add_arguments(p)
        _common(p, seed=command.seed)
        p.set_defaults(handler=_single_step(command))
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
    run_demo(args.out, quick=args.quick, seed=getattr(args, "seed", Config.seed), force=args.force,
             tensorboard=args.tensorboard, log=_say)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.config is None:
        if args.print_config:
            sys.stdout.write(config_text(Config()))
            return 0
        raise UsageError("run: the following arguments are required: --config (see 'hargan run --help')")
    cfg = load_config(args.config)
    if hasattr(args, "seed"):
        cfg.seed = args.seed
    if args.tensorboard is not None:
        cfg.tensorboard = args.tensorboard
    if args.print_config:
        sys.stdout.write(config_text(cfg))
        return 0
    run_pipeline(cfg, args.out, force=args.force, log=_say, until=args.until, config_file=args.config)
    return 0


def _single_step(command: Command) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        command.run(args, _say)
        return 0

    return handler


# ------------------------------------------------------------------------------ entry point

def _error(msg: str) -> None:
    sys.stdout.flush()
    print(f"{PROG}: error: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 internal failure, 2 bad input/usage,
    3 training failed)."""
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
        with NativeStderrFilter(enabled=not debug and not os.environ.get("HARGAN_NATIVE_LOGS")), \
                quiet_python_logs(enabled=not debug), prompt_interrupt(message=f"{PROG}: error: interrupted"):
            if args.command in GAN_COMMANDS:
                from gan import compile_cache  # noqa: F401 - before TensorFlow loads: the XLA compile cache
            return int(handler(args) or 0)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BaseException as exc:  # noqa: BLE001 - the one place errors become exit codes
        if isinstance(exc, SystemExit):
            raise
        if debug:
            traceback.print_exc()
        if isinstance(exc, InputError):
            _error(str(exc))
            return EXIT_INPUT
        if isinstance(exc, TrainingError):
            _error(str(exc))
            return EXIT_TRAINING
        _error(f"internal error: {type(exc).__name__}: {exc}"
               + ("" if debug else " (run again with --debug for the traceback)"))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
