//! Tenants: the router owners.

use serde::Serialize;

use super::TenantId;

/// A router owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its display name, unique across the cloud.
    pub name: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
}
