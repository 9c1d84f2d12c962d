-- When an unsold code past its batch's valid-until was removed from the routers by the
-- expiry job (the router would otherwise still let it log in through its own login page).
-- Its state stays 'unused' (read as expired).
ALTER TABLE voucher_codes ADD COLUMN removed_at BIGINT;
