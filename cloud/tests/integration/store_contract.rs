//! One contract for every store backend: each test runs on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::model::{CommandState, ResultRecorded, TenantId};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, StoreError, connect};
use jasiyo_shared::{Command, Outcome, RouterId, RouterStatus, Seq};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// A fresh store on one backend, with the directory its files live in (kept while the
/// test runs) and its URL, for a second process to open.
struct Fixture {
    store: Arc<dyn Store>,
    url: String,
    dir: TempDir,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let dir = TempDir::new().unwrap();
    let url = fresh_database_url(backend, dir.path()).await?;
    let store = connect(Some(&url), dir.path()).await.unwrap();
    Some(Fixture { store, url, dir })
}

fn remove(name: &str) -> Command {
    Command::RemoveHotspotUser { name: name.into() }
}

async fn router_for(store: &dyn Store, tenant: TenantId, name: &str) -> RouterId {
    store.create_router(tenant, name, "hash", 1).await.unwrap().id
}

async fn tenants_and_routers(Fixture { store, .. }: Fixture) {
    let tenant = store.create_tenant("Mama Mboga WiFi", 10).await.unwrap();
    assert!(matches!(store.create_tenant("Mama Mboga WiFi", 11).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.find_tenant("Mama Mboga WiFi").await.unwrap().unwrap().id, tenant.id);
    assert_eq!(store.find_tenant(&tenant.id.to_string()).await.unwrap().unwrap().name, "Mama Mboga WiFi");
    assert!(store.find_tenant("nobody").await.unwrap().is_none());
    // A name shaped like an id is refused, and an id finds by id only: no tenant can stand
    // in for another by taking its id as a name.
    let aliased = store.create_tenant(&tenant.id.to_string(), 12).await;
    assert!(matches!(aliased, Err(StoreError::Conflict(_))), "{aliased:?}");
    assert!(store.find_tenant(&uuid::Uuid::new_v4().to_string()).await.unwrap().is_none());

    let other = store.create_tenant("Other", 10).await.unwrap();
    let r1 = store.create_router(tenant.id, "shop", "h1", 20).await.unwrap();
    assert!(matches!(store.create_router(tenant.id, "shop", "h2", 21).await, Err(StoreError::Conflict(_))));
    store.create_router(other.id, "shop", "h3", 22).await.unwrap();
    assert_eq!(r1.token_hash, "h1");
    assert_eq!(r1.revoked_at, None);
    assert_eq!(store.list_routers(Some(tenant.id)).await.unwrap().len(), 1);
    assert_eq!(store.list_routers(None).await.unwrap().len(), 2);

    assert!(store.revoke_router(r1.id, 30).await.unwrap());
    assert!(!store.revoke_router(r1.id, 31).await.unwrap());
    assert_eq!(store.router(r1.id).await.unwrap().unwrap().revoked_at, Some(30));
    assert!(store.router(RouterId::new()).await.unwrap().is_none());
}

async fn sessions_and_status(Fixture { store, .. }: Fixture) {
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let id = router_for(&*store, tenant.id, "r").await;
    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    store.router_connected(id, first, "0.1.0", 100).await.unwrap();
    store.router_connected(id, second, "0.1.1", 200).await.unwrap();
    // The replaced session ending must not mark the router offline.
    store.router_disconnected(id, first, 300).await.unwrap();
    let router = store.router(id).await.unwrap().unwrap();
    assert_eq!(router.online_session, Some(second));
    assert_eq!(router.agent_version.as_deref(), Some("0.1.1"));
    assert!(router.is_online(250, 100));
    assert!(!router.is_online(10_000, 100), "silent for too long counts as offline");

    store.routers_seen(&[id], 9_000).await.unwrap();
    assert!(store.router(id).await.unwrap().unwrap().is_online(9_050, 100));

    let status = RouterStatus { identity: Some("Shop".into()), journal_depth: 4, agent_version: "0.1.1".into(), ..Default::default() };
    store.record_status(id, &status, None, 9_100).await.unwrap();
    let router = store.router(id).await.unwrap().unwrap();
    assert_eq!(router.status, Some(status));
    assert_eq!(router.status_at, Some(9_100));

    store.router_disconnected(id, second, 9_200).await.unwrap();
    assert!(!store.router(id).await.unwrap().unwrap().is_online(9_200, 100));
}

async fn sequence_numbers_are_per_router_and_gapless(Fixture { store, .. }: Fixture) {
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let a = router_for(&*store, tenant.id, "a").await;
    let b = router_for(&*store, tenant.id, "b").await;
    for i in 1..=3 {
        assert_eq!(store.enqueue_command(a, &remove("u"), i).await.unwrap().seq, Seq(i as u64));
    }
    assert_eq!(store.enqueue_command(b, &remove("u"), 5).await.unwrap().seq, Seq(1));
    assert!(matches!(store.enqueue_command(RouterId::new(), &remove("u"), 5).await, Err(StoreError::NotFound(_))));

    // Concurrent enqueues never share or skip a number.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.enqueue_command(b, &remove(&format!("u{i}")), 6).await.unwrap().seq }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().0);
    }
    seqs.sort();
    assert_eq!(seqs, (2..=41).collect::<Vec<u64>>());
}

async fn open_commands_and_their_lifecycle(Fixture { store, .. }: Fixture) {
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let r = router_for(&*store, tenant.id, "r").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(store.enqueue_command(r, &remove(&format!("u{i}")), 100 + i).await.unwrap().id);
    }
    let open = store.open_commands(r, None, 10).await.unwrap();
    assert_eq!(open.iter().map(|c| c.seq.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(open[0].id, ids[0]);
    assert_eq!(open[0].command, remove("u0"));
    assert_eq!(open[0].state, CommandState::Queued);
    assert_eq!(store.open_commands(r, Some(Seq(3)), 10).await.unwrap().len(), 2);
    assert_eq!(store.open_commands(r, None, 2).await.unwrap().len(), 2);

    store.mark_delivered(r, &[Seq(1), Seq(2)], 200).await.unwrap();
    store.mark_received(r, &[Seq(1)], 210).await.unwrap();
    // Delivering again does not move a received command back.
    store.mark_delivered(r, &[Seq(1)], 220).await.unwrap();
    let list = store.list_commands(r, 10).await.unwrap();
    let state = |seq: u64| list.iter().find(|c| c.seq == Seq(seq)).unwrap().state;
    assert_eq!(state(1), CommandState::Received);
    assert_eq!(state(2), CommandState::Delivered);
    assert_eq!(state(3), CommandState::Queued);
    assert_eq!(list[0].seq, Seq(5), "newest first");

    let applied = Outcome::Applied { note: None };
    let failed = Outcome::Failed { message: "input does not match any value of profile".into() };
    assert_eq!(store.record_result(r, Seq(1), &applied, 300).await.unwrap(), ResultRecorded::New);
    assert_eq!(store.record_result(r, Seq(1), &failed, 301).await.unwrap(), ResultRecorded::Duplicate);
    assert_eq!(store.record_result(r, Seq(3), &failed, 302).await.unwrap(), ResultRecorded::New);
    assert_eq!(store.record_result(r, Seq(99), &applied, 303).await.unwrap(), ResultRecorded::UnknownCommand);
    // A late "received" does not undo a result.
    store.mark_received(r, &[Seq(3)], 304).await.unwrap();

    let list = store.list_commands(r, 10).await.unwrap();
    let get = |seq: u64| list.iter().find(|c| c.seq == Seq(seq)).unwrap().clone();
    assert_eq!(get(1).state, CommandState::Applied);
    assert_eq!(get(1).outcome, Some(applied.clone()));
    assert_eq!(get(3).state, CommandState::Failed);
    assert_eq!(get(3).outcome, Some(failed.clone()));
    assert_eq!(get(3).received_at, Some(302));
    let open: Vec<u64> = store.open_commands(r, None, 10).await.unwrap().iter().map(|c| c.seq.0).collect();
    assert_eq!(open, vec![2, 4, 5]);

    // Several results at once: each recorded once, in one statement.
    let batch = [(Seq(4), &applied), (Seq(1), &failed), (Seq(5), &failed), (Seq(4), &failed), (Seq(77), &applied)];
    let recorded = store.record_results(r, &batch, 400).await.unwrap();
    use ResultRecorded::{Duplicate, New, UnknownCommand};
    assert_eq!(recorded, vec![New, Duplicate, New, Duplicate, UnknownCommand]);
    let list = store.list_commands(r, 10).await.unwrap();
    let get = |seq: u64| list.iter().find(|c| c.seq == Seq(seq)).unwrap().clone();
    assert_eq!((get(4).state, get(4).outcome, get(4).finished_at), (CommandState::Applied, Some(applied.clone()), Some(400)));
    assert_eq!((get(5).state, get(5).outcome), (CommandState::Failed, Some(failed.clone())));
    assert_eq!(get(1).outcome, Some(applied), "the first result stands");
    assert!(store.record_results(r, &[], 401).await.unwrap().is_empty());
}

async fn every_command_kind_survives_storage(Fixture { store, .. }: Fixture) {
    use jasiyo_shared::command::Password;
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let r = router_for(&*store, tenant.id, "r").await;
    let commands = vec![
        Command::UpsertHotspotUser(jasiyo_shared::HotspotUser {
            name: "K7Q2".into(),
            password: Password("pw".into()),
            profile: Some("daily".into()),
            mac: Some("02:00:00:00:00:01".parse().unwrap()),
            expires_at: Some(jasiyo_shared::UnixTime(1_900_000_000)),
            limit_uptime_secs: Some(86_400),
            limit_bytes_total: Some(1 << 30),
            comment: Some("daily plan".into()),
        }),
        remove("K7Q2"),
        Command::LoginDevice {
            user: "K7Q2".into(),
            password: Password("pw".into()),
            mac: "02:00:00:00:00:01".parse().unwrap(),
            ip: "10.5.50.2".parse().unwrap(),
        },
        Command::EndSession { mac: "02:00:00:00:00:01".parse().unwrap() },
    ];
    for command in &commands {
        store.enqueue_command(r, command, 1).await.unwrap();
    }
    let stored: Vec<Command> = store.open_commands(r, None, 10).await.unwrap().into_iter().map(|c| c.command).collect();
    assert_eq!(stored, commands);
}

async fn other_processes_enqueues_are_noticed(Fixture { store, url, dir }: Fixture) {
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let r = router_for(&*store, tenant.id, "r").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    store.spawn_outbox_watcher(
        Arc::new(move |router| {
            let _ = tx.send(router);
        }),
        shutdown.clone(),
    );
    // A second, independent connection pool stands in for another process (the CLI).
    let other = connect(Some(&url), dir.path()).await.unwrap();
    // The watcher may announce a catch-up (None) first; wait for this router.
    let enqueue = async {
        // Give the watcher a few tries: it may not have started listening yet.
        loop {
            other.enqueue_command(r, &remove("u"), 2).await.unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
            while let Ok(Some(signal)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                if signal == Some(r) {
                    return;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), enqueue).await.expect("the watcher never announced the enqueue");
    shutdown.cancel();
}

async fn reports_are_stored_once(Fixture { store, .. }: Fixture) {
    use jasiyo_shared::{AgentEvent, Report, UnixTime};
    let tenant = store.create_tenant("t", 1).await.unwrap();
    let r = router_for(&*store, tenant.id, "r").await;
    let expired = Report { id: 1, at: UnixTime(100), event: AgentEvent::UserExpired { name: "u1".into(), sessions_ended: 2 } };
    let drift = Report {
        id: 2,
        at: UnixTime(200),
        event: AgentEvent::Drift { restored: vec!["a".into()], removed: vec![], adopted: vec!["c".into()] },
    };
    assert!(store.record_report(r, &expired, 1_000).await.unwrap());
    assert!(!store.record_report(r, &expired, 1_001).await.unwrap(), "a repeat is ignored");
    assert!(store.record_report(r, &drift, 1_002).await.unwrap());
    let events = store.list_events(r, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, drift.event);
    assert_eq!(events[1].event, expired.event);
    assert_eq!(events[1].received_at, 1_000);
}

/// A payment paid: state, timeline, entitlement and commands together, exactly once; a
/// username already taken changes nothing; a receipt already recorded is flagged, not refused.
async fn a_paid_payment_is_provisioned_once(Fixture { store, .. }: Fixture) {
    use jasiyo_cloud::model::{NewPayment, NewPlan, PaymentState};
    use jasiyo_cloud::providers::ProviderKind;
    use jasiyo_cloud::store::payments::{Heard, PaidOutcome, Provision};
    use jasiyo_shared::command::Password;
    use jasiyo_shared::{HotspotUser, MacAddress};

    let tenant = store.create_tenant("t", 1).await.unwrap();
    let r = router_for(&*store, tenant.id, "r").await;
    let plan = NewPlan {
        shared_users: None,
        name: "1h".into(),
        price_kes: 10,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(tenant.id, &plan, 1).await.unwrap();
    let mac: MacAddress = "02:00:00:00:00:01".parse().unwrap();
    let new = |key: &str| NewPayment {
        id: jasiyo_cloud::model::PaymentId::random(),
        tenant_id: tenant.id,
        router_id: r,
        plan_id: plan.id,
        provider: ProviderKind::Daraja,
        amount_kes: 10,
        msisdn: "254712345678".into(),
        device_mac: Some(mac),
        device_ip: Some("10.5.50.2".parse().unwrap()),
        client_ip: None,
        idempotency_key: key.into(),
        callback_token_hash: format!("hash-{key}"),
        first_check_at: 0,
    };
    let provision = |name: &str| {
        let user = HotspotUser {
            name: name.into(),
            password: Password("123456".into()),
            profile: None,
            mac: Some(mac),
            expires_at: None,
            limit_uptime_secs: None,
            limit_bytes_total: None,
            comment: None,
        };
        let login = Command::LoginDevice { user: name.into(), password: Password("123456".into()), mac, ip: "10.5.50.2".parse().unwrap() };
        Provision {
            username: name.into(),
            password: "123456".into(),
            expires_at: 5_000,
            upsert: Command::UpsertHotspotUser(user),
            login: Some(login),
        }
    };
    store.enqueue_command(r, &remove("before"), 2).await.unwrap();
    let first = store.create_payment(&new("a"), 10).await.unwrap();
    let second = store.create_payment(&new("b"), 11).await.unwrap();
    let heard = Heard { source: "callback", detail: "0 The service request is processed successfully." };

    let PaidOutcome::Provisioned(entitlement) =
        store.mark_paid(first.id, Some("RCPT000001"), &provision("AAAAAA"), Some(heard), 20).await.unwrap()
    else {
        panic!("not provisioned")
    };
    assert_eq!((entitlement.command_seq, entitlement.login_seq), (2, Some(3)), "the router's next sequence numbers, in order");
    assert_eq!(store.entitlement_for_payment(first.id).await.unwrap().as_ref(), Some(&entitlement));
    let commands = store.open_commands(r, None, 10).await.unwrap();
    assert_eq!(commands.iter().map(|c| c.seq.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(matches!(commands[1].command, Command::UpsertHotspotUser(ref u) if u.name == "AAAAAA"));
    assert!(matches!(commands[2].command, Command::LoginDevice { ref user, .. } if user == "AAAAAA"));
    let paid = store.payment(first.id).await.unwrap().unwrap();
    assert_eq!((paid.state, paid.receipt.as_deref(), paid.paid_at), (PaymentState::Paid, Some("RCPT000001"), Some(20)));
    let kinds = |events: Vec<jasiyo_cloud::model::PaymentEvent>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kinds(store.payment_events(first.id).await.unwrap()), ["initiated", "callback", "paid", "entitlement_created"]);

    // A repeat: the provider's word is kept, nothing else happens.
    let again = store.mark_paid(first.id, Some("RCPT000001"), &provision("BBBBBB"), Some(heard), 30).await.unwrap();
    assert_eq!(again, PaidOutcome::AlreadyPaid);
    assert_eq!(kinds(store.payment_events(first.id).await.unwrap()), ["initiated", "callback", "paid", "entitlement_created", "callback"]);

    // A username already taken: nothing changes.
    let taken = store.mark_paid(second.id, Some("RCPT000002"), &provision("AAAAAA"), None, 50).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(store.payment(second.id).await.unwrap().unwrap().state, PaymentState::Initiated);
    assert!(store.entitlement_for_payment(second.id).await.unwrap().is_none());
    assert_eq!(store.open_commands(r, None, 10).await.unwrap().len(), 3, "no command for a payment that did not change");
    assert_eq!(kinds(store.payment_events(second.id).await.unwrap()), ["initiated"]);

    // The same receipt on another payment (Paystack's test mode gives every charge "10101"):
    // paid all the same, and both timelines say so.
    let PaidOutcome::Provisioned(shared) =
        store.mark_paid(second.id, Some("RCPT000001"), &provision("CCCCCC"), Some(heard), 60).await.unwrap()
    else {
        panic!("a shared receipt must not stop the payment")
    };
    assert_eq!((shared.username.as_str(), shared.command_seq, shared.login_seq), ("CCCCCC", 4, Some(5)), "another name, the next numbers");
    assert_eq!(store.payment(second.id).await.unwrap().unwrap().receipt.as_deref(), Some("RCPT000001"));
    let events = store.payment_events(second.id).await.unwrap();
    assert_eq!(kinds(events.clone()), ["initiated", "callback", "paid", "entitlement_created", "receipt_shared"]);
    assert!(events[4].detail.contains("RCPT000001") && events[4].detail.contains("1 other payment"), "{}", events[4].detail);
    let events = store.payment_events(first.id).await.unwrap();
    assert_eq!(events.last().unwrap().kind, "receipt_shared");
    assert!(events.last().unwrap().detail.contains(&second.id.to_string()), "{}", events.last().unwrap().detail);
    let found = store.entitlements_by_receipt(r, "RCPT000001").await.unwrap();
    assert_eq!(found.iter().map(|(p, _)| p.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
    assert!(store.entitlements_by_receipt(r, "RCPT000009").await.unwrap().is_empty());

    // Many payments with one receipt: each counts all the others, but flags only the first
    // three (writes per payment stay bounded however many share it).
    let mut later = Vec::new();
    for (i, name) in ["DDDDDD", "EEEEEE", "FFFFFF", "GGGGGG"].into_iter().enumerate() {
        let payment = store.create_payment(&new(&format!("c{i}")), 70 + i as i64).await.unwrap();
        let paid = store.mark_paid(payment.id, Some("RCPT000001"), &provision(name), None, 80 + i as i64).await.unwrap();
        assert!(matches!(paid, PaidOutcome::Provisioned(_)), "{paid:?}");
        later.push(payment.id);
    }
    let last = *later.last().unwrap();
    let events = store.payment_events(last).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "receipt_shared" && e.detail.contains("5 other payment")), "{events:?}");
    let flagged_by_last = |events: Vec<jasiyo_cloud::model::PaymentEvent>| events.iter().any(|e| e.detail.contains(&last.to_string()));
    for earliest in [first.id, second.id, later[0]] {
        assert!(flagged_by_last(store.payment_events(earliest).await.unwrap()), "one of the first three is flagged");
    }
    assert!(!flagged_by_last(store.payment_events(later[1]).await.unwrap()), "the fourth is not");
}

/// PostgreSQL terminates every connection of the cloud (a restart, a failover): the store
/// notices on the next statement and carries on with new connections. At most one statement
/// fails, the one that found out.
#[tokio::test]
async fn postgres_connections_killed_by_the_server_are_replaced() {
    let dir = TempDir::new().unwrap();
    let Some(url) = fresh_database_url(Backend::Postgres, dir.path()).await else { return };
    let store = connect(Some(&url), dir.path()).await.unwrap();
    let tenant = store.create_tenant("t", 1).await.unwrap();
    // Several connections in use at once, so several are kept.
    let reads: Vec<_> = (0..8).map(|_| store.find_tenant("t")).collect();
    for read in futures_util::future::join_all(reads).await {
        assert!(read.unwrap().is_some());
    }
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(killed.len() >= 2, "the store's connections were there to kill: {killed:?}");
    let mut failures = 0;
    for i in 0..20 {
        match store.create_router(tenant.id, &format!("r{i}"), "h", 2).await {
            Ok(_) => {}
            Err(error) => {
                failures += 1;
                assert!(failures <= 1, "failed again after noticing: {error}");
            }
        }
    }
    assert!(store.list_routers(Some(tenant.id)).await.unwrap().len() >= 19);
}

jasiyo_cloud::on_each_backend!(
    fixture;
    tenants_and_routers,
    sessions_and_status,
    sequence_numbers_are_per_router_and_gapless,
    open_commands_and_their_lifecycle,
    every_command_kind_survives_storage,
    a_paid_payment_is_provisioned_once,
    reports_are_stored_once,
    other_processes_enqueues_are_noticed,
);

/// Migration 8 rebuilds SQLite's payments table (and the two tables that reference it) to
/// drop the receipt's UNIQUE constraint: every row survives with its values, references
/// still hold and are still enforced, the timeline triggers still fire, and a receipt may
/// now be carried twice.
#[tokio::test]
async fn sqlite_receipt_migration_keeps_every_row_and_reference() {
    use jasiyo_cloud::store::SqliteStore;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;

    let dir = TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let mut before = sqlx::migrate!("./migrations/sqlite");
    let eight = before.migrations.iter().position(|m| m.version == 8).expect("migration 8");
    before.migrations = before.migrations[..eight].to_vec().into();
    before.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'T', 1)",
        "INSERT INTO routers (id, tenant_id, name, token_hash, created_at) VALUES ('r1', 't1', 'R', 'h', 1)",
        "INSERT INTO plans (id, tenant_id, name, price_kes, duration_secs, created_at) VALUES ('p1', 't1', '1h', 10, 3600, 1)",
        "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, idempotency_key, callback_token_hash, \
         provider_ref, state, receipt, created_at, updated_at, paid_at) \
         VALUES ('pay1', 't1', 'r1', 'p1', 'paystack', 10, '254712345678', 'k1', 'c1', 'ref1', 'paid', '10101', 5, 6, 6)",
        "INSERT INTO payment_events (payment_id, at, kind, detail) VALUES ('pay1', 6, 'paid', 'receipt 10101')",
        "INSERT INTO entitlements (id, payment_id, router_id, username, password, expires_at, command_seq, created_at) \
         VALUES ('e1', 'pay1', 'r1', 'AAAAAA', '123456', 99, 1, 6)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let _migrated = SqliteStore::connect(&url).await.unwrap();
    let options = SqliteConnectOptions::from_str(&url).unwrap().foreign_keys(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let kept: (String, String, i64) = sqlx::query_as("SELECT id, receipt, paid_at FROM payments").fetch_one(&pool).await.unwrap();
    assert_eq!(kept, ("pay1".into(), "10101".into(), 6));
    let events: Vec<(i64, String)> = sqlx::query_as("SELECT id, kind FROM payment_events ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(events.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(), ["initiated", "paid"]);
    let owner: String = sqlx::query_scalar("SELECT payment_id FROM entitlements WHERE id = 'e1'").fetch_one(&pool).await.unwrap();
    assert_eq!(owner, "pay1");
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&pool).await.unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let schema: Vec<String> = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL").fetch_all(&pool).await.unwrap();
    assert!(!schema.iter().any(|sql| sql.contains("_replaced") || sql.contains("_rebuilt")), "{schema:#?}");

    // References are enforced against the new table; ids go on from where they were.
    let orphan =
        sqlx::query("INSERT INTO payment_events (payment_id, at, kind, detail) VALUES ('nobody', 7, 'x', 'y')").execute(&pool).await;
    assert!(orphan.is_err(), "an event of no payment must be refused");
    sqlx::query(
        "INSERT INTO payments (id, tenant_id, router_id, plan_id, provider, amount_kes, msisdn, idempotency_key, callback_token_hash, \
         provider_ref, state, receipt, created_at, updated_at) \
         VALUES ('pay2', 't1', 'r1', 'p1', 'paystack', 10, '254712345679', 'k2', 'c2', 'ref2', 'paid', '10101', 8, 8)",
    )
    .execute(&pool)
    .await
    .expect("a second payment with the same receipt");
    let events: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, payment_id, kind FROM payment_events ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(events.last().map(|(id, p, k)| (*id, p.as_str(), k.as_str())), Some((3, "pay2", "initiated")), "the trigger fires again");
}
