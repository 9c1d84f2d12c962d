//! A shop for tests that run the cloud as a process: a tenant's one-hour plan at 20 KES,
//! and one provider on the payment emulator, sealed with [`TEST_SECRET_KEY`], the key such
//! a cloud is given ([`sealing_key_env`]).

use base64::Engine;
use jasiyo_cloud::model::{NewPlan, Plan, ProviderKind, TenantId};
use jasiyo_cloud::payments::providers_config::seal_settings;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;

use crate::harness::{TEST_SECRET_KEY, provider_config};
use crate::payment_emulator::{EmulatedProviders, PaymentEmulator};

/// What [`shop`] set up.
pub struct Shop {
    /// The one-hour plan.
    pub plan: Plan,
    /// The tenant's webhook token (in the clear): Paystack's webhook URL is
    /// `{cloud}/callbacks/paystack/{token}` ([`Shop::paystack_webhook`]).
    pub webhook_token: String,
}

impl Shop {
    /// The Paystack dashboard webhook URL of this tenant on the cloud at `base_url`.
    pub fn paystack_webhook(&self, base_url: &str) -> String {
        format!("{base_url}/callbacks/paystack/{}", self.webhook_token)
    }
}

/// Gives `tenant` a one-hour plan at 20 KES and `kind` on `pay`. Daraja and PayHero call
/// back to the URL in each push; for Paystack, also point the emulator's dashboard webhook
/// at [`Shop::paystack_webhook`] once the cloud's address is known.
pub async fn shop(store: &dyn Store, tenant: TenantId, kind: ProviderKind, pay: &impl EmulatedProviders) -> anyhow::Result<Shop> {
    let plan = NewPlan {
        shared_users: None,
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(tenant, &plan, now_ms()).await?;
    let sealed = seal_settings(&Sealer::new(TEST_SECRET_KEY), tenant, &provider_config(kind, pay))?;
    let webhook = AgentToken::generate();
    store.set_provider(tenant, kind, &sealed, Some(&webhook.hash()), now_ms()).await?;
    Ok(Shop { plan, webhook_token: webhook.expose().to_string() })
}

/// Gives the test tenant (made by [`World::add_router`](crate::harness::World::add_router))
/// a one-hour plan at 20 KES and Daraja on `pay`; returns the plan.
pub async fn daraja_shop(store: &dyn Store, pay: &PaymentEmulator) -> anyhow::Result<Plan> {
    let tenant = store.find_tenant("test-tenant").await?.ok_or_else(|| anyhow::anyhow!("no test tenant: add a router first"))?;
    Ok(shop(store, tenant.id, ProviderKind::Daraja, pay).await?.plan)
}

/// `JASIYO_SEALING_KEY` for a cloud process that opens what [`shop`] sealed.
pub fn sealing_key_env() -> (&'static str, String) {
    ("JASIYO_SEALING_KEY", base64::engine::general_purpose::STANDARD.encode(TEST_SECRET_KEY))
}
