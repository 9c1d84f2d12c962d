-- When "Already paid?" last moved the plan to a device other than the one that paid
-- (Unix ms): one such move a day, so a receipt and a phone number are not enough to keep
-- taking a plan back and forth. The owner can clear it (payment reset-moves).
ALTER TABLE entitlements ADD COLUMN moved_away_at BIGINT;
