//! What the platform's operator sees across tenants: the tenants, and payment volumes and
//! failure rates per tenant and provider.

use async_trait::async_trait;

use super::StoreResult;
use crate::model::{Tenant, TenantId};

/// One tenant's payments through one provider since a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderVolume {
    /// The tenant.
    pub tenant: TenantId,
    /// The provider (`daraja`, `payhero`, `paystack`).
    pub provider: String,
    /// Payments started.
    pub started: i64,
    /// Paid.
    pub paid: i64,
    /// Paid, in KES.
    pub paid_kes: i64,
    /// Failed for a reason other than the customer's (not cancelled, not timed out, not a
    /// wrong PIN or short balance): the provider's or ours.
    pub failed: i64,
}

/// The operator's reads.
#[async_trait]
pub trait PlatformStore: Send + Sync {
    /// Every tenant, by name.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Payments since `since_ms`, per tenant and provider.
    async fn provider_volumes(&self, since_ms: i64) -> StoreResult<Vec<ProviderVolume>>;
}
