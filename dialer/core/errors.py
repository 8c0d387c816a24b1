"""Errors shared by the pure core and the layers around it."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is wrong.

    ``path`` is the dotted key path (``campaigns.sales.ring_timeout``), ``message`` says
    what was expected. The config loader adds the file and line before showing it.
    """

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 source: str | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.path}: {self.message}"

    def located(self, source: str | None, line: int | None) -> ConfigError:
        """A copy that names the file and line."""
        return ConfigError(self.path, self.message, line=line, source=source)


class IllegalTransition(RuntimeError):
    """A state machine got an event its table does not allow in the current state."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        self.machine, self.state, self.event = machine, state, event
        super().__init__(f"{machine}: no transition from state {state!r} on event {event!r}")
