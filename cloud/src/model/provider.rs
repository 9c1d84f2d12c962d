//! Payment providers as nouns: which one, and a tenant's stored (sealed) settings.

use serde::{Deserialize, Serialize};

use super::TenantId;

/// Which provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Safaricom Daraja.
    Daraja,
    /// PayHero.
    Payhero,
    /// Paystack.
    Paystack,
}

impl ProviderKind {
    /// The name used in URLs, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Daraja => "daraja",
            ProviderKind::Payhero => "payhero",
            ProviderKind::Paystack => "paystack",
        }
    }

    /// Reads a name.
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text {
            "daraja" => Some(ProviderKind::Daraja),
            "payhero" => Some(ProviderKind::Payhero),
            "paystack" => Some(ProviderKind::Paystack),
            _ => None,
        }
    }
}

/// How a tenant's provider settings are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredProvider {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Which provider.
    pub kind: ProviderKind,
    /// The sealed (encrypted) settings.
    pub sealed: String,
}
