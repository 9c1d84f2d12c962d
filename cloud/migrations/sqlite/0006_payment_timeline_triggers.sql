-- The first two steps of a payment's timeline are written by the database, in the statement
-- that makes them true: "initiated" when the payment is inserted, "prompt_sent" when the
-- provider's reference is recorded. One statement each instead of a transaction of two.
CREATE TRIGGER payments_initiated AFTER INSERT ON payments
BEGIN
    INSERT INTO payment_events (payment_id, at, kind, detail)
    VALUES (NEW.id, NEW.created_at, 'initiated', NEW.amount_kes || ' KES from ' || NEW.msisdn || ' via ' || NEW.provider);
END;

CREATE TRIGGER payments_prompt_sent AFTER UPDATE OF provider_ref ON payments
    WHEN NEW.provider_ref IS NOT NULL AND NEW.provider_ref IS NOT OLD.provider_ref
BEGIN
    INSERT INTO payment_events (payment_id, at, kind, detail)
    VALUES (NEW.id, NEW.updated_at, 'prompt_sent', 'provider reference ' || NEW.provider_ref);
END;
