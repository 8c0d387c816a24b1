"""`dialer dnc import`: a do-not-call file (one number per line, or a CSV with a
phone column) loaded with binary COPY as a new version of a list."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from dialer.imports.numbers import BadNumber, dnc_number
from dialer.imports.progress import Progress
from dialer.imports.source import ImportFileError, Reject, RejectsWriter
from dialer.store.lists import LoadedVersion, import_list


@dataclass(frozen=True, slots=True)
class DncResult:
    loaded: LoadedVersion
    rejected: int
    rejects_file: Path | None
    seconds: float


class DncFile:
    """Numbers from a DNC file; bad lines become rejects, memory stays constant."""

    def __init__(self, path: Path, region: str, rejects: RejectsWriter,
                 progress: Progress) -> None:
        self.path, self.region = path, region
        self.rejects, self.progress = rejects, progress
        self.column: int | None = None
        self.bytes = 0

    def _header(self, first: bytes) -> bool:
        text = first.decode("utf-8", errors="replace").strip()
        if not any(c.isalpha() for c in text):
            return False
        names = [n.strip().lower() for n in next(csv.reader([text]))]
        if "phone" not in names:
            raise ImportFileError(f"{self.path}:1: header has no 'phone' column "
                                  f"(header has: {', '.join(names)})")
        self.column = names.index("phone")
        return True

    def _value(self, raw: bytes) -> str:
        text = raw.decode("utf-8")
        if self.column is None:
            return text
        return next(csv.reader(io.StringIO(text)))[self.column]

    def _one(self, line_no: int, raw: bytes) -> int | None:
        try:
            return dnc_number(self._value(raw), self.region)
        except (BadNumber, UnicodeDecodeError, IndexError, csv.Error) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
            if isinstance(exc, IndexError):
                reason = "row has no phone field"
            self.rejects.add(Reject(line_no, reason, raw.decode("utf-8", "replace").strip()))
            return None

    def __iter__(self) -> Iterator[tuple[int]]:
        rows = 0
        with open(self.path, "rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                self.bytes += len(raw)
                if line_no == 1 and self._header(raw.removeprefix(b"\xef\xbb\xbf")):
                    continue
                if not raw.strip():
                    continue
                phone = self._one(line_no, raw)
                if phone is not None:
                    rows += 1
                    if rows % 65536 == 0:
                        self.progress.update(rows, self.bytes)
                    yield (phone,)


async def import_dnc(conn: asyncpg.Connection, path: Path, *, name: str, kind: str,
                     scope: str | None, region: str, show_progress: bool | None = None
                     ) -> DncResult:
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    rejects = RejectsWriter(path)
    progress = Progress(f"dnc {name}", os.path.getsize(path), enabled=show_progress)
    source = DncFile(path, region, rejects, progress)
    try:
        loaded = await import_list(conn, name=name, kind=kind, scope=scope,
                                   source=str(path), numbers=source)
    except BaseException:
        rejects.discard()
        progress.finish()
        raise
    seconds = progress.finish()
    return DncResult(loaded, rejects.count, rejects.commit(), seconds)
