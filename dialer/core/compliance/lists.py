"""The do-not-call lists held in memory: one pyroaring ``BitMap64`` per list version.

A ``ListSet`` is replaced, never edited, when a whole list is reloaded; single additions
go into the current bitmap in place (an added entry can only turn an allow into a block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pyroaring import BitMap64

KINDS = ("national", "state", "internal", "campaign", "litigator")
Key = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class DncList:
    """One list's current version. ``scope``: country (national), state, campaign name."""

    id: int
    name: str
    kind: str
    scope: str | None
    version: int | None
    loaded_at: datetime | None
    numbers: BitMap64 = field(default_factory=BitMap64, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True, slots=True)
class ListSet:
    """Every list, indexed by (kind, scope); the key (kind, None) holds every list of a kind.
    ``opt_outs`` holds the numbers of the opt-outs table (they count as internal)."""

    lists: Mapping[int, DncList]
    opt_outs: BitMap64
    index: Mapping[Key, tuple[DncList, ...]]

    @classmethod
    def build(cls, lists: Mapping[int, DncList], opt_outs: BitMap64 | None = None) -> ListSet:
        index: dict[Key, list[DncList]] = {}
        for dnc in lists.values():
            index.setdefault((dnc.kind, None), []).append(dnc)
            if dnc.scope is not None:
                index.setdefault((dnc.kind, dnc.scope), []).append(dnc)
        frozen = {k: tuple(v) for k, v in index.items()}
        return cls(dict(lists), opt_outs if opt_outs is not None else BitMap64(), frozen)

    def get(self, kind: str, scope: str | None = None) -> tuple[DncList, ...]:
        return self.index.get((kind, scope), ())

    def with_list(self, dnc: DncList) -> ListSet:
        return ListSet.build({**self.lists, dnc.id: dnc}, self.opt_outs)

    def without(self, list_id: int) -> ListSet:
        kept = {k: v for k, v in self.lists.items() if k != list_id}
        return ListSet.build(kept, self.opt_outs)

    def versions(self) -> dict[str, int | None]:
        return {d.name: d.version for d in self.lists.values()}

    def add(self, list_id: int, phone: int) -> bool:
        """Add one number to a loaded list in place; False when the list is unknown."""
        dnc = self.lists.get(list_id)
        if dnc is None:
            return False
        dnc.numbers.add(phone)
        return True
