-- 001: the dialer's base schema.
-- Phone numbers are E.164 digits stored as bigint (+15551234567 -> 15551234567).

CREATE TABLE campaigns (
    id              serial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    status          text NOT NULL DEFAULT 'paused' CHECK (status IN ('active', 'paused', 'stopped')),
    mode            text NOT NULL CHECK (mode IN ('preview', 'progressive', 'power', 'predictive', 'broadcast')),
    call_type       text NOT NULL DEFAULT 'telemarketing' CHECK (call_type IN ('telemarketing', 'informational')),
    region          char(2) NOT NULL DEFAULT 'US',
    brand           text,
    caller_id       text NOT NULL,
    originate_via   text NOT NULL DEFAULT 'ami' CHECK (originate_via IN ('ami', 'ari')),
    ring_timeout_s  integer NOT NULL CHECK (ring_timeout_s > 0),
    abandon_target  numeric(5, 4) NOT NULL DEFAULT 0.03 CHECK (abandon_target > 0 AND abandon_target <= 1),
    time_rules      jsonb NOT NULL DEFAULT '{}',   -- calling_hours, banned_weekdays, banned_dates
    retry_rules     jsonb NOT NULL DEFAULT '{}',   -- per outcome delay, max_attempts
    recordings      jsonb NOT NULL DEFAULT '{}',   -- safe_harbor, machine_message, broadcast, optout_confirm
    definition      jsonb NOT NULL,                -- the full validated campaign definition
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leads (
    id                bigserial PRIMARY KEY,
    campaign_id       integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone             bigint NOT NULL CHECK (phone > 0),
    state             char(2),
    zip               text,
    time_zones        text[] NOT NULL DEFAULT '{}',  -- computed once at import
    custom            jsonb NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'retry', 'callback', 'leased', 'dialing', 'done', 'blocked')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL DEFAULT '-infinity',
    last_outcome      text,
    lease_owner       text,
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, phone)
);
-- The hopper's hot query: dialable leads of one campaign in due order.
CREATE INDEX leads_dialable ON leads (campaign_id, next_attempt_at, id)
    WHERE status IN ('new', 'retry', 'callback');
-- Expired leases are swept back.
CREATE INDEX leads_leased ON leads (lease_expires_at) WHERE status IN ('leased', 'dialing');
CREATE INDEX leads_phone ON leads (phone);

CREATE TABLE agents (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    endpoint    text NOT NULL,             -- e.g. PJSIP/agent1
    role        text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor')),
    token_hash  text,                      -- sha256 of the API token; never the token
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_sessions (
    id             bigserial PRIMARY KEY,
    agent_id       integer NOT NULL REFERENCES agents (id),
    campaign_id    integer REFERENCES campaigns (id),
    login_at       timestamptz NOT NULL DEFAULT now(),
    logout_at      timestamptz,
    logout_reason  text,
    channel_id     text
);
CREATE INDEX agent_sessions_open ON agent_sessions (agent_id) WHERE logout_at IS NULL;

CREATE TABLE call_attempts (
    id                uuid PRIMARY KEY,
    campaign_id       integer NOT NULL REFERENCES campaigns (id),
    lead_id           bigint REFERENCES leads (id) ON DELETE SET NULL,
    phone             bigint NOT NULL,
    source            text NOT NULL DEFAULT 'engine' CHECK (source IN ('engine', 'import')),
    engine_id         text,
    originate_via     text,
    channel           text,
    originated_at     timestamptz,
    answered_at       timestamptz,
    amd_status        text,
    amd_cause         text,
    amd_at            timestamptz,
    bridged_at        timestamptz,
    ended_at          timestamptz,
    hangup_cause      integer,
    hangup_cause_txt  text,
    outcome           text CHECK (outcome IN ('human', 'machine', 'busy', 'no_answer', 'congestion',
                                              'failed', 'answer_hangup', 'abandoned', 'blocked',
                                              'optout', 'broadcast', 'canceled')),
    live_answer       boolean NOT NULL DEFAULT false,
    abandoned         boolean NOT NULL DEFAULT false,
    agent_id          integer REFERENCES agents (id),
    compliance        jsonb,                  -- the verdict at the instant of dialing
    created_at        timestamptz NOT NULL DEFAULT now()
);
-- Frequency caps and abandon cooldowns read a number's recent attempts.
CREATE INDEX call_attempts_phone_time ON call_attempts (phone, created_at DESC);
-- Abandonment ledgers read one campaign's live answers over a window.
CREATE INDEX call_attempts_campaign_time ON call_attempts (campaign_id, created_at)
    WHERE live_answer;
-- Reconciliation after a reconnect reads the attempts still open.
CREATE INDEX call_attempts_open ON call_attempts (engine_id) WHERE ended_at IS NULL;

CREATE TABLE dispositions (
    id          bigserial PRIMARY KEY,
    attempt_id  uuid NOT NULL REFERENCES call_attempts (id),
    agent_id    integer REFERENCES agents (id),
    code        text NOT NULL,
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispositions_attempt ON dispositions (attempt_id);

CREATE TABLE callbacks (
    id           bigserial PRIMARY KEY,
    lead_id      bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    campaign_id  integer NOT NULL REFERENCES campaigns (id),
    agent_id     integer REFERENCES agents (id),   -- NULL: any agent
    due_at       timestamptz NOT NULL,
    done_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_due ON callbacks (campaign_id, due_at) WHERE done_at IS NULL;

-- Do-not-call lists. Each import is a new version, loaded into its own partition and
-- swapped in by one transaction (old partition dropped), so readers never see a
-- half-loaded list.
CREATE TABLE dnc_lists (
    id               serial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('national', 'state', 'internal', 'campaign', 'litigator')),
    scope            text,            -- country code for national, state code, campaign name
    current_version  integer,
    loaded_at        timestamptz,
    row_count        bigint NOT NULL DEFAULT 0,
    CHECK (kind <> 'state' OR scope ~ '^[A-Z]{2}$'),
    CHECK (kind <> 'campaign' OR scope IS NOT NULL)
);

CREATE TABLE dnc_list_versions (
    id          serial PRIMARY KEY,
    list_id     integer NOT NULL REFERENCES dnc_lists (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    source      text,
    row_count   bigint NOT NULL DEFAULT 0,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (list_id, version)
);
ALTER TABLE dnc_lists ADD FOREIGN KEY (current_version) REFERENCES dnc_list_versions (id);

CREATE TABLE dnc_numbers (
    version_id  integer NOT NULL,
    phone       bigint NOT NULL
) PARTITION BY LIST (version_id);

CREATE TABLE consents (
    id           bigserial PRIMARY KEY,
    phone        bigint NOT NULL,
    scope        text NOT NULL CHECK (scope ~ '^(campaign|brand):.+$'),
    type         text NOT NULL CHECK (type IN ('express_written', 'express', 'ebr_purchase', 'ebr_inquiry')),
    obtained_at  timestamptz NOT NULL,
    source       text,
    evidence     text,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_phone ON consents (phone);

CREATE TABLE opt_outs (
    id          bigserial PRIMARY KEY,
    phone       bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    channel     text NOT NULL CHECK (channel IN ('keypress', 'agent', 'api', 'cli', 'import')),
    attempt_id  uuid REFERENCES call_attempts (id),
    reason      text
);
CREATE INDEX opt_outs_phone ON opt_outs (phone);

CREATE TABLE compliance_audit (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    phone          bigint NOT NULL,
    campaign_id    integer REFERENCES campaigns (id),
    lead_id        bigint,
    attempt_id     uuid,
    allowed        boolean NOT NULL,
    reasons        text[] NOT NULL,
    details        jsonb NOT NULL DEFAULT '[]',
    list_versions  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX compliance_audit_phone ON compliance_audit (phone, at DESC);
CREATE INDEX compliance_audit_campaign ON compliance_audit (campaign_id, at DESC);
