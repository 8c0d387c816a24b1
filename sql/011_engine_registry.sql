-- 011: engines that share one database know about each other.
--
-- Every engine process registers itself with a stable id and beats a heartbeat. Leases,
-- open attempts and agent sessions of an engine whose heartbeat went stale are taken
-- over or closed by the living; never because a lease is merely old.

CREATE TABLE engines (
    id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'),
    run_id        uuid NOT NULL,          -- one per process; a new run fences the old one
    host          text NOT NULL,
    pid           integer NOT NULL,
    asterisk      text NOT NULL,          -- the Asterisk it drives (ARI address)
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz,            -- NULL once stopped cleanly
    up_since      timestamptz,            -- start of its current unbroken database link
    stopped_at    timestamptz
);
CREATE INDEX engines_asterisk ON engines (asterisk);

-- An attempt cut off by a crash is closed with the outcome `lost`.
ALTER TABLE call_attempts DROP CONSTRAINT call_attempts_outcome_check;
ALTER TABLE call_attempts ADD CONSTRAINT call_attempts_outcome_check CHECK (outcome IN (
    'human', 'machine', 'busy', 'no_answer', 'congestion', 'failed', 'answer_hangup',
    'abandoned', 'blocked', 'optout', 'broadcast', 'canceled', 'lost'));

-- Agent sessions belong to one engine, name the campaign the agent serves, and keep what
-- a restarted engine needs to put the agent back to work: the phone channel and holding
-- bridge in Asterisk, and whether the agent was ready or paused.
ALTER TABLE agent_sessions ADD COLUMN engine_id text;
ALTER TABLE agent_sessions ADD COLUMN bridge_id text;
ALTER TABLE agent_sessions ADD COLUMN paused_reason text;  -- NULL: ready when the phone is up
CREATE INDEX agent_sessions_engine_open ON agent_sessions (engine_id) WHERE logout_at IS NULL;

-- Leads still held by an engine (any state) are found by owner when it dies.
CREATE INDEX leads_lease_owner ON leads (lease_owner) WHERE lease_owner IS NOT NULL;
