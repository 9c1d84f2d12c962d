-- Voucher batches: printed codes sold for cash, loaded onto routers ahead of time.
-- valid_until (Unix s): unsold codes stop working after it (NULL: never).
CREATE TABLE voucher_batches (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    plan_id       TEXT NOT NULL REFERENCES plans(id),
    count         INTEGER NOT NULL CHECK (count > 0),
    code_length   INTEGER NOT NULL,
    prefix        TEXT,
    price_kes     INTEGER,
    valid_until   INTEGER,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX voucher_batches_tenant ON voucher_batches (tenant_id, created_at);

-- The routers a batch is loaded on.
CREATE TABLE voucher_batch_routers (
    batch_id   TEXT NOT NULL REFERENCES voucher_batches(id),
    router_id  TEXT NOT NULL REFERENCES routers(id),
    PRIMARY KEY (batch_id, router_id)
);

-- The codes. state: unused | in_use | revoked ("expired" is read: unused past valid_until).
-- A code is unique per tenant (it is also the hotspot user's name on the router).
CREATE TABLE voucher_codes (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    code           TEXT NOT NULL,
    batch_id       TEXT NOT NULL REFERENCES voucher_batches(id),
    state          TEXT NOT NULL DEFAULT 'unused',
    first_used_at  INTEGER,
    device_mac     TEXT,
    used_router_id TEXT,
    revoked_at     INTEGER,
    PRIMARY KEY (tenant_id, code)
);
CREATE INDEX voucher_codes_batch ON voucher_codes (batch_id, code);
