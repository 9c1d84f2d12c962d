-- Rate-limit counters shared by every cloud instance: one row per key (a phone from an
-- address, a device, an address, a router, a tenant, everything) and fixed window, bumped
-- atomically by an upsert. Rows past expires_at are deleted in the background.
CREATE TABLE rate_counters (
    counter_key   TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (counter_key, window_start)
);
CREATE INDEX rate_counters_expiry ON rate_counters (expires_at);
