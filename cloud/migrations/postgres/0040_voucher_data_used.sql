-- A voucher code's data used: its hotspot user's byte totals as the router last counted
-- them (the agent's usage reports), with when they were reported (Unix ms). NULL until a
-- router reports traffic for the code.
ALTER TABLE voucher_codes ADD COLUMN bytes_in BIGINT;
ALTER TABLE voucher_codes ADD COLUMN bytes_out BIGINT;
ALTER TABLE voucher_codes ADD COLUMN usage_at BIGINT;
