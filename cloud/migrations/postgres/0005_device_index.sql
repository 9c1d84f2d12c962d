-- The device lookup's index now starts with the MAC. Starting with router_id, it was also a
-- candidate for the idempotency lookup (router_id, idempotency_key): PostgreSQL plans a
-- prepared statement once against an empty table, chose it there, and then scanned every
-- payment of the router on each retry check for the life of the connection.
DROP INDEX payments_by_device;
CREATE INDEX payments_by_device ON payments (device_mac, router_id, created_at);
