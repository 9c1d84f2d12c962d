-- The agent's own counters (protocol 3), as it last reported them with a status: JSON of
-- jasiyo_shared::AgentCounters, written with status_json. routeros_errors is their total
-- of RouterOS errors, kept apart for the metrics' top routers.
ALTER TABLE routers ADD COLUMN counters_json TEXT;
ALTER TABLE routers ADD COLUMN routeros_errors BIGINT;
