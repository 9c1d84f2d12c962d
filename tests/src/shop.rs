//! A shop for tests that run the cloud as a process: the test tenant's one-hour plan at
//! 20 KES, and Daraja on the payment emulator as its provider, sealed with
//! [`TEST_SECRET_KEY`], the key such a cloud is given ([`sealing_key_env`]).

use base64::Engine;
use jasiyo_cloud::model::{NewPlan, Plan, ProviderKind};
use jasiyo_cloud::payments::providers_config::seal_settings;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;

use crate::harness::{TEST_SECRET_KEY, provider_config};
use crate::payment_emulator::PaymentEmulator;

/// Gives the test tenant (made by [`World::add_router`](crate::harness::World::add_router))
/// a one-hour plan at 20 KES and Daraja on `pay`; returns the plan.
pub async fn daraja_shop(store: &dyn Store, pay: &PaymentEmulator) -> anyhow::Result<Plan> {
    let tenant = store.find_tenant("test-tenant").await?.ok_or_else(|| anyhow::anyhow!("no test tenant: add a router first"))?;
    let plan = NewPlan {
        shared_users: None,
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await?;
    let sealed = seal_settings(&Sealer::new(TEST_SECRET_KEY), tenant.id, &provider_config(ProviderKind::Daraja, pay))?;
    store.set_provider(tenant.id, ProviderKind::Daraja, &sealed, Some(&AgentToken::generate().hash()), now_ms()).await?;
    Ok(plan)
}

/// `JASIYO_SEALING_KEY` for a cloud process that opens what [`daraja_shop`] sealed.
pub fn sealing_key_env() -> (&'static str, String) {
    ("JASIYO_SEALING_KEY", base64::engine::general_purpose::STANDARD.encode(TEST_SECRET_KEY))
}
