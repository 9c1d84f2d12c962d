-- A payment's identity is the provider's reference; an M-Pesa receipt is what the provider
-- says was paid, and two payments may carry the same one (every Paystack test-mode charge
-- reads "10101"). The receipt loses its UNIQUE constraint and gets a plain index (for
-- "Already paid?" and for flagging a receipt seen twice).
ALTER TABLE payments DROP CONSTRAINT payments_receipt_key;
CREATE INDEX payments_by_receipt ON payments (receipt) WHERE receipt IS NOT NULL;
