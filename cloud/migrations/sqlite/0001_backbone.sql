-- Tenants (router owners), their routers, and each router's command outbox.
-- Times are Unix milliseconds; ids are UUID text, so both backends share one SQL dialect.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE routers (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    next_seq        INTEGER NOT NULL DEFAULT 0,
    online_session  TEXT,
    last_seen_at    INTEGER,
    agent_version   TEXT,
    status_json     TEXT,
    status_at       INTEGER,
    UNIQUE (tenant_id, name)
);

CREATE TABLE commands (
    gid           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    router_id     TEXT NOT NULL REFERENCES routers(id),
    seq           INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER,
    received_at   INTEGER,
    finished_at   INTEGER,
    result        TEXT,
    UNIQUE (router_id, seq)
);

CREATE INDEX commands_open ON commands (router_id, seq) WHERE finished_at IS NULL;
