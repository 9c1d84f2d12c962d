-- Voucher batches: printed codes sold for cash, loaded onto routers ahead of time.
-- valid_until (Unix s): unsold codes stop working after it (NULL: never).
CREATE TABLE voucher_batches (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    plan_id       TEXT NOT NULL REFERENCES plans(id),
    count         BIGINT NOT NULL CHECK (count > 0),
    code_length   BIGINT NOT NULL,
    prefix        TEXT,
    price_kes     BIGINT,
    valid_until   BIGINT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
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
    first_used_at  BIGINT,
    device_mac     TEXT,
    used_router_id TEXT,
    revoked_at     BIGINT,
    PRIMARY KEY (tenant_id, code)
);
CREATE INDEX voucher_codes_batch ON voucher_codes (batch_id, code);
