"""The SQL of the attempt writer and the checks on the values it writes: every value is
checked when the engine calls, so a bad one fails there and never in a batch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from dialer.core.outcomes import OUTCOMES
from dialer.core.retry import RetryDecision

_BEGIN = """
WITH a AS (
    INSERT INTO call_attempts (id, campaign_id, lead_id, phone, engine_id, originate_via,
                               compliance, originated_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)
    ON CONFLICT (id) DO NOTHING
    RETURNING 1)
UPDATE leads SET status = CASE WHEN status = 'leased' THEN 'dialing' ELSE status END
WHERE id = $3 AND EXISTS (SELECT 1 FROM a)
"""
# (The status test sits in SET, not WHERE, so that the planner never prefers the partial
# index of leased leads, whose statistics are often stale, to the primary key.)

_PRIOR = ("coalesce(l.lease_prior_status, "
          "CASE WHEN l.attempts > 0 THEN 'retry' ELSE 'new' END)")


def _next_status(param: str) -> str:
    return f"CASE WHEN {param}::text = 'deferred' THEN {_PRIOR} ELSE {param}::text END"


_FINISH = f"""
WITH a AS (
    UPDATE call_attempts SET outcome = $2, ended_at = $3, lead_settled = true
    WHERE id = $1 AND NOT lead_settled
    RETURNING lead_id),
cb AS (
    UPDATE callbacks c SET done_at = $3 FROM a
    WHERE c.lead_id = a.lead_id AND c.done_at IS NULL AND c.due_at <= $3)
UPDATE leads l
SET attempts = l.attempts + $4, last_outcome = $2,
    status = CASE WHEN l.status = 'callback' THEN 'callback' ELSE {_next_status('$5')} END,
    next_attempt_at = CASE WHEN l.status = 'callback' THEN l.next_attempt_at
                           ELSE coalesce($6::timestamptz, l.next_attempt_at) END,
    lease_owner = NULL, lease_expires_at = NULL, lease_prior_status = NULL
FROM a WHERE l.id = a.lead_id AND l.status <> 'leased'
"""
# A lead leased again (its lease expired during the call) belongs to its new holder: the
# late end of the old call leaves it alone.

_DISPOSITION = """
INSERT INTO dispositions (attempt_id, agent_id, code, notes, created_at)
SELECT $1, $2, $3, $4, $5
WHERE NOT EXISTS (SELECT 1 FROM dispositions WHERE attempt_id = $1 AND created_at = $5
                  AND code = $3 AND agent_id IS NOT DISTINCT FROM $2)
"""

_SETTLE = f"""
UPDATE leads l
SET attempts = l.attempts + $3, last_outcome = $2, status = {_next_status('$4')},
    next_attempt_at = coalesce($5::timestamptz, l.next_attempt_at),
    lease_owner = NULL, lease_expires_at = NULL, lease_prior_status = NULL
WHERE l.id = $1 AND l.status IN ('leased', 'dialing')
"""


_TEXT = ("channel", "originate_via", "amd_status", "amd_cause", "hangup_cause_txt")
_TIME = ("originated_at", "answered_at", "amd_at", "bridged_at", "ended_at")
_INT = ("hangup_cause", "agent_id")
_BOOL = ("live_answer", "abandoned")
COLUMNS = frozenset((*_TEXT, *_TIME, *_INT, *_BOOL, "outcome", "compliance"))


def _lead_args(outcome: str, at: datetime | None,
               retry: RetryDecision) -> tuple[object, ...]:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {sorted(OUTCOMES)}")
    if not isinstance(retry, RetryDecision):
        raise TypeError(f"retry must be a RetryDecision, got {retry!r}")
    nxt = None if retry.next_attempt_at is None else _timestamp(
        "next_attempt_at", retry.next_attempt_at)
    when = None if at is None else _timestamp("at", at)
    return (outcome, when, int(retry.counts), retry.status, nxt)


def _column_value(name: str, value: object) -> object:
    if name not in COLUMNS:
        raise ValueError(f"call_attempts has no writable column {name!r}; "
                         f"known: {', '.join(sorted(COLUMNS))}")
    if value is None:
        return None
    if name in _TIME:
        return _timestamp(name, value)
    if name == "compliance":
        return _json_arg(name, value)
    return _scalar(name, value)


def _scalar(name: str, value: object) -> object:
    if name == "outcome" and value not in OUTCOMES:
        raise ValueError(f"outcome: unknown value {value!r}; expected one of {sorted(OUTCOMES)}")
    kind: type = str if name in (*_TEXT, "outcome") else bool if name in _BOOL else int
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        raise TypeError(f"{name}: expected {kind.__name__}, got {value!r}")
    return value


def _int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name}: expected int, got {value!r}")
    return value


def _timestamp(name: str, value: object) -> datetime:
    """An aware datetime, or POSIX seconds (int or float)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: a timezone-aware datetime is required, got {value!r}")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise TypeError(f"{name}: expected a datetime or POSIX seconds, got {value!r}")


def _json_arg(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name}: expected a mapping, got {value!r}")
    try:
        return json.dumps(dict(value), default=str)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not serialisable as JSON: {exc}") from None


def _json_loads(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def _uuid(attempt_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(attempt_id))
    except ValueError:
        raise ValueError(f"attempt_id must be a UUID, got {attempt_id!r}") from None


# ---- reads ---------------------------------------------------------------------------
