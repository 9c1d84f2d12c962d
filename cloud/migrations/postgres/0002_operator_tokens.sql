-- Tokens for the operator HTTP API (scripts, benchmarks, the future dashboard back end).
-- Only SHA-256 hashes of the tokens are kept.
CREATE TABLE operator_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
