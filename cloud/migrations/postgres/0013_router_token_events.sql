-- Each revocation or rotation of a router's agent token, in order: the audit trail of who
-- could speak for a router when. (Other instances learn of the change by NOTIFY on the
-- outbox channel, sent in the same transaction.)
CREATE TABLE router_token_events (
    gid         BIGSERIAL PRIMARY KEY,
    router_id   TEXT NOT NULL REFERENCES routers(id),
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
