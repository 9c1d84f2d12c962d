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
    /// The IANA time zone its times are shown in (`Africa/Nairobi` unless set).
    pub time_zone: String,
    /// When the operator suspended it (its portal sells nothing, its people cannot sign in).
    pub suspended_at: Option<i64>,
}
