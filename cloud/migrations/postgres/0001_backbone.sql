-- Tenants (router owners), their routers, and each router's command outbox.
-- Times are Unix milliseconds; ids are UUID text, so both backends share one SQL dialect.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE routers (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    next_seq        BIGINT NOT NULL DEFAULT 0,
    online_session  TEXT,
    last_seen_at    BIGINT,
    agent_version   TEXT,
    status_json     TEXT,
    status_at       BIGINT,
    UNIQUE (tenant_id, name)
);

CREATE TABLE commands (
    gid           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    router_id     TEXT NOT NULL REFERENCES routers(id),
    seq           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT,
    received_at   BIGINT,
    finished_at   BIGINT,
    result        TEXT,
    UNIQUE (router_id, seq)
);

CREATE INDEX commands_open ON commands (router_id, seq) WHERE finished_at IS NULL;
