//! Vouchers on both databases, through the domain service: a batch becomes one command per
//! router carrying its codes in the outbox; codes are counted by state; the portal's redemption
//! takes an unused code for one device; revoking removes the codes from the routers (used
//! and expired ones too); unsold codes past valid-until leave the routers; another tenant
//! can neither see nor revoke the batch; and a code in use on one router whose traffic
//! another router reports is removed from every router but the first.

use std::sync::Arc;

use jasiyo_cloud::model::{NewPlan, TenantId, VoucherBatchInput, VoucherCounts, VoucherState};
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use jasiyo_cloud::store::vouchers::Redeemed;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::vouchers::{VoucherError, create_batch, revoke};
use jasiyo_shared::{Command, MacAddress, RouterId, UserUsage};
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

    // One command for the 25 codes in the router's outbox (one user each, in the plan's
    // profile, time from first login).
    let commands = store.list_commands(router, 100).await.unwrap();
    assert_eq!(commands.len(), 1);
    let Command::UpsertHotspotUsers { profile: Some(profile), users } = &commands[0].command else {
        panic!("a batch in the plan's profile: {:?}", commands[0].command)
    };
    assert_eq!(commands[0].command.validate(), Ok(()));
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, codes.iter().map(|c| c.as_str()).collect::<Vec<_>>());
    let user = &users[0];
    assert!(user.password.0 == user.name && user.profile.as_deref() == Some(profile.name.as_str()));
    assert_eq!((user.limit_uptime_secs, user.expires_at, user.mac), (Some(3600), None, None));
    assert_eq!(user.limit_bytes_total, Some(500 * 1024 * 1024));
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

async fn a_code_reported_by_a_second_router_is_removed_from_all_but_the_first(Fixture { store, .. }: Fixture) {
    let (tenant, a, plan) = shop(store.as_ref(), "Vouchers Three Rooms").await;
    let b = store.create_router(tenant, "back", "hash-back-3", now_ms()).await.unwrap().id;
    let c = store.create_router(tenant, "yard", "hash-yard-3", now_ms()).await.unwrap().id;
    let (batch, codes) =
        create_batch(store.as_ref(), tenant, VoucherBatchInput { routers: vec![a, b, c], ..input(plan, a, 3) }).await.unwrap();
    let used = |name: &str, bytes| vec![UserUsage { name: name.into(), bytes_in: bytes, bytes_out: bytes }];
    let removals = |commands: Vec<jasiyo_cloud::model::StoredCommand>| {
        commands
            .into_iter()
            .filter_map(|c| if let Command::RemoveHotspotUser { name } = c.command { Some(name) } else { None })
            .collect::<Vec<_>>()
    };
    let code = codes[0].as_str();

    // A code with no traffic anywhere is nothing; traffic on B first makes B its router.
    store.record_usage(a, &used(code, 0), now_ms()).await.unwrap();
    store.record_usage(b, &used(code, 500), now_ms()).await.unwrap();
    store.record_usage(b, &used(code, 900), now_ms()).await.unwrap();
    let line = |lines: Vec<jasiyo_cloud::model::VoucherLine>| lines.into_iter().find(|l| l.code == codes[0]).unwrap();
    let first = line(store.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap());
    assert_eq!((first.state, first.second_router), (VoucherState::InUse, None), "used on one router only");
    assert!(removals(store.list_commands(b, 10).await.unwrap()).is_empty());

    // Then traffic on A: removed from A and C, kept on B, recorded once.
    store.record_usage(a, &used(code, 700), now_ms()).await.unwrap();
    store.record_usage(a, &used(code, 800), now_ms()).await.unwrap();
    let second = line(store.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap());
    assert_eq!(second.second_router, Some(a));
    assert!(second.second_seen_at.is_some());
    assert_eq!(removals(store.list_commands(a, 10).await.unwrap()), vec![code.to_string()], "ended on A, once");
    assert_eq!(removals(store.list_commands(c, 10).await.unwrap()), vec![code.to_string()], "and gone from C");
    assert!(removals(store.list_commands(b, 10).await.unwrap()).is_empty(), "its first router keeps it");
    // The portal follows the same rule: taken on B by a device, it is refused on A even to it.
    let code1 = &codes[1];
    assert_eq!(store.redeem_voucher(b, code1, mac(7), now_ms()).await.unwrap(), Redeemed::Valid { plan_id: plan, first: true });
    assert_eq!(store.redeem_voucher(a, code1, mac(7), now_ms()).await.unwrap(), Redeemed::InUseElsewhere);
    assert_eq!(store.redeem_voucher(b, code1, mac(7), now_ms()).await.unwrap(), Redeemed::Valid { plan_id: plan, first: false });

    // Another tenant's router reporting the same name touches nothing.
    let (_, other, _) = shop(store.as_ref(), "Vouchers Elsewhere").await;
    store.record_usage(other, &used(codes[2].as_str(), 100), now_ms()).await.unwrap();
    let lines = store.voucher_codes(tenant, batch.id, now_ms() / 1000).await.unwrap();
    let third = lines.iter().find(|l| l.code == codes[2]).unwrap();
    assert_eq!((third.state, third.second_router), (VoucherState::Unused, None));
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
    a_code_reported_by_a_second_router_is_removed_from_all_but_the_first,
    expired_codes_leave_the_routers_and_revoke_takes_every_state
);
