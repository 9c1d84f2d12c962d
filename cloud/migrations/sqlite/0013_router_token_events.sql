-- Each revocation or rotation of a router's agent token, in order. It is the audit trail
-- of who could speak for a router when, and how other processes (the server, when the CLI
-- revoked) learn of the change: SQLite's watcher polls for rows past the last `gid` it saw
-- and ends the router's live session.
CREATE TABLE router_token_events (
    gid         INTEGER PRIMARY KEY AUTOINCREMENT,
    router_id   TEXT NOT NULL REFERENCES routers(id),
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
