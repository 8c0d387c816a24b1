"""Typed, located loading of YAML into frozen dataclasses.

YAML is read with the C safe loader into a node tree, so every value keeps the line it
came from. :func:`build` then turns a mapping into a dataclass by its type hints:
unknown keys, wrong types, missing required keys and out-of-range values each raise a
:class:`ConfigError` that names the dotted key path, the line and what was expected.

Field metadata (``field(metadata=...)``) carries the checks and the documentation:
``doc`` (one line for the reference), ``min``/``max`` (inclusive), ``pattern``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from dialer.core.errors import ConfigError

T = TypeVar("T")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class Seconds(float):
    """A duration in seconds; YAML may say ``90``, ``1.5s``, ``10m``, ``2h`` or ``30d``."""


def setting(default: Any = dataclasses.MISSING, *, doc: str = "", secret: bool = False,
            **checks: Any) -> Any:
    """A dataclass field with documentation and checks; a secret is left out of repr."""
    meta = {"doc": doc, "secret": secret, **checks}
    if isinstance(default, (list, dict, tuple)) or callable(default):
        factory = default if callable(default) else (lambda d=default: d)
        return dataclasses.field(default_factory=factory, metadata=meta, repr=not secret)
    return dataclasses.field(default=default, metadata=meta, repr=not secret)


# ---------------------------------------------------------------- YAML with lines

class Located:
    """Python data from YAML plus a map of dotted key path -> line (1-based)."""

    def __init__(self, data: Any, lines: dict[str, int], source: str | None) -> None:
        self.data, self.lines, self.source = data, lines, source

    def locate(self, err: ConfigError) -> ConfigError:
        path = err.path
        while path and path not in self.lines:
            shorter = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
            path = "" if shorter == path else shorter
        return err.located(self.source, self.lines.get(path))


def _node_data(node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = f"{path}.{key}" if path else key
            if key in out:
                raise ConfigError(sub, "duplicate key", line=key_node.start_mark.line + 1)
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _node_data(value_node, sub, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node_data(v, f"{path}[{i}]", lines) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.CSafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(text: str, source: str | None = None) -> Located:
    """Parse YAML text; syntax errors become a located :class:`ConfigError`."""
    try:
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError("(file)", f"not valid YAML: {problem}", line=line, source=source) from exc
    lines: dict[str, int] = {}
    try:
        data = {} if root is None else _node_data(root, "", lines)
    except ConfigError as err:
        raise err.located(source, err.line) from None
    return Located(data, lines, source)


def load_yaml_file(path: str | Path) -> Located:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("(file)", "file not found", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          source=str(p)) from None
    return load_yaml(text, str(p))


# ---------------------------------------------------------------- typed building

def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if tp is Seconds:
        return "a duration (e.g. 30, 1.5s, 10m, 2h, 30d)"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return f"a list of {_describe(get_args(tp)[0])}"
    if origin in (dict, Mapping):
        return f"a mapping of {_describe(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _duration(value: Any, path: str) -> Seconds:
    if isinstance(value, bool):
        raise ConfigError(path, f"expected {_describe(Seconds)}, got {value!r}")
    if isinstance(value, (int, float)):
        return Seconds(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(path, f"expected {_describe(Seconds)}, got {value!r}")
    return Seconds(float(m.group(1)) * _UNITS[m.group(2)])


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if tp is Seconds:
        return _duration(value, path)
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(path, f"expected {_describe(tp)}, got {value!r}")
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(tp, value, path)
    if origin in (list, tuple):
        return _convert_list(tp, origin, value, path)
    if origin in (dict, Mapping):
        return _convert_map(tp, value, path)
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), value, path)
    return _convert_plain(tp, value, path)


def _convert_union(tp: Any, value: Any, path: str) -> Any:
    args = get_args(tp)
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in (a for a in args if a is not type(None)):
        try:
            return _convert(arg, value, path)
        except ConfigError as err:
            errors.append(err)
    raise ConfigError(path, f"expected {_describe(tp)}, got {value!r}")


def _convert_list(tp: Any, origin: Any, value: Any, path: str) -> Any:
    if not isinstance(value, list):
        raise ConfigError(path, f"expected {_describe(tp)}, got {value!r}")
    item_tp = get_args(tp)[0]
    items = [_convert(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items


def _convert_map(tp: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected {_describe(tp)}, got {value!r}")
    _, val_tp = get_args(tp)
    return {str(k): _convert(val_tp, v, f"{path}.{k}") for k, v in value.items()}


def _convert_plain(tp: Any, value: Any, path: str) -> Any:
    ok = (
        (tp is bool and isinstance(value, bool))
        or (tp is int and isinstance(value, int) and not isinstance(value, bool))
        or (tp is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (tp is str and isinstance(value, (str, int, float)) and not isinstance(value, bool))
    )
    if not ok:
        raise ConfigError(path, f"expected {_describe(tp)}, got {value!r}")
    return tp(value)


def _check(f: dataclasses.Field[Any], value: Any, path: str) -> None:
    meta = f.metadata
    if value is None:
        return
    if "min" in meta and value < meta["min"]:
        raise ConfigError(path, f"must be at least {meta['min']}, got {value!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(path, f"must be at most {meta['max']}, got {value!r}")
    if "pattern" in meta and not re.fullmatch(meta["pattern"], str(value)):
        raise ConfigError(path, f"must match {meta['pattern']}, got {value!r}")


def build(cls: type[T], raw: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from mapping ``raw``; defaults fill what is absent."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(path or "(top)", f"expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls))}
    for key in raw:
        if key not in fields:
            allowed = ", ".join(sorted(fields))
            raise ConfigError(_join(path, key), f"unknown key (allowed here: {allowed})")
    values = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name in raw:
            values[name] = _convert(hints[name], raw[name], sub)
            _check(f, values[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(sub, f"required key is missing (expected {_describe(hints[name])})")
    return cls(**values)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def reference(cls: type, path: str = "") -> list[tuple[str, str, Any]]:
    """Every key of ``cls`` (recursively): (dotted path, doc, default)."""
    out: list[tuple[str, str, Any]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        sub = _join(path, f.name)
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)")
        out.append((sub, f.metadata.get("doc", ""), default))
        if dataclasses.is_dataclass(tp):
            out.extend(reference(typing.cast(type, tp), sub))
    return out
