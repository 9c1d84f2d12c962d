-- What must still be told about alerts, so that a delivery survives a restart: one row per
-- alert change ('opened', 'closed') and channel ('mail' to the owners, 'webhook'), written in
-- the same transaction that opens or closes the alert. A delivery loop claims due rows by
-- moving due_at past a lease (a conditional UPDATE: two instances never claim one row), tries
-- each, and either finishes it (done_at, due_at NULL) or makes it due again after a doubling
-- backoff; attempts counts the tries. outcome is what the last try said.
CREATE TABLE alert_deliveries (
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    change    TEXT NOT NULL,
    channel   TEXT NOT NULL,
    due_at    INTEGER,
    attempts  INTEGER NOT NULL DEFAULT 0,
    done_at   INTEGER,
    outcome   TEXT NOT NULL DEFAULT 'pending',
    PRIMARY KEY (alert_id, change, channel)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (due_at) WHERE due_at IS NOT NULL;

-- Alerts whose telling was still pending under the old, in-memory delivery: due now.
INSERT INTO alert_deliveries (alert_id, change, channel, due_at)
SELECT a.id, 'opened', c.channel, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM alerts a, (SELECT 'mail' AS channel UNION ALL SELECT 'webhook') c
WHERE a.open_delivery = 'pending';
INSERT INTO alert_deliveries (alert_id, change, channel, due_at)
SELECT a.id, 'closed', c.channel, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM alerts a, (SELECT 'mail' AS channel UNION ALL SELECT 'webhook') c
WHERE a.close_delivery = 'pending';
