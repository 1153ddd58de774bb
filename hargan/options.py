"""Command-line options generated from the config dataclasses: one source for every default.

A single-step command declares which fields of which ``[section]`` it takes
(:func:`add_section_options`); each becomes an option whose name, type, default, range
(:data:`hargan.config.RANGES`), choices (:data:`CHOICES`) and help (the field's docstring) come
from the dataclass, and :func:`section_from_args` turns the parsed options back into that
section's dataclass. So a new config field is one edit: the field, with its docstring.

The section's class is looked up in :class:`hargan.config.Config`'s type hints when the parser is
built, never imported by name here. Nothing heavy is imported: ``hargan --help`` stays fast
(a registry that needs Keras, the classifier presets, is read only when an option needs it).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Collection, Iterator
from typing import Any

from hargan.config import CHOICES as CONFIG_CHOICES
from hargan.config import FORMATS, RANGES, Config, Range


class LazyChoices(Collection[str]):
    """The names of a registry, read on first use: argparse only iterates or tests choices when it
    parses that option or prints that command's help, so a registry that imports Keras does not
    slow down ``hargan --help``."""

    def __init__(self, load: Callable[[], Collection[str]]):
        self._load = load

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(self._load())

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _presets() -> Collection[str]:
    from classifier.presets import PRESETS

    return PRESETS


CHOICES: dict[str, Collection[str]] = {
    **CONFIG_CHOICES,
    "classifier.preset": LazyChoices(_presets),
}
"""The registry each string setting picks from (the option lists it in its help)."""


def section_class(section: str) -> type:
    """The dataclass of ``[section]``, from :class:`~hargan.config.Config`'s annotations when called."""
    return typing.get_type_hints(Config)[section]


@functools.cache
def _class_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of the class ``cls`` itself (not its bases)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # no source (e.g. a frozen build): options without their docstring
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (a subclass's own first), the help of its option."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            docs.update(_class_docs(klass))
    return docs


def _parse(key: str, kind: type, rule: Range | None) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind``, checked against the key's range (the config file's rule)."""
    def parse(text: str):
        value = kind(text)  # a ValueError: argparse's own "invalid int value"
        problem = rule.problem(float(value)) if rule is not None else None
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = kind.__name__
    return parse


def _check_format(key: str) -> Callable[[str], str]:
    pattern, what = FORMATS[key]

    def parse(text: str) -> str:
        if not pattern.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    parse.__name__ = "str"
    return parse


def option(key: str, kind: type = int, allowed: Range | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` for a hand-declared option that mirrors the config key ``key`` (or has its
    own range ``allowed``): ``--stride 0`` is refused before any file is read, as in a config file."""
    return _parse(key, kind, allowed if allowed is not None else RANGES[key])


def _plain_type(hint: Any) -> Any:
    """The type of a field's annotation without its ``| None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def add_section_options(p: argparse.ArgumentParser | argparse._ArgumentGroup, section: str, *,
                        only: Collection[str] | None = None, skip: Collection[str] = (),
                        rename: dict[str, str] | None = None, helps: dict[str, str] | None = None) -> None:
    """One option per scalar field of ``[section]`` (``only`` those, minus ``skip``): ``--field-name``
    (or ``--<rename[field]>``), parsed into ``args.<field>``, with the field's default and docstring."""
    cls, renamed, helps = section_class(section), rename or {}, helps or {}
    hints, docs, defaults = typing.get_type_hints(cls), field_docs(cls), cls()
    for f in dataclasses.fields(cls):
        if (only is not None and f.name not in only) or f.name in skip:
            continue
        key, kind = f"{section}.{f.name}", _plain_type(hints[f.name])
        flag = "--" + renamed.get(f.name, f.name).replace("_", "-")
        default = getattr(defaults, f.name)
        text = (helps.get(f.name) or docs.get(f.name) or f.name.replace("_", " ")).replace("%", "%%")
        kw: dict[str, Any] = {"dest": f.name, "default": default}
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif kind in (int, float):
            kw.update(type=_parse(key, kind, RANGES.get(key)), metavar="N" if kind is int else "X")
        elif kind is str and key in CHOICES:
            kw.update(choices=CHOICES[key], metavar="NAME")
            text += " One of: %(choices)s."
        elif kind is str:
            kw.update(type=_check_format(key) if key in FORMATS else str, metavar="TEXT")
        else:
            raise TypeError(f"{key}: a {hints[f.name]} field has no command-line option (skip it)")
        if default not in (None, ""):
            text += " (default: %(default)s)"
        p.add_argument(flag, help=text, **kw)


def section_from_args(args: argparse.Namespace, section: str) -> Any:
    """``[section]``'s dataclass from the parsed options (fields without an option keep their defaults)."""
    cls = section_class(section)
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)})
