-- The data a hotspot user used, as its router counts it (RouterOS `bytes-in`: from the
-- user, their upload; `bytes-out`: to the user, their download), reported by the router's
-- agent (protocol 2), and when it was reported (Unix ms). NULL: never reported.
ALTER TABLE entitlements ADD COLUMN bytes_in BIGINT;
ALTER TABLE entitlements ADD COLUMN bytes_out BIGINT;
ALTER TABLE entitlements ADD COLUMN usage_at BIGINT;
