-- 002: the compliance filter's live feed. Every change that can block a number is
-- announced on the channel `dialer_compliance` with a small JSON payload, so every
-- running filter applies it within a second.
--
-- Bulk loads (a new list version, an attempts import) set `SET LOCAL dialer.bulk_load =
-- 'on'` so that no row is announced one by one; they announce the whole change once.

CREATE FUNCTION dialer_bulk_load() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('dialer.bulk_load', true), '') = 'on' $$;

-- An opt-out blocks at once, everywhere.
CREATE FUNCTION dialer_notify_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialer_compliance',
                      json_build_object('t', 'optout', 'phone', NEW.phone)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER opt_outs_notify AFTER INSERT ON opt_outs
    FOR EACH ROW WHEN (NOT dialer_bulk_load()) EXECUTE FUNCTION dialer_notify_opt_out();

-- A list created, deleted, or swapped to a new version: filters reload that list.
CREATE FUNCTION dialer_notify_list() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id integer := coalesce(NEW.id, OLD.id);
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.current_version IS NOT DISTINCT FROM OLD.current_version
       AND NEW.kind = OLD.kind AND NEW.scope IS NOT DISTINCT FROM OLD.scope
       AND NEW.name = OLD.name THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('dialer_compliance',
                      json_build_object('t', 'list', 'id', row_id, 'op', lower(TG_OP))::text);
    RETURN NULL;
END $$;
CREATE TRIGGER dnc_lists_notify AFTER INSERT OR UPDATE OR DELETE ON dnc_lists
    FOR EACH ROW EXECUTE FUNCTION dialer_notify_list();

-- A single number added to a list's current version (API, agent): announced alone.
CREATE FUNCTION dialer_notify_dnc_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target integer;
BEGIN
    SELECT id INTO target FROM dnc_lists WHERE current_version = NEW.version_id;
    IF FOUND THEN
        PERFORM pg_notify('dialer_compliance', json_build_object(
            't', 'dnc', 'list', target, 'version', NEW.version_id, 'phone', NEW.phone)::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER dnc_numbers_notify AFTER INSERT ON dnc_numbers
    FOR EACH ROW WHEN (NOT dialer_bulk_load()) EXECUTE FUNCTION dialer_notify_dnc_number();

-- A consent given, revoked or changed.
CREATE FUNCTION dialer_notify_consent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialer_compliance', json_build_object(
        't', 'consent', 'id', NEW.id, 'phone', NEW.phone, 'scope', NEW.scope,
        'type', NEW.type, 'obtained_at', NEW.obtained_at, 'expires_at', NEW.expires_at,
        'revoked_at', NEW.revoked_at)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER consents_notify AFTER INSERT OR UPDATE ON consents
    FOR EACH ROW WHEN (NOT dialer_bulk_load()) EXECUTE FUNCTION dialer_notify_consent();

-- An attempt placed, answered or abandoned, by any engine: frequency caps, abandon
-- cooldowns and the campaign's abandonment ledger count it.
CREATE FUNCTION dialer_notify_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.live_answer = OLD.live_answer
       AND NEW.abandoned = OLD.abandoned THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('dialer_compliance', json_build_object(
        't', 'attempt', 'id', NEW.id, 'phone', NEW.phone,
        'campaign', (SELECT name FROM campaigns WHERE id = NEW.campaign_id),
        'at', coalesce(NEW.originated_at, NEW.created_at),
        'live', NEW.live_answer, 'abandoned', NEW.abandoned)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER call_attempts_notify AFTER INSERT OR UPDATE ON call_attempts
    FOR EACH ROW WHEN (NOT dialer_bulk_load()) EXECUTE FUNCTION dialer_notify_attempt();

-- Loading consents for the numbers still in force, and the recent attempts of a window.
CREATE INDEX call_attempts_created ON call_attempts (created_at);
