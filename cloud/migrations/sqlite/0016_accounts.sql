-- People who sign in to the dashboard. An owner or staff account belongs to one tenant; an
-- operator account (tenant_id NULL) sees the platform. E-mail addresses are stored
-- lower-cased and are unique across the cloud. password_hash is an argon2id PHC string,
-- NULL while an invitation has not been accepted.
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT REFERENCES tenants(id),
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    phone          TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT,
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER
);
CREATE INDEX accounts_by_tenant ON accounts (tenant_id);

-- Signed-in sessions, by the hash of the cookie's token (the token itself is never kept).
-- A session ends at expires_at, or once idle (last_seen_at too old), or at sign-out.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);

-- One-time links (password reset, staff invitation), by the hash of their token.
CREATE TABLE account_links (
    token_hash  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    purpose     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- What people did in the dashboard that changes something (money settings, complaints).
CREATE TABLE account_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT,
    account_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX account_actions_by_tenant ON account_actions (tenant_id, at);

-- A suspended tenant's portal sells nothing and its people cannot sign in.
ALTER TABLE tenants ADD COLUMN suspended_at INTEGER;

-- The dashboard lists a tenant's payments newest first, a page at a time.
CREATE INDEX payments_by_tenant ON payments (tenant_id, created_at, id);
