-- A payment's identity is the provider's reference; an M-Pesa receipt is what the provider
-- says was paid, and two payments may carry the same one (every Paystack test-mode charge
-- reads "10101"). The receipt loses its UNIQUE constraint and gets a plain index (for
-- "Already paid?" and for flagging a receipt seen twice).
--
-- SQLite cannot drop a column constraint, so the table is rebuilt (sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"). That recipe turns foreign keys off around
-- its own transaction; sqlx runs every SQLite migration inside a transaction, where
-- foreign_keys cannot change, and with foreign keys on, renaming a table repoints the tables
-- that reference it. So: the new table takes the name `payments`, the two tables that
-- reference payments (payment_events, entitlements) are rebuilt after it so that they
-- reference the new one, and the old table, referenced by nothing any more, is dropped.
-- Every row keeps its values (ids included). The timeline triggers (0006) name
-- payment_events, which is rebuilt too, so they go first and come back last.
DROP TRIGGER payments_initiated;
DROP TRIGGER payments_prompt_sent;

CREATE TABLE payments_rebuilt (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    router_id            TEXT NOT NULL REFERENCES routers(id),
    plan_id              TEXT NOT NULL REFERENCES plans(id),
    provider             TEXT NOT NULL,
    amount_kes           INTEGER NOT NULL,
    msisdn               TEXT NOT NULL,
    device_mac           TEXT,
    device_ip            TEXT,
    client_ip            TEXT,
    idempotency_key      TEXT NOT NULL,
    callback_token_hash  TEXT NOT NULL UNIQUE,
    provider_ref         TEXT,
    secondary_ref        TEXT,
    state                TEXT NOT NULL,
    reason               TEXT,
    receipt              TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    paid_at              INTEGER,
    next_check_at        INTEGER,
    checks               INTEGER NOT NULL DEFAULT 0,
    UNIQUE (router_id, idempotency_key),
    UNIQUE (provider, provider_ref)
);
INSERT INTO payments_rebuilt (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip,
    client_ip, idempotency_key, callback_token_hash, provider_ref, secondary_ref, state, reason, receipt, created_at,
    updated_at, paid_at, next_check_at, checks)
SELECT id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, device_mac, device_ip,
    client_ip, idempotency_key, callback_token_hash, provider_ref, secondary_ref, state, reason, receipt, created_at,
    updated_at, paid_at, next_check_at, checks
FROM payments;
ALTER TABLE payments RENAME TO payments_replaced;
ALTER TABLE payments_rebuilt RENAME TO payments;

CREATE TABLE payment_events_rebuilt (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  TEXT NOT NULL REFERENCES payments(id),
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
INSERT INTO payment_events_rebuilt (id, payment_id, at, kind, detail) SELECT id, payment_id, at, kind, detail FROM payment_events;
DROP TABLE payment_events;
ALTER TABLE payment_events_rebuilt RENAME TO payment_events;
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);

CREATE TABLE entitlements_rebuilt (
    id                TEXT PRIMARY KEY,
    payment_id        TEXT NOT NULL UNIQUE REFERENCES payments(id),
    router_id         TEXT NOT NULL REFERENCES routers(id),
    username          TEXT NOT NULL,
    password          TEXT NOT NULL,
    device_mac        TEXT,
    expires_at        INTEGER NOT NULL,
    command_seq       INTEGER NOT NULL,
    login_seq         INTEGER,
    created_at        INTEGER NOT NULL,
    UNIQUE (router_id, username)
);
INSERT INTO entitlements_rebuilt (id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, created_at)
SELECT id, payment_id, router_id, username, password, device_mac, expires_at, command_seq, login_seq, created_at FROM entitlements;
DROP TABLE entitlements;
ALTER TABLE entitlements_rebuilt RENAME TO entitlements;

DROP TABLE payments_replaced;
CREATE INDEX payments_due ON payments (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX payments_by_phone ON payments (msisdn, created_at);
CREATE INDEX payments_by_device ON payments (device_mac, router_id, created_at);
CREATE INDEX payments_by_receipt ON payments (receipt) WHERE receipt IS NOT NULL;
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
