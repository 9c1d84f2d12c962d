//! Plans: what a customer can buy.

use serde::Serialize;

use super::{PlanId, TenantId};

/// Something a customer can buy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Its id.
    pub id: PlanId,
    /// Its owner.
    pub tenant_id: TenantId,
    /// Shown to customers ("1 hour", "Daily").
    pub name: String,
    /// Price in whole shillings.
    pub price_kes: u32,
    /// How long access lasts once paid.
    pub duration_secs: u64,
    /// Data allowance, if limited.
    pub data_mb: Option<u64>,
    /// RouterOS rate limit shown to customers (`2M/5M`), if any.
    pub rate_limit: Option<String>,
    /// RouterOS user profile to put users in, if not `default`.
    pub profile: Option<String>,
    /// Offered on the portal.
    pub active: bool,
    /// Unix ms.
    pub created_at: i64,
}

/// A plan to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPlan {
    /// Name.
    pub name: String,
    /// Price in whole shillings (at least 1).
    pub price_kes: u32,
    /// Duration (at least a minute).
    pub duration_secs: u64,
    /// Data allowance in MB.
    pub data_mb: Option<u64>,
    /// Rate limit text.
    pub rate_limit: Option<String>,
    /// RouterOS profile.
    pub profile: Option<String>,
}
