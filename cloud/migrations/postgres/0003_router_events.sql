-- What agents did on their own (expiry enforcement, reconciliation), as they reported it.
-- (router_id, report_id) is unique so a report repeated after a lost acknowledgement is
-- stored once.
CREATE TABLE router_events (
    router_id    TEXT NOT NULL REFERENCES routers(id),
    report_id    BIGINT NOT NULL,
    happened_at  BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    PRIMARY KEY (router_id, report_id)
);
