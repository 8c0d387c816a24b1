"""Streaming readers for list files: CSV with line numbers and per-line encoding
checks, plus the rejects file. Memory stays constant whatever the file size."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO


class RowError(ValueError):
    """One row is bad; the message (the reject reason) says why."""


class ImportFileError(Exception):
    """A whole-file problem (missing column, unreadable file): nothing is imported."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    reason: str
    raw: str


class LineReader:
    """Physical lines of a binary file, decoded strictly as UTF-8.

    A line that is not UTF-8 is not passed on; it is kept in ``bad`` (line, reason,
    raw) for the caller to reject. ``bytes_read`` feeds the progress bar.
    """

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.line_no = 0
        self.bytes_read = 0
        self.bad: list[Reject] = []

    def __iter__(self) -> Iterator[str]:
        for raw in self._fh:
            self.line_no += 1
            self.bytes_read += len(raw)
            if self.line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                reason = f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                self.bad.append(Reject(self.line_no, reason, text))


class CsvRows:
    """Rows of a CSV file with a header, each with its first physical line number."""

    def __init__(self, path: Path, required: tuple[str, ...]) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.lines = LineReader(self._fh)
        self._reader = csv.reader(self.lines)
        try:
            self.header = self._read_header(required)
        except BaseException:
            self._fh.close()
            raise

    def _read_header(self, required: tuple[str, ...]) -> list[str]:
        try:
            header = next(self._reader)
        except StopIteration:
            raise ImportFileError(f"{self.path}: the file is empty (no header line)") from None
        except csv.Error as exc:
            raise ImportFileError(f"{self.path}:1: unreadable header: {exc}") from None
        if self.lines.bad and self.lines.bad[0].line == 1:
            raise ImportFileError(f"{self.path}:1: header is {self.lines.bad[0].reason}")
        names = [h.strip().lower() for h in header]
        missing = [c for c in required if c not in names]
        if missing:
            raise ImportFileError(
                f"{self.path}:1: missing required column(s) {', '.join(missing)} "
                f"(header has: {', '.join(names) or 'nothing'})")
        return names

    def __iter__(self) -> Iterator[Row | Reject]:
        while True:
            start = self.lines.line_no + 1
            try:
                record = next(self._reader)
            except StopIteration:
                yield from self._drain_bad()
                return
            except csv.Error as exc:
                yield Reject(start, f"malformed CSV: {exc}", "")
                continue
            yield from self._drain_bad()
            if record and any(f.strip() for f in record):
                yield self._row(start, record)

    def _drain_bad(self) -> Iterator[Reject]:
        while self.lines.bad:
            yield self.lines.bad.pop(0)

    def _row(self, line: int, record: list[str]) -> Row | Reject:
        if len(record) != len(self.header):
            return Reject(line, f"has {len(record)} fields, header has {len(self.header)}",
                          ",".join(record))
        return Row(line, dict(zip(self.header, record, strict=True)))

    @property
    def bytes_read(self) -> int:
        return self.lines.bytes_read

    def close(self) -> None:
        self._fh.close()


class ParsedRows:
    """Records parsed from CSV rows for COPY; a row that fails its ``parse`` (RowError or
    ValueError) becomes a reject with its line number, and the import goes on."""

    def __init__(self, csv_rows: CsvRows, rejects: RejectsWriter, progress: Any) -> None:
        self.csv, self.rejects, self.progress = csv_rows, rejects, progress
        self.count = 0

    def parse(self, row: Row) -> tuple[object, ...]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        for item in self.csv:
            record = self._one(item)
            if record is None:
                continue
            self.count += 1
            if self.count % 4096 == 0:
                self.progress.update(self.count, self.csv.bytes_read)
            yield record

    def _one(self, item: Row | Reject) -> tuple[object, ...] | None:
        if isinstance(item, Reject):
            self.rejects.add(item)
            return None
        try:
            return self.parse(item)
        except (RowError, ValueError) as exc:
            self.rejects.add(Reject(item.line, str(exc), ",".join(item.fields.values())))
            return None


class RejectsWriter:
    """Writes rejects to ``<file>.rejects.csv``; only a finished import keeps it."""

    def __init__(self, source: Path) -> None:
        self.path = source.with_name(source.name + ".rejects.csv")
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._fh = open(self._tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._fh)
        self._csv.writerow(["line", "reason", "row"])
        self.count = 0

    def add(self, reject: Reject) -> None:
        self._csv.writerow([reject.line, reject.reason, reject.raw])
        self.count += 1

    def commit(self) -> Path | None:
        """Keep the file when there were rejects; remove it otherwise."""
        self._fh.close()
        if self.count == 0:
            self._tmp.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            return None
        self._tmp.replace(self.path)
        return self.path

    def discard(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)
