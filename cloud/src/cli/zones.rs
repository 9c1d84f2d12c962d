//! The time zone a command's output is shown in: the tenant's own.

use anyhow::Context;
use jasiyo_shared::RouterId;
use jiff::tz::TimeZone;

use crate::model::TenantId;
use crate::store::Store;
use crate::time::zone_or_default;

/// The tenant's time zone.
pub(super) async fn of_tenant(store: &dyn Store, tenant: TenantId) -> anyhow::Result<TimeZone> {
    let tenant = store.find_tenant(&tenant.to_string()).await?.with_context(|| format!("no tenant {tenant}"))?;
    Ok(zone_or_default(&tenant.time_zone))
}

/// The time zone of the router's owner.
pub(super) async fn of_router(store: &dyn Store, router: RouterId) -> anyhow::Result<TimeZone> {
    let found = store.router(router).await?.with_context(|| format!("no router {router}"))?;
    of_tenant(store, found.tenant_id).await
}
