"""Every outcome an attempt can end with: the one list the schema, the store, the
metrics and the retry rules agree on."""

from __future__ import annotations

OUTCOMES = frozenset({
    "human", "machine", "busy", "no_answer", "congestion", "failed", "answer_hangup",
    "abandoned", "blocked", "optout", "broadcast", "canceled",
    "lost",  # cut off by a crash or an Asterisk restart; its fate is not known
})
