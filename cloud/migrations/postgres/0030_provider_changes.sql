-- Every time a tenant's payment provider is set (switched, or its credentials replaced): the
-- provider page's history. Written in the same transaction as the settings.
CREATE TABLE provider_changes (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX provider_changes_by_tenant ON provider_changes (tenant_id, at);
