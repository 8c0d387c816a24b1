"""ARI resources (Channel, Bridge, Playback...) as frozen dataclasses, parsed once from
the JSON models of Asterisk's api-docs. A missing or ill-typed field raises
:class:`AriModelError` naming the model and the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class AriModelError(ValueError):
    """A JSON object lacks a field its model requires, or has the wrong type."""


class Obj:
    """Typed reads from one JSON object; ``where`` names it in errors."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise AriModelError(f"{where}: expected a JSON object, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.where = where

    def _get(self, key: str, kind: type | tuple[type, ...], required: bool) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                raise AriModelError(f"{self.where}.{key} is missing")
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise AriModelError(f"{self.where}.{key} should be {_kind_name(kind)}, "
                                f"got {type(value).__name__}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, str, True))

    def opt_text(self, key: str, default: str = "") -> str:
        value = self._get(key, str, False)
        return default if value is None else str(value)

    def integer(self, key: str) -> int:
        return int(self._get(key, int, True))

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, int, False)
        return None if value is None else int(value)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, bool, False))

    def obj(self, key: str) -> Obj:
        return Obj(self._get(key, dict, True), f"{self.where}.{key}")

    def opt_obj(self, key: str) -> Obj | None:
        value = self._get(key, dict, False)
        return None if value is None else Obj(value, f"{self.where}.{key}")

    def texts(self, key: str) -> tuple[str, ...]:
        values = self._get(key, list, False) or []
        if not all(isinstance(v, str) for v in values):
            raise AriModelError(f"{self.where}.{key} should be a list of strings")
        return tuple(values)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)


@dataclass(frozen=True, slots=True)
class CallerId:
    name: str
    number: str


@dataclass(frozen=True, slots=True)
class DialplanCep:
    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    state: str
    caller: CallerId
    connected: CallerId
    dialplan: DialplanCep | None
    creationtime: str


@dataclass(frozen=True, slots=True)
class Bridge:
    id: str
    technology: str
    bridge_type: str
    name: str
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Playback:
    id: str
    media_uri: str
    target_uri: str
    state: str


@dataclass(frozen=True, slots=True)
class AsteriskPing:
    asterisk_id: str
    timestamp: str


def _caller(o: Obj | None) -> CallerId:
    if o is None:
        return CallerId("", "")
    return CallerId(name=o.opt_text("name"), number=o.opt_text("number"))


def _dialplan(o: Obj | None) -> DialplanCep | None:
    if o is None:
        return None
    return DialplanCep(context=o.opt_text("context"), exten=o.opt_text("exten"),
                       priority=o.opt_integer("priority") or 0, app_name=o.opt_text("app_name"),
                       app_data=o.opt_text("app_data"))


def channel_from(o: Obj) -> Channel:
    return Channel(id=o.text("id"), name=o.text("name"), state=o.text("state"),
                   caller=_caller(o.opt_obj("caller")),
                   connected=_caller(o.opt_obj("connected")),
                   dialplan=_dialplan(o.opt_obj("dialplan")),
                   creationtime=o.opt_text("creationtime"))


def bridge_from(o: Obj) -> Bridge:
    return Bridge(id=o.text("id"), technology=o.opt_text("technology"),
                  bridge_type=o.opt_text("bridge_type"), name=o.opt_text("name"),
                  channels=o.texts("channels"))


def playback_from(o: Obj) -> Playback:
    return Playback(id=o.text("id"), media_uri=o.opt_text("media_uri"),
                    target_uri=o.opt_text("target_uri"), state=o.text("state"))


def parse_channel(data: object) -> Channel:
    return channel_from(Obj(data, "Channel"))


def parse_bridge(data: object) -> Bridge:
    return bridge_from(Obj(data, "Bridge"))


def parse_playback(data: object) -> Playback:
    return playback_from(Obj(data, "Playback"))


def parse_ping(data: object) -> AsteriskPing:
    o = Obj(data, "AsteriskPing")
    return AsteriskPing(asterisk_id=o.opt_text("asterisk_id"), timestamp=o.opt_text("timestamp"))
