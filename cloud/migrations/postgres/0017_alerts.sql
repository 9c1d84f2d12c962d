-- Alerts: a condition found by the evaluator (a router offline, payments failing...) for a
-- tenant, about one subject (a router's id, or "payments"). An alert opens once: at most one
-- open row per (tenant, kind, subject), so evaluators on several instances racing to open it
-- insert it once and only the one that did notifies. It closes when the condition clears.
-- open_delivery / close_delivery say how telling the owner went ("pending", then what was
-- sent and what failed).
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    detail          TEXT NOT NULL,
    opened_at       BIGINT NOT NULL,
    closed_at       BIGINT,
    open_delivery   TEXT NOT NULL DEFAULT 'pending',
    close_delivery  TEXT
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (tenant_id, kind, subject) WHERE closed_at IS NULL;
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, opened_at);

-- A tenant's alert thresholds and webhook (no row: the defaults, no webhook). The webhook's
-- secret signs each delivery (HMAC-SHA256); it is shown to the owner once.
CREATE TABLE alert_settings (
    tenant_id        TEXT PRIMARY KEY REFERENCES tenants(id),
    offline_minutes  BIGINT NOT NULL,
    quiet_hours      BIGINT NOT NULL,
    failures         BIGINT NOT NULL,
    webhook_url      TEXT,
    webhook_secret   TEXT
);
