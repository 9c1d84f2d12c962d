-- One STK prompt in flight per phone and per device on a router, enforced here rather than
-- by reading first: a payment claims "phone:<msisdn>" and "mac:<mac>" before it is created.
-- A claim is held while its payment is open (or, for a few seconds, before the payment
-- row exists) and until it expires; then the next payment takes it over.
CREATE TABLE prompt_claims (
    router_id   TEXT NOT NULL,
    holder      TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    claimed_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (router_id, holder)
);
