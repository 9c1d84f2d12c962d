-- Every open payment is checked by reconciliation, including those whose process died
-- before the provider's answer was written (state 'initiated', no check scheduled): from
-- now on the check is set when the payment is inserted; older rows get one now.
UPDATE payments SET next_check_at = created_at
WHERE state IN ('initiated', 'pending') AND next_check_at IS NULL;
