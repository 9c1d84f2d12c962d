-- When each router's agent last connected and when its last session ended, so the pages
-- can say "online since" and "offline since". Routers already known take their last-seen
-- time for whichever applies (the best this database knows of them).
ALTER TABLE routers ADD COLUMN connected_at BIGINT;
ALTER TABLE routers ADD COLUMN disconnected_at BIGINT;
UPDATE routers SET connected_at = last_seen_at WHERE online_session IS NOT NULL;
UPDATE routers SET disconnected_at = last_seen_at WHERE online_session IS NULL;
