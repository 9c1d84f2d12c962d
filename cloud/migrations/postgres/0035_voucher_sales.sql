-- Voucher sales are read from the codes' first use (see store/voucher_sales.rs): listed
-- newest first per tenant, and totalled by day.
CREATE INDEX voucher_codes_sold ON voucher_codes (tenant_id, first_used_at) WHERE first_used_at IS NOT NULL;
