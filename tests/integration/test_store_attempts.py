"""Attempt records: ordered, batched writes and what they do to the lead."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialer.campaigns import RetryRules
from dialer.core.retry import DONE, RetryDecision, decide_retry, defer_blocked
from dialer.store.agents import schedule_callback
from dialer.store.attempts import (
    AttemptWriter,
    BufferFull,
    Intent,
    WriterFailed,
    attempt,
    begin_attempts,
)
from dialer.store.hopper import lease_leads
from dialer.store.open_attempts import open_attempts

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
_phones = itertools.count(15550200000)
VERDICT = {"allowed": True, "reasons": []}


async def _campaign(db: asyncpg.Pool) -> int:
    return int(await db.fetchval(
        "INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition) "
        "VALUES ('c1', 'progressive', '+15550001111', 20, '{}') RETURNING id"))


async def _leased(db: asyncpg.Pool, cid: int, count: int = 1) -> list[int]:
    await db.executemany("INSERT INTO leads (campaign_id, phone) VALUES ($1, $2)",
                         [(cid, next(_phones)) for _ in range(count)])
    return [lead.lead_id for lead in await lease_leads(db, cid, "e1", count, 60, NOW)]


async def _lead(db: asyncpg.Pool, lead_id: int) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM leads WHERE id = $1", lead_id)


@pytest.fixture
async def writer(db: asyncpg.Pool) -> AsyncIterator[AttemptWriter]:
    w = AttemptWriter(db)
    w.start()
    yield w
    assert await w.stop(5) == 0


def _begin(w: AttemptWriter, cid: int, lead: int, at: datetime = NOW) -> str:
    aid = str(uuid.uuid4())
    w.begin(aid, cid, lead, 15550000000 + lead, "e1", "ami", VERDICT, at)
    return aid


async def test_begin_creates_the_attempt_and_marks_the_lead_dialing(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    aid = _begin(writer, cid, lead)
    await writer.flush()
    row = await attempt(db, aid)
    assert row is not None
    assert (row["id"], row["lead_id"], row["engine_id"], row["originate_via"]) == (
        aid, lead, "e1", "ami")
    assert row["compliance"] == VERDICT
    assert row["originated_at"] == row["created_at"] == NOW
    assert (await _lead(db, lead))["status"] == "dialing"


async def test_updates_set_only_the_given_columns_in_call_order(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    aid = _begin(writer, cid, lead)
    writer.update(aid, {"channel": "PJSIP/carrier-1", "amd_status": "NOTSURE"})
    writer.update(aid, {"amd_status": "HUMAN", "answered_at": NOW.timestamp() + 3})
    writer.update(aid, {"live_answer": True, "hangup_cause": 16})
    await writer.flush()
    row = await attempt(db, aid)
    assert row is not None
    assert (row["channel"], row["amd_status"], row["live_answer"], row["hangup_cause"]) == (
        "PJSIP/carrier-1", "HUMAN", True, 16)
    assert row["answered_at"] == NOW + timedelta(seconds=3)
    assert row["ended_at"] is None


@pytest.mark.parametrize(("fields", "error", "match"), [
    ({"colour": "red"}, ValueError, "'colour'"),
    ({"id": "x"}, ValueError, "'id'"),
    ({"outcome": "ringing"}, ValueError, "'ringing'"),
    ({"hangup_cause": "16"}, TypeError, "hangup_cause"),
    ({"live_answer": 1}, TypeError, "live_answer"),
    ({"answered_at": datetime(2026, 3, 2)}, ValueError, "timezone-aware"),
    ({"compliance": ["allowed"]}, TypeError, "compliance"),
])
async def test_bad_update_is_refused_when_called(
        db: asyncpg.Pool, writer: AttemptWriter, fields: dict[str, object],
        error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        writer.update(str(uuid.uuid4()), fields)
    assert writer.pending == 0


async def test_attempt_id_must_be_a_uuid(db: asyncpg.Pool, writer: AttemptWriter) -> None:
    with pytest.raises(ValueError, match="'call-1'"):
        writer.update("call-1", {"channel": "x"})
    with pytest.raises(ValueError, match="'call-1'"):
        await attempt(db, "call-1")


async def test_busy_attempt_schedules_a_retry_and_frees_the_lead(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    aid = _begin(writer, cid, lead)
    end = NOW + timedelta(seconds=5)
    writer.finish(aid, "busy", end, decide_retry("busy", 0, RetryRules(), end))
    await writer.flush()
    row = await _lead(db, lead)
    assert (row["status"], row["attempts"], row["last_outcome"]) == ("retry", 1, "busy")
    assert row["next_attempt_at"] == end + timedelta(minutes=10)
    assert (row["lease_owner"], row["lease_expires_at"]) == (None, None)
    done = await attempt(db, aid)
    assert done is not None and (done["outcome"], done["ended_at"]) == ("busy", end)
    assert await lease_leads(db, cid, "e1", 5, 60, end) == []
    assert len(await lease_leads(db, cid, "e1", 5, 60, end + timedelta(minutes=10))) == 1


async def test_human_attempt_ends_the_lead(db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    writer.finish(_begin(writer, cid, lead), "human", NOW, DONE)
    await writer.flush()
    row = await _lead(db, lead)
    assert (row["status"], row["attempts"], row["last_outcome"]) == ("done", 1, "human")


async def test_canceled_attempt_returns_the_lead_as_it_was_without_counting(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    await db.execute("UPDATE leads SET lease_prior_status = 'callback' WHERE id = $1", lead)
    writer.finish(_begin(writer, cid, lead), "canceled", NOW,
                  decide_retry("canceled", 0, RetryRules(), NOW))
    await writer.flush()
    row = await _lead(db, lead)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("callback", 0, NOW)


async def test_callback_scheduled_during_the_call_survives_its_end(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    aid = _begin(writer, cid, lead)
    await writer.flush()
    due = NOW + timedelta(days=1)
    await schedule_callback(db, lead, cid, None, due)
    writer.finish(aid, "human", NOW + timedelta(minutes=3), DONE)
    await writer.flush()
    row = await _lead(db, lead)
    assert (row["status"], row["next_attempt_at"], row["attempts"]) == ("callback", due, 1)
    assert await db.fetchval("SELECT done_at FROM callbacks WHERE lead_id = $1", lead) is None


async def test_dialling_a_due_callback_closes_it(db: asyncpg.Pool,
                                                 writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    writer.finish(_begin(writer, cid, lead), "no_answer", NOW, RetryDecision(
        "retry", NOW + timedelta(hours=2)))
    await writer.flush()
    await schedule_callback(db, lead, cid, None, NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=1, minutes=1)
    (again,) = await lease_leads(db, cid, "e1", 1, 60, later)
    writer.finish(_begin(writer, cid, lead, later), "human", later, DONE)
    await writer.flush()
    assert await db.fetchval("SELECT done_at FROM callbacks WHERE lead_id = $1", lead) == later
    assert (await _lead(db, again.lead_id))["status"] == "done"


async def test_blocked_lead_is_settled_without_an_attempt(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    deferred, ended = await _leased(db, cid, 2)
    writer.settle(deferred, "blocked", defer_blocked(["outside_calling_hours"], NOW))
    writer.settle(ended, "blocked", defer_blocked(["dnc_national"], NOW))
    await writer.flush()
    first, second = await _lead(db, deferred), await _lead(db, ended)
    assert (first["status"], first["attempts"], first["lease_owner"]) == ("new", 0, None)
    assert first["next_attempt_at"] == NOW + timedelta(minutes=30)
    assert (second["status"], second["last_outcome"]) == ("done", "blocked")


async def test_a_finished_attempt_written_twice_counts_once(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    for _ in range(2):  # the same writes again, as after a lost commit acknowledgement
        w = AttemptWriter(db)
        w.start()
        aid = str(uuid.UUID(int=lead))
        w.begin(aid, cid, lead, 15550000000, "e1", "ari", None, NOW)
        w.finish(aid, "busy", NOW, decide_retry("busy", 0, RetryRules(), NOW))
        assert await w.stop(5) == 0
    row = await _lead(db, lead)
    assert (row["status"], row["attempts"]) == ("retry", 1)
    assert await db.fetchval("SELECT count(*) FROM call_attempts") == 1


async def test_many_calls_are_written_in_few_batches_in_order(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    leads = await _leased(db, cid, 300)
    timings: list[float] = []
    w = AttemptWriter(db, batch_size=10_000, on_write=timings.append)
    ids = [_begin(w, cid, lead) for lead in leads]
    for step in ("NOTSURE", "HUMAN"):
        for aid in ids:
            w.update(aid, {"amd_status": step, "channel": f"{step}-{aid}"})
    for aid in ids:
        w.finish(aid, "machine", NOW, RetryDecision("retry", NOW + timedelta(hours=4)))
    assert w.pending == 1200
    w.start()
    await w.flush()
    assert await w.stop(5) == 0
    assert len(timings) == 1 and timings[0] > 0
    rows = await db.fetch("SELECT amd_status, outcome, channel, id FROM call_attempts")
    assert len(rows) == 300
    assert {(r["amd_status"], r["outcome"]) for r in rows} == {("HUMAN", "machine")}
    assert all(r["channel"] == f"HUMAN-{r['id']}" for r in rows)
    assert await db.fetchval("SELECT count(*) FROM leads WHERE status = 'retry' "
                             "AND attempts = 1") == 300


async def test_a_write_postgres_refuses_is_set_aside_and_the_rest_written(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    good, other = await _leased(db, cid, 2)
    refused: list[object] = []
    w = AttemptWriter(db, on_reject=refused.append)
    first = _begin(w, cid, good)
    w.begin(str(uuid.uuid4()), cid + 99, other, 15550000001, "e1", "ami", None, NOW)
    second = _begin(w, cid, other)
    w.start()
    await w.flush()
    assert await w.stop(5) == 0
    assert len(refused) == 1 and "ForeignKeyViolation" in w.rejected[0].error
    assert await attempt(db, first) is not None and await attempt(db, second) is not None


async def test_open_attempts_lists_unended_calls_of_one_engine(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    a, b, c = await _leased(db, cid, 3)
    live = _begin(writer, cid, a)
    writer.update(live, {"channel": "PJSIP/x-1", "answered_at": NOW})
    writer.finish(_begin(writer, cid, b), "busy", NOW, DONE)
    writer.begin(str(uuid.uuid4()), cid, c, 1555, "e2", "ami", None, NOW)
    await writer.flush()
    (found,) = await open_attempts(db, ["e1"])
    assert (found.attempt_id, found.lead_id, found.answered_at) == (live, a, NOW)
    assert await attempt(db, str(uuid.uuid4())) is None


async def test_full_buffer_refuses_new_writes_loudly(db: asyncpg.Pool) -> None:
    w = AttemptWriter(db, max_buffer=2)
    aid = str(uuid.uuid4())
    w.update(aid, {"channel": "a"})
    w.update(aid, {"channel": "b"})
    with pytest.raises(BufferFull, match="max_buffer 2"):
        w.update(aid, {"channel": "c"})
    assert w.pending == 2


async def test_a_failing_metric_hook_stops_the_writer_and_surfaces(db: asyncpg.Pool) -> None:
    def broken(seconds: float) -> None:
        raise ZeroDivisionError("metric sink broken")

    w = AttemptWriter(db, on_write=broken)
    w.start()
    w.update(str(uuid.uuid4()), {"channel": "a"})
    with pytest.raises(WriterFailed) as caught:
        await w.flush(timeout=5)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    with pytest.raises(WriterFailed):
        w.update(str(uuid.uuid4()), {"channel": "b"})
    with pytest.raises(WriterFailed):
        await w.stop(1)


async def test_late_end_of_a_call_leaves_a_lead_leased_again_alone(
        db: asyncpg.Pool, writer: AttemptWriter) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    aid = _begin(writer, cid, lead)
    await writer.flush()
    later = NOW + timedelta(minutes=5)
    await db.execute("UPDATE leads SET status = 'new', lease_owner = NULL WHERE id = $1", lead)
    assert [x.lead_id for x in await lease_leads(db, cid, "e2", 1, 60, later)] == [lead]
    writer.finish(aid, "no_answer", later, RetryDecision("retry", later + timedelta(hours=2)))
    await writer.flush()
    row = await _lead(db, lead)
    assert (row["status"], row["lease_owner"], row["attempts"]) == ("leased", "e2", 0)
    ended = await attempt(db, aid)
    assert ended is not None and ended["outcome"] == "no_answer"


async def test_intents_are_committed_with_their_leads_marked_dialing(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    a, b = await _leased(db, cid, 2)
    intents = [Intent(str(uuid.uuid4()), cid, lead, 15550000000 + lead, "e1", "ami",
                      VERDICT, NOW) for lead in (a, b)]
    await begin_attempts(db, intents)
    rows = await db.fetch("SELECT status FROM leads WHERE id = ANY($1::bigint[])", [a, b])
    assert [r["status"] for r in rows] == ["dialing", "dialing"]
    assert {x.attempt_id for x in await open_attempts(db, ["e1"])} == {
        i.attempt_id for i in intents}


async def test_disposition_queued_with_the_call_is_written_after_it_once(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    (lead,) = await _leased(db, cid)
    for _ in range(2):  # written twice, as after a lost commit acknowledgement
        w = AttemptWriter(db)
        aid = str(uuid.UUID(int=lead))
        w.begin(aid, cid, lead, 15550000000, "e1", "ami", None, NOW)
        w.finish(aid, "human", NOW, DONE)
        w.disposition(aid, None, "sale", "two units", NOW + timedelta(minutes=4))
        w.start()
        assert await w.stop(5) == 0
    rows = await db.fetch("SELECT code, notes, created_at FROM dispositions")
    assert [tuple(r) for r in rows] == [("sale", "two units", NOW + timedelta(minutes=4))]
