-- The hotspot's free trial per router (off when absent): minutes once a day per device,
-- enforced by RouterOS (login-by=trial on the router's server profiles).
CREATE TABLE router_trials (
    router_id   TEXT PRIMARY KEY REFERENCES routers(id),
    minutes     INTEGER NOT NULL CHECK (minutes > 0),
    updated_at  INTEGER NOT NULL
);

-- Devices seen on the trial (T-<MAC> sessions the agent reports), once per router, device
-- and UTC day (Unix ms / 86400000).
CREATE TABLE trial_uses (
    router_id      TEXT NOT NULL REFERENCES routers(id),
    mac            TEXT NOT NULL,
    day            INTEGER NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (router_id, mac, day)
);
