//! Vouchers on both databases, through the domain service: a batch becomes one command per
//! code and router in the outbox; codes are counted by state; the portal's redemption
//! takes an unused code for one device; revoking removes the codes from the routers (used
//! and expired ones too); unsold codes past valid-until leave the routers; and another
//! tenant can neither see nor revoke the batch.

use std::sync::Arc;

use jasiyo_cloud::model::{NewPlan, TenantId, VoucherBatchInput, VoucherCounts, VoucherState};
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use jasiyo_cloud::store::vouchers::Redeemed;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::vouchers::{VoucherError, create_batch, revoke};
use jasiyo_shared::{Command, MacAddress, RouterId};
use tempfile::TempDir;

struct Fixture {
    store: Arc<dyn Store>,
    _dir: TempDir,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let dir = TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    Some(Fixture { store, _dir: dir })
}

async fn shop(store: &dyn Store, name: &str) -> (TenantId, RouterId, jasiyo_cloud::model::PlanId) {
    let tenant = store.create_tenant(name, now_ms()).await.unwrap();
    let router = store.create_router(tenant.id, "shop", &format!("hash-{name}"), now_ms()).await.unwrap();
    let plan = NewPlan {
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: Some(500),
        rate_limit: Some("2M/5M".into()),
        profile: None,
        shared_users: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    (tenant.id, router.id, plan.id)
}

fn input(plan: jasiyo_cloud::model::PlanId, router: RouterId, count: u32) -> VoucherBatchInput {
    VoucherBatchInput {
        plan_id: plan,
        count,
        code_length: 8,
        prefix: Some("kb".into()),
        price_kes: Some(50),
        valid_until: None,
        routers: vec![router],
    }
}

fn mac(last: u8) -> MacAddress {
    MacAddress([0x02, 0, 0, 0, 0, last])
}

async fn a_batch_loads_counts_redeems_and_revokes(Fixture { store, .. }: Fixture) {
    let (tenant, router, plan) = shop(store.as_ref(), "Vouchers A").await;
    let (batch, codes) = create_batch(store.as_ref(), tenant, input(plan, router, 25)).await.unwrap();
    assert_eq!(codes.len(), 25);
    assert!(codes.iter().all(|c| c.as_str().starts_with("KB") && c.as_str().len() == 10));

    // One user per code in the router's outbox, in the plan's profile, time from first login.
    let commands = store.list_commands(router, 100).await.unwrap();
    assert_eq!(commands.len(), 25);
    let user = commands[0].command.hotspot_user().expect("a user");
    assert!(codes.iter().any(|c| c.as_str() == user.name) && user.password.0 == user.name);
    assert_eq!((user.limit_uptime_secs, user.expires_at, user.mac), (Some(3600), None, None));
    assert_eq!(user.limit_bytes_total, Some(500 * 1024 * 1024));
    assert!(matches!(commands[0].command, Command::UpsertHotspotUserInProfile { .. }), "the plan's speed: {:?}", commands[0].command);
    assert!(user.comment.as_deref().unwrap().contains(&jasiyo_cloud::vouchers::short(batch.id)));

    // The portal: a good code is taken by the first device; again by it; not by another.
    let first = &codes[0];
    let now = now_ms();
    assert_eq!(store.redeem_voucher(router, first, mac(1), now).await.unwrap(), Redeemed::Valid { plan_id: plan, first: true });
    assert_eq!(store.redeem_voucher(router, first, mac(1), now).await.unwrap(), Redeemed::Valid { plan_id: plan, first: false });
    assert_eq!(store.redeem_voucher(router, first, mac(2), now).await.unwrap(), Redeemed::InUseElsewhere);
    let unknown = jasiyo_cloud::model::VoucherCode::parse("KBZZZZZZZZ").unwrap();
    assert_eq!(store.redeem_voucher(router, &unknown, mac(2), now).await.unwrap(), Redeemed::Unknown);
    // Not loaded on another router of the same owner.
    let other_router = store.create_router(tenant, "back room", "hash-back", now_ms()).await.unwrap().id;
    assert_eq!(store.redeem_voucher(other_router, &codes[1], mac(3), now).await.unwrap(), Redeemed::Unknown);

    let lines = store.voucher_codes(tenant, batch.id, now / 1000).await.unwrap();
    let used = lines.iter().find(|l| &l.code == first).unwrap();
    assert_eq!((used.state, used.device_mac), (VoucherState::InUse, Some(mac(1))));
    let listed = store.voucher_batches(tenant, now / 1000).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1, VoucherCounts { unused: 24, in_use: 1, expired: 0, revoked: 0 });
    assert_eq!(listed[0].0.routers, vec![router]);

    // One code revoked: removed from the router; it no longer logs in.
    assert_eq!(revoke(store.as_ref(), tenant, batch.id, Some(&codes[2].grouped().to_lowercase())).await.unwrap(), 1);
    assert_eq!(store.redeem_voucher(router, &codes[2], mac(4), now_ms()).await.unwrap(), Redeemed::Revoked);
    let removal = store.list_commands(router, 100).await.unwrap().into_iter().find(|c| c.command.kind() == "remove_hotspot_user");
    assert_eq!(removal.unwrap().command.user_name(), Some(codes[2].as_str()));
    // The whole batch: the other 24 (the used one too: its session ends).
    assert_eq!(revoke(store.as_ref(), tenant, batch.id, None).await.unwrap(), 24);
    assert_eq!(revoke(store.as_ref(), tenant, batch.id, None).await.unwrap(), 0, "revoking again does nothing");
    let removals =
        store.list_commands(router, 100).await.unwrap().into_iter().filter(|c| c.command.kind() == "remove_hotspot_user").count();
    assert_eq!(removals, 25);
    let listed = store.voucher_batches(tenant, now_ms() / 1000).await.unwrap();
    assert_eq!(listed[0].1.revoked, 25);
    assert!(listed[0].0.revoked_at.is_some());
}

async fn unsold_codes_expire(Fixture { store, .. }: Fixture) {
    let (tenant, router, plan) = shop(store.as_ref(), "Vouchers E").await;
    let until = now_ms() / 1000 + 60;
    let (batch, codes) =
        create_batch(store.as_ref(), tenant, VoucherBatchInput { valid_until: Some(until), ..input(plan, router, 3) }).await.unwrap();
    let later_ms = (until + 1) * 1000;
    assert_eq!(store.redeem_voucher(router, &codes[0], mac(1), later_ms).await.unwrap(), Redeemed::Expired);
    let counts = store.voucher_batches(tenant, until + 1).await.unwrap()[0].1;
    assert_eq!(counts, VoucherCounts { expired: 3, ..Default::default() });
    assert!(store.voucher_codes(tenant, batch.id, until - 10).await.unwrap().iter().all(|l| l.state == VoucherState::Unused));
}

async fn another_tenant_cannot_see_or_revoke(Fixture { store, .. }: Fixture) {
    let (a, router_a, plan_a) = shop(store.as_ref(), "Vouchers Tenant A").await;
    let (b, router_b, plan_b) = shop(store.as_ref(), "Vouchers Tenant B").await;
    let (batch, _) = create_batch(store.as_ref(), a, input(plan_a, router_a, 2)).await.unwrap();
    assert!(store.voucher_batches(b, 0).await.unwrap().is_empty());
    assert!(store.voucher_batch(b, batch.id).await.unwrap().is_none());
    assert!(store.voucher_codes(b, batch.id, 0).await.unwrap().is_empty());
    assert!(matches!(revoke(store.as_ref(), b, batch.id, None).await, Err(VoucherError::NotFound(_))));
    assert_eq!(store.voucher_batches(a, 0).await.unwrap()[0].1.unused, 2);
    // Nor load codes with A's plan, or onto A's router.
    assert!(matches!(create_batch(store.as_ref(), b, input(plan_a, router_b, 1)).await, Err(VoucherError::NotFound(_))));
    assert!(matches!(create_batch(store.as_ref(), b, input(plan_b, router_a, 1)).await, Err(VoucherError::NotFound(_))));
    assert!(store.list_commands(router_b, 10).await.unwrap().is_empty());
}

/// Unsold codes a day past valid-until leave the routers (the job's step), once; a sold code
/// stays; revoking the batch then removes every code still there, used and expired too.
async fn expired_codes_leave_the_routers_and_revoke_takes_every_state(Fixture { store, .. }: Fixture) {
    use jasiyo_cloud::hub::{Hub, HubConfig};
    use jasiyo_cloud::vouchers::expiry::{GRACE_SECS, remove_expired_once};
    let hub = Hub::start(store.clone(), HubConfig::default(), tokio_util::sync::CancellationToken::new());
    let (tenant, router, plan) = shop(store.as_ref(), "Vouchers X").await;
    let second = store.create_router(tenant, "annex", "hash-annex", now_ms()).await.unwrap().id;
    let until = now_ms() / 1000 + 60;
    let batch_input = VoucherBatchInput { valid_until: Some(until), routers: vec![router, second], ..input(plan, router, 3) };
    let (batch, codes) = create_batch(store.as_ref(), tenant, batch_input).await.unwrap();
    let (_, lasting) = create_batch(store.as_ref(), tenant, input(plan, router, 2)).await.unwrap();
    store.redeem_voucher(router, &codes[0], mac(1), now_ms()).await.unwrap();
    let removals = |r: RouterId| {
        let store = store.clone();
        async move {
            let commands = store.list_commands(r, 100).await.unwrap();
            commands
                .into_iter()
                .filter(|c| c.command.kind() == "remove_hotspot_user")
                .map(|c| c.command.user_name().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };

    // Not before the grace period after valid-until.
    assert_eq!(remove_expired_once(&hub, (until + GRACE_SECS - 1) * 1000).await.unwrap(), 0);
    let later = (until + GRACE_SECS) * 1000;
    assert_eq!(remove_expired_once(&hub, later).await.unwrap(), 2, "the two unsold codes; not the sold one, nor the lasting batch");
    assert_eq!(remove_expired_once(&hub, later).await.unwrap(), 0, "once");
    for r in [router, second] {
        let mut removed = removals(r).await;
        removed.sort();
        assert_eq!(removed, [codes[1].as_str(), codes[2].as_str()], "from every router of the batch");
    }
    assert!(!removals(router).await.iter().any(|n| lasting.iter().any(|c| c.as_str() == n)));
    let counts = store.voucher_batches(tenant, later / 1000).await.unwrap().into_iter().find(|(b, _)| b.id == batch.id).unwrap().1;
    assert_eq!(counts, VoucherCounts { in_use: 1, expired: 2, ..Default::default() }, "still counted as expired");

    // Revoking the batch: the sold code and the expired ones are removed (again) as well.
    assert_eq!(revoke(store.as_ref(), tenant, batch.id, None).await.unwrap(), 3);
    let removed = removals(second).await;
    assert_eq!(removed.iter().filter(|n| *n == codes[0].as_str()).count(), 1, "the used code too: {removed:?}");
    assert_eq!(removed.len(), 5);
}

jasiyo_cloud::on_each_backend!(
    fixture;
    a_batch_loads_counts_redeems_and_revokes,
    unsold_codes_expire,
    another_tenant_cannot_see_or_revoke,
    expired_codes_leave_the_routers_and_revoke_takes_every_state
);
