-- A voucher code that logged in on a second router while it was in use on its first
-- (used_router_id): the router it was seen on (its login there was ended and the code
-- removed from every router but the first) and when (Unix ms). NULL: never.
ALTER TABLE voucher_codes ADD COLUMN second_router_id TEXT;
ALTER TABLE voucher_codes ADD COLUMN second_seen_at INTEGER;
