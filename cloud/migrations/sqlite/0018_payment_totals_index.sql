-- The dashboard's totals (count, paid, paid KES) of a tenant's payments under any filter of
-- state, router, plan and dates, read from this index alone: without it a filtered total
-- over a large tenant reads each matching row from the table (seconds at a million). Its
-- dates come first, so a page of the listing, newest first, can read it in order too.
CREATE INDEX payments_tenant_totals ON payments (tenant_id, created_at, state, router_id, plan_id, amount_kes);
