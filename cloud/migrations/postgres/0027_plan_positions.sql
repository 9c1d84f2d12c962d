-- Each plan's place in the order the owner wants the portal to show them (1 first).
-- Existing plans take the order the portal showed them in until now: shortest first, then
-- cheapest, then least data (unlimited last), then by name (byte order, as the portal
-- compared them).
ALTER TABLE plans ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
UPDATE plans SET position = 1 + (
    SELECT COUNT(*) FROM plans o
    WHERE o.tenant_id = plans.tenant_id
      AND (o.duration_secs, o.price_kes, COALESCE(o.data_mb, 9223372036854775807), o.name COLLATE "C")
        < (plans.duration_secs, plans.price_kes, COALESCE(plans.data_mb, 9223372036854775807), plans.name COLLATE "C")
);
