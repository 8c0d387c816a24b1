-- 010: what the call engine's store needs beyond the base schema.

-- The status a lead had when it was leased, so that a released lease (or a deferred
-- block) puts it back as it was: a callback stays a callback.
ALTER TABLE leads ADD COLUMN lease_prior_status text
    CHECK (lease_prior_status IN ('new', 'retry', 'callback'));

-- Set when an attempt's result has been applied to its lead, so that a batch written
-- again after a lost commit acknowledgement never counts the attempt twice.
ALTER TABLE call_attempts ADD COLUMN lead_settled boolean NOT NULL DEFAULT false;

-- Callbacks due per lead (marked done when the lead is dialled again).
CREATE INDEX callbacks_lead_open ON callbacks (lead_id) WHERE done_at IS NULL;
