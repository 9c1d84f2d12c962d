-- Settings a tenant switched away from, the latest per provider, kept so that payments still
-- in flight on that provider settle: their callbacks are parsed and verified, and their
-- status asked, with the settings they were started under (Paystack's webhook token too).
CREATE TABLE provider_history (
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    kind                 TEXT NOT NULL,
    sealed               TEXT NOT NULL,
    callback_token_hash  TEXT NOT NULL UNIQUE,
    replaced_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);
