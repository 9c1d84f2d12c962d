-- Plans, provider settings, payments with their timelines, and the entitlements they buy.
-- Money is whole Kenyan shillings; times are Unix milliseconds (expiries: Unix seconds).
CREATE TABLE plans (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    price_kes      INTEGER NOT NULL CHECK (price_kes > 0),
    duration_secs  INTEGER NOT NULL CHECK (duration_secs > 0),
    data_mb        INTEGER,
    rate_limit     TEXT,
    profile        TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

-- One active provider per tenant; its credentials sealed (encrypted) with the cloud's key.
-- callback_token_hash: SHA-256 of the per-tenant webhook token (Paystack's dashboard URL).
CREATE TABLE provider_configs (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants(id),
    kind                 TEXT NOT NULL,
    sealed               TEXT NOT NULL,
    callback_token_hash  TEXT NOT NULL UNIQUE,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE payments (
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
    receipt              TEXT UNIQUE,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    paid_at              INTEGER,
    next_check_at        INTEGER,
    checks               INTEGER NOT NULL DEFAULT 0,
    UNIQUE (router_id, idempotency_key),
    UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_due ON payments (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX payments_by_phone ON payments (msisdn, created_at);
CREATE INDEX payments_by_device ON payments (router_id, device_mac, created_at);

CREATE TABLE payment_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  TEXT NOT NULL REFERENCES payments(id),
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);

-- What a paid payment bought: a hotspot user on one router until an absolute expiry.
CREATE TABLE entitlements (
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

-- Daraja OAuth tokens shared by every cloud instance (a new token invalidates the old).
CREATE TABLE provider_tokens (
    cache_key   TEXT PRIMARY KEY,
    token       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
