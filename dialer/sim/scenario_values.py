"""The values of a scenario file: durations, probabilities, counts and duration
distributions, each checked with a ConfigError that names its key path."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer.core.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|m|s|ms)?\s*$")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}


@dataclass(frozen=True, slots=True)
class Dist:
    """A duration distribution: fixed, uniform(low, high), lognormal(mean, cv), exponential."""

    kind: str
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.a)
        sigma2 = math.log(1.0 + self.b * self.b)
        return rng.lognormvariate(math.log(self.a) - sigma2 / 2.0, math.sqrt(sigma2))


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path or "(top level)", f"expected a mapping, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def parse_duration(value: Any, path: str) -> float:
    """Seconds from a number or a string like ``90s``, ``15m``, ``3h``."""
    if isinstance(value, bool):
        raise ConfigError(path, "expected a duration (seconds, or like 15m, 3h), got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value)) if isinstance(value, str) else None
        if match is None:
            raise ConfigError(path, f"expected a duration (seconds, or like 15m, 3h), "
                                    f"got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0 or not math.isfinite(seconds):
        raise ConfigError(path, f"must be a finite duration >= 0, got {value!r}")
    return seconds


def _required(doc: Mapping[str, Any], path: str, key: str) -> Any:
    if key not in doc:
        raise ConfigError(_join(path, key), "is required")
    return doc[key]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _keys(doc: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    for key in doc:
        if key not in allowed:
            raise ConfigError(_join(path, str(key)),
                              f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(path, f"expected a number, got {value!r}")
    return float(value)


def _share(value: Any, path: str) -> float:
    x = _number(value, path)
    if not 0.0 <= x <= 1.0:
        raise ConfigError(path, f"expected a probability between 0 and 1, got {value!r}")
    return x


def _positive(x: float, path: str) -> float:
    if x <= 0:
        raise ConfigError(path, "must be greater than 0")
    return x


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(path, f"expected a whole number >= 0, got {value!r}")
    return value


def _dist(value: Any, path: str) -> Dist:
    if not isinstance(value, Mapping):
        return Dist("fixed", parse_duration(value, path))
    if len(value) != 1:
        raise ConfigError(path, "expected one of fixed, uniform, lognormal, exponential")
    kind, arg = next(iter(value.items()))
    where = _join(path, str(kind))
    if kind in ("fixed", "exponential"):
        return Dist(kind, parse_duration(arg, where))
    if kind == "uniform":
        return _uniform(arg, where)
    if kind == "lognormal":
        return _lognormal(arg, where)
    raise ConfigError(where, "unknown distribution; expected fixed, uniform, lognormal, "
                             "exponential")


def _uniform(arg: Any, path: str) -> Dist:
    if not isinstance(arg, list) or len(arg) != 2:
        raise ConfigError(path, f"expected [low, high], got {arg!r}")
    low, high = (parse_duration(v, f"{path}[{i}]") for i, v in enumerate(arg))
    if high < low:
        raise ConfigError(path, f"high ({high:g}) is below low ({low:g})")
    return Dist("uniform", low, high)


def _lognormal(arg: Any, path: str) -> Dist:
    spec = _mapping(arg, path)
    _keys(spec, path, {"mean", "cv"})
    mean = _positive(parse_duration(_required(spec, path, "mean"), f"{path}.mean"),
                     f"{path}.mean")
    cv = _positive(_number(_required(spec, path, "cv"), f"{path}.cv"), f"{path}.cv")
    return Dist("lognormal", mean, cv)
