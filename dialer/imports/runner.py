"""The frame every CSV import shares: open the file, keep rejects, show progress, and
on any failure (an error, a SIGINT) leave no rejects file and no rows behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from dialer.imports.progress import Progress
from dialer.imports.source import CsvRows, ImportFileError, RejectsWriter


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    rejected: int
    rejects_file: Path | None
    seconds: float


Load = Callable[[CsvRows, RejectsWriter, Progress], Awaitable[int]]


async def run_csv_import(path: Path, *, required: tuple[str, ...], label: str,
                         show_progress: bool | None, load: Load) -> ImportResult:
    """Run ``load`` (which writes the good rows in one transaction) over ``path``."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    csv_rows = CsvRows(path, required=required)
    rejects = RejectsWriter(path)
    progress = Progress(label, csv_rows.size, enabled=show_progress)
    try:
        imported = await load(csv_rows, rejects, progress)
    except BaseException:
        rejects.discard()
        raise
    finally:
        csv_rows.close()
        seconds = progress.finish()
    return ImportResult(imported, rejects.count, rejects.commit(), seconds)
