//! What a router's captive portal offers: the owner's name, the router's name and the
//! plans on sale.

use jasiyo_shared::RouterId;

use super::service::Payments;
use crate::model::{Plan, PortalLook};
use crate::store::StoreResult;

/// The portal's offer on one router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The owner's business name.
    pub owner: String,
    /// The router's name.
    pub router_name: String,
    /// The plans on sale (active ones), in the owner's order.
    pub plans: Vec<Plan>,
    /// How the owner wants the portal to look.
    pub look: PortalLook,
}

impl Payments {
    /// The offer on `router`; `None` for an unknown or revoked router, or one whose owner
    /// the operator suspended.
    pub async fn offer(&self, router: RouterId) -> StoreResult<Option<Offer>> {
        let Some(found) = self.store.router(router).await?.filter(|r| r.revoked_at.is_none()) else { return Ok(None) };
        let Some(tenant) = self.store.find_tenant(&found.tenant_id.to_string()).await?.filter(|t| t.suspended_at.is_none()) else {
            return Ok(None);
        };
        let mut plans = self.store.list_plans(found.tenant_id).await?;
        plans.retain(|p| p.active);
        let look = self.store.portal_look(tenant.id).await?;
        Ok(Some(Offer { owner: tenant.name, router_name: found.name, plans, look }))
    }
}
