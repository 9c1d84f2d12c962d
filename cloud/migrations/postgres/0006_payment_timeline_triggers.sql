-- The first two steps of a payment's timeline are written by the database, in the statement
-- that makes them true: "initiated" when the payment is inserted, "prompt_sent" when the
-- provider's reference is recorded. One statement each instead of a transaction of two.
CREATE FUNCTION payments_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO payment_events (payment_id, at, kind, detail)
        VALUES (NEW.id, NEW.created_at, 'initiated', NEW.amount_kes || ' KES from ' || NEW.msisdn || ' via ' || NEW.provider);
    ELSIF NEW.provider_ref IS NOT NULL AND NEW.provider_ref IS DISTINCT FROM OLD.provider_ref THEN
        INSERT INTO payment_events (payment_id, at, kind, detail)
        VALUES (NEW.id, NEW.updated_at, 'prompt_sent', 'provider reference ' || NEW.provider_ref);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER payments_timeline AFTER INSERT OR UPDATE OF provider_ref ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_timeline();
