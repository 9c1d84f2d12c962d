-- How each tenant's captive portal looks (set on the dashboard): a welcome line, the help
-- phone, the colour, the opening language and a small logo kept as a data: URI (the portal
-- page carries it inline, so it stays one response through the walled garden).
CREATE TABLE portal_looks (
    tenant_id      TEXT PRIMARY KEY REFERENCES tenants(id),
    welcome        TEXT,
    support_phone  TEXT,
    color          TEXT,
    language       TEXT,
    logo           TEXT
);
