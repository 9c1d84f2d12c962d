//! The tenant's portal look and business name, as the owner sets them on the dashboard
//! and the portal page reads them.

use async_trait::async_trait;

use super::StoreResult;
use crate::model::{PortalLook, TenantId};

/// Portal looks.
#[async_trait]
pub trait LookStore: Send + Sync {
    /// The tenant's portal look (the default when never set).
    async fn portal_look(&self, tenant: TenantId) -> StoreResult<PortalLook>;
    /// Replaces the tenant's portal look (checked by the caller).
    async fn set_portal_look(&self, tenant: TenantId, look: &PortalLook) -> StoreResult<()>;
    /// Renames the tenant (its business name, unique): [`super::StoreError::Conflict`] when
    /// another has it; false when there is no such tenant.
    async fn rename_tenant(&self, tenant: TenantId, name: &str) -> StoreResult<bool>;
}
