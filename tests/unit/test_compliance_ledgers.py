"""Attempt and abandonment ledgers, and the binary COPY decoder that fills the lists."""

from __future__ import annotations

import contextlib
import struct
from datetime import timedelta

import pytest

from dialer.core.compliance import AbandonLedger, AttemptLedger
from dialer.core.compliance.history import HORIZON
from dialer.store.compliance_load import CopyFormatError, Int8CopySink
from tests.unit.compliance_helpers import utc

T = utc(2026, 3, 4, 12)


def test_same_attempt_noted_twice_counts_once() -> None:
    ledger = AttemptLedger()
    ledger.note(1, T, False, "a1")
    ledger.note(1, T, False, "a1")  # the feed's echo of this engine's own attempt
    assert ledger.count(1, T - timedelta(hours=1), T) == 1


def test_attempt_abandoned_later_adds_the_abandon_not_another_attempt() -> None:
    ledger = AttemptLedger()
    ledger.note(1, T, False, "a1")
    ledger.note(1, T, True, "a1")
    assert ledger.count(1, T - timedelta(hours=1), T) == 1
    assert ledger.abandoned(1, T - timedelta(hours=1), T) == 1


def test_attempts_without_id_each_count() -> None:
    ledger = AttemptLedger()
    ledger.note(1, T, False)
    ledger.note(1, T, False)
    assert ledger.count(1, T - timedelta(hours=1), T) == 2


def test_window_excludes_its_start_and_includes_now() -> None:
    ledger = AttemptLedger()
    ledger.note(1, T - timedelta(hours=24), False)
    ledger.note(1, T, False)
    assert ledger.count(1, T - timedelta(hours=24), T) == 1


def test_entries_older_than_the_horizon_are_dropped() -> None:
    ledger = AttemptLedger()
    ledger.note(1, T - HORIZON - timedelta(days=1), False)
    ledger.note(1, T, False)
    assert ledger.attempts[1] == [T.timestamp()]


def test_out_of_order_notes_stay_sorted() -> None:
    ledger = AttemptLedger()
    for hours in (1, 5, 3):
        ledger.note(1, T - timedelta(hours=hours), False)
    assert ledger.count(1, T - timedelta(hours=4), T) == 2


def test_abandon_ledger_counts_live_answers_and_abandons_per_campaign() -> None:
    ledger = AbandonLedger()
    ledger.note("sales", T, True, False, "a1")
    ledger.note("sales", T, True, True, "a1")
    ledger.note("sales", T, False, False, "a2")  # not answered: not in the rate
    ledger.note("other", T, True, True, "a3")
    assert ledger.counts("sales", T - timedelta(days=1), T) == (1, 1)


def copy_stream(values: list[int]) -> bytes:
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    rows = b"".join(struct.pack(">hiq", 1, 8, v) for v in values)
    return header + rows + b"\xff\xff"


@pytest.mark.parametrize("chunk", [1, 5, 14, 1000])
def test_copy_sink_decodes_any_chunking(chunk: int) -> None:
    values = [12125550100 + i * 7 for i in range(500)]
    data, sink = copy_stream(values), Int8CopySink()
    for i in range(0, len(data), chunk):
        _feed(sink, data[i:i + chunk])
    assert list(sink.finish()) == values


def _feed(sink: Int8CopySink, part: bytes) -> None:
    """Run the sink's coroutine to its end (it never waits on anything)."""
    coro = sink(part)
    with contextlib.suppress(StopIteration):
        coro.send(None)


def test_copy_sink_rejects_rows_that_are_not_one_bigint() -> None:
    bad = copy_stream([1, 2]).replace(struct.pack(">hiq", 1, 8, 2), struct.pack(">hiq", 2, 8, 2))
    sink = Int8CopySink()
    _feed(sink, bad)
    with pytest.raises(CopyFormatError):
        sink.finish()


def test_copy_sink_rejects_a_truncated_stream() -> None:
    sink = Int8CopySink()
    _feed(sink, copy_stream([1, 2, 3])[:-5])
    with pytest.raises(CopyFormatError, match="unexpected end"):
        sink.finish()
