//! The alert webhook's signing secret at rest: sealed with the operator's sealing key, as
//! the providers' credentials are (`payments/sealer.rs`), bound to its tenant so a sealed
//! value copied to another tenant's row does not open there. The owner sees the secret once,
//! when it is made; afterwards only deliveries open it, to sign.
//!
//! Secrets stored in clear before they were sealed still sign (read with a warning) and are
//! sealed when the cloud starts ([`seal_clear_secrets`], next to the providers'
//! `reseal_legacy`), so no migration has to know the key.

use crate::model::TenantId;
use crate::payments::sealer::{SealError, Sealer, is_bound};
use crate::store::alerts::Webhook;
use crate::store::{Store, StoreResult};

/// What a sealed secret is bound to: its tenant, and that it is an alert webhook's.
fn associated_data(tenant: TenantId) -> Vec<u8> {
    format!("jasiyo alert webhook secret v1\ntenant={tenant}").into_bytes()
}

/// `plain` sealed as `tenant`'s webhook secret.
pub fn seal_secret(sealer: &Sealer, tenant: TenantId, plain: &str) -> Result<String, SealError> {
    sealer.seal_bound(plain.as_bytes(), &associated_data(tenant))
}

/// The secret `stored` in `tenant`'s settings, opened. A secret stored in clear (before
/// secrets were sealed) is taken as it is, with a warning, until [`seal_clear_secrets`]
/// seals it.
pub fn open_secret(sealer: &Sealer, tenant: TenantId, stored: &str) -> Result<String, SealError> {
    if !is_bound(stored) {
        tracing::warn!(tenant = %tenant, "an alert webhook secret is stored in clear (sealed at the next start)");
        return Ok(stored.to_owned());
    }
    let plain = sealer.open_bound(stored, &associated_data(tenant))?;
    String::from_utf8(plain).map_err(|_| SealError("webhook secret is not text".into()))
}

/// A webhook to `url` with a fresh random signing secret: the webhook as it is stored
/// (secret sealed) and the secret itself, to show the owner once.
pub fn new_webhook(sealer: &Sealer, tenant: TenantId, url: String) -> Result<(Webhook, String), SealError> {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    let secret = hex::encode(key);
    let sealed_secret = seal_secret(sealer, tenant, &secret)?;
    Ok((Webhook { url, sealed_secret }, secret))
}

/// Seals every webhook secret still stored in clear (run when the cloud starts); how many
/// were sealed. A row changed meanwhile (the owner set a new webhook) is left to its new
/// value.
pub async fn seal_clear_secrets(store: &dyn Store, sealer: &Sealer) -> StoreResult<usize> {
    let mut sealed = 0;
    for (tenant, clear) in store.clear_webhook_secrets().await? {
        let Ok(new) = seal_secret(sealer, tenant, &clear) else { continue };
        if store.reseal_webhook_secret(tenant, &clear, &new).await? > 0 {
            tracing::info!(tenant = %tenant, "alert webhook secret sealed");
            sealed += 1;
        }
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_as_their_tenants() {
        let sealer = Sealer::new([5; 32]);
        let (a, b) = (TenantId(uuid::Uuid::new_v4()), TenantId(uuid::Uuid::new_v4()));
        let (webhook, secret) = new_webhook(&sealer, a, "https://a.example/hook".into()).unwrap();
        assert_eq!(secret.len(), 64);
        assert!(!webhook.sealed_secret.contains(&secret) && is_bound(&webhook.sealed_secret));
        assert_eq!(open_secret(&sealer, a, &webhook.sealed_secret).unwrap(), secret);
        assert!(open_secret(&sealer, b, &webhook.sealed_secret).is_err(), "bound to its tenant");
        assert!(open_secret(&Sealer::new([6; 32]), a, &webhook.sealed_secret).is_err(), "needs the key");
        assert_eq!(open_secret(&sealer, a, "clear-legacy").unwrap(), "clear-legacy");
    }
}
