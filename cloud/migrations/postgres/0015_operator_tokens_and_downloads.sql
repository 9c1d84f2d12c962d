-- Operator tokens get an id to be named by (in lists, logs and `operator token revoke`): the
-- first 16 hex digits of the token's hash, which tells nothing about the token. A scope
-- (tenant_id NULL: the whole platform; else that tenant's routers only), an expiry
-- (expires_at NULL: none, for tokens made before expiries existed) and a revocation time.
ALTER TABLE operator_tokens ADD COLUMN id TEXT;
ALTER TABLE operator_tokens ADD COLUMN tenant_id TEXT REFERENCES tenants(id);
ALTER TABLE operator_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE operator_tokens ADD COLUMN revoked_at BIGINT;
UPDATE operator_tokens SET id = substr(token_hash, 1, 16);
CREATE UNIQUE INDEX operator_tokens_id ON operator_tokens (id);

-- Every change made through the operator API, by which token (its id, never the token).
CREATE TABLE operator_actions (
    id          BIGSERIAL PRIMARY KEY,
    token_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    router_id   TEXT,
    detail      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX operator_actions_token ON operator_actions (token_id, at);

-- The credential a router's install script downloads its hotspot files with: not its agent
-- token (which opens a hub session) but one made from it that is good for those files
-- only. Kept as a hash, with the hash of the agent token it was made from: a new agent
-- token retires it.
CREATE TABLE router_download_tokens (
    router_id         TEXT PRIMARY KEY REFERENCES routers(id),
    token_hash        TEXT NOT NULL,
    agent_token_hash  TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
