-- The router's clock as its agent (protocol 2) last measured it against the cloud's: its
-- clock minus ours, in milliseconds, and when that was reported (Unix ms). NULL: never
-- reported (an agent of protocol 1, or not yet connected).
ALTER TABLE routers ADD COLUMN clock_skew_ms INTEGER;
ALTER TABLE routers ADD COLUMN clock_skew_at INTEGER;
