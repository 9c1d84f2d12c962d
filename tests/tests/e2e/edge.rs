//! The agent driving a router end to end: cloud -> agent -> RouterOS API emulator, with
//! the router failing in the ways real ones do, expiry enforced at the edge while the cloud
//! is away, and drift repaired. [`recovery`]: getting over a refusing or vanished router;
//! [`batch`]: many users in one command;
//! [`login`]: logging a device in again finds it in.

mod batch;
mod login;
mod recovery;

use std::time::Duration;

use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::command::Password;
use jasiyo_shared::{AgentEvent, Command, HotspotUser, Outcome, Seq, UnixTime};
use jasiyo_tests::harness::*;
use jasiyo_tests::relay::Relay;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, NewUser, RouterOsEmulator};

/// Waits until `check` holds for the emulator, re-checking on every change it makes.
async fn until_router(router: &RouterOsEmulator, what: &str, check: impl Fn(&RouterOsEmulator) -> bool) {
    let mut changes = router.changes();
    let wait = async {
        while !check(router) {
            changes.changed().await.expect("emulator stopped");
        }
    };
    tokio::time::timeout(WAIT, wait).await.unwrap_or_else(|_| panic!("timed out waiting for the router: {what}"));
}

fn user(name: &str) -> HotspotUser {
    HotspotUser {
        name: name.into(),
        password: Password("pw-1234".into()),
        profile: None,
        mac: None,
        expires_at: Some(UnixTime(now_ms() / 1000 + 3600)),
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    }
}

fn unix_now() -> i64 {
    now_ms() / 1000
}

fn adds(router: &RouterOsEmulator) -> usize {
    router.command_log().iter().filter(|c| *c == "/ip/hotspot/user/add").count()
}

struct Setup {
    world: World,
    cloud: TestCloud,
    creds: RouterCreds,
    router: RouterOsEmulator,
}

async fn setup(world: World) -> Setup {
    let cloud = world.cloud().await;
    let creds = world.add_router(cloud.store().as_ref(), "r1").await;
    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    Setup { world, cloud, creds, router }
}

impl Setup {
    fn agent(&self) -> TestAgent {
        self.agent_via(&self.cloud.ws_url())
    }

    fn agent_via(&self, url: &str) -> TestAgent {
        TestAgent::start_routeros(url, &self.creds, &self.world.agent_dir("r1"), self.router.addr(), fast_edge())
    }
}

/// Every field of a paid plan's user reaches the router, marked as ours.
async fn the_user_is_created_with_every_field_right(world: World) {
    let s = setup(world).await;
    s.router.add_profile("1hour");
    let mut agent = s.agent();
    agent.connected().await;
    let expires = unix_now() + 3600;
    let command = Command::UpsertHotspotUser(HotspotUser {
        name: "KX4P9".into(),
        password: Password("7731".into()),
        profile: Some("1hour".into()),
        mac: Some("AA:BB:CC:00:11:22".parse().unwrap()),
        expires_at: Some(UnixTime(expires)),
        limit_uptime_secs: Some(5400),
        limit_bytes_total: Some(500_000_000),
        comment: Some("M-Pesa QK7AB12CD".into()),
    });
    s.cloud.hub.enqueue(s.creds.id, &command).await.unwrap();
    s.cloud.until_finished(s.creds.id, 1).await;
    let row = s.router.user("KX4P9").expect("user on the router");
    assert_eq!(row.password, "7731");
    assert_eq!(row.profile, "1hour");
    assert_eq!(row.mac_address.as_deref(), Some("AA:BB:CC:00:11:22"));
    assert_eq!(row.limit_uptime.as_deref(), Some("1h30m"));
    assert_eq!(row.limit_bytes_total, Some(500_000_000));
    assert_eq!(row.comment, Some(format!("jasiyo exp={expires} | M-Pesa QK7AB12CD")));

    // The same command again is success without a second add; a change is an update.
    s.cloud.hub.enqueue(s.creds.id, &command).await.unwrap();
    s.cloud.until_finished(s.creds.id, 2).await;
    assert_eq!(adds(&s.router), 1);
    let Command::UpsertHotspotUser(mut changed) = command else { unreachable!() };
    changed.password = Password("9999".into());
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(changed)).await.unwrap();
    s.cloud.until_finished(s.creds.id, 3).await;
    assert_eq!(s.router.user("KX4P9").unwrap().password, "9999");
    assert_eq!(s.router.users().len(), 1);
    let notes: Vec<_> = s.cloud.store().list_commands(s.creds.id, 10).await.unwrap().into_iter().map(|c| c.outcome).collect();
    assert_eq!(notes[0], Some(Outcome::Applied { note: Some("updated".into()) }));
    assert_eq!(notes[1], Some(Outcome::Applied { note: Some("already up to date".into()) }));

    // Removal, twice: the second is success too.
    for _ in 0..2 {
        s.cloud.hub.enqueue(s.creds.id, &Command::RemoveHotspotUser { name: "KX4P9".into() }).await.unwrap();
    }
    s.cloud.until_finished(s.creds.id, 5).await;
    assert!(s.router.user("KX4P9").is_none());
    agent.stop().await;
    s.cloud.stop().await;
}

/// The router API is unreachable for a while; the command waits and lands when it is back.
async fn an_unreachable_router_is_retried(world: World) {
    let s = setup(world).await;
    s.router.set_refuse_connections(true);
    let mut agent = s.agent();
    agent.connected().await;
    let mut events = s.cloud.hub.subscribe();
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("late"))).await.unwrap();
    TestCloud::next_event(&mut events, "received", |e| *e == jasiyo_cloud::hub::HubEvent::Received(s.creds.id, Seq(1))).await;
    // The command is durable at the edge, not applied, and the link is still fine.
    assert!(s.router.user("late").is_none());
    s.cloud.hub.enqueue(s.creds.id, &Command::RemoveHotspotUser { name: "other".into() }).await.unwrap();
    TestCloud::next_event(&mut events, "received", |e| *e == jasiyo_cloud::hub::HubEvent::Received(s.creds.id, Seq(2))).await;
    s.router.set_refuse_connections(false);
    until_router(&s.router, "user created after the outage", |r| r.user("late").is_some()).await;
    s.cloud.until_finished(s.creds.id, 2).await;
    agent.stop().await;
    s.cloud.stop().await;
}

/// The agent is stopped while a command is half applied (the router is slow); after the
/// restart the command completes and the user was added exactly once.
async fn agent_restart_mid_apply_adds_once(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.set_reply_delay(Duration::from_millis(300));
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("midway"))).await.unwrap();
    until_router(&s.router, "the add reached the router", |r| adds(r) == 1).await;
    agent.stop().await;
    s.router.set_reply_delay(Duration::ZERO);
    let mut agent = s.agent();
    agent.connected().await;
    s.cloud.until_finished(s.creds.id, 1).await;
    assert_eq!(adds(&s.router), 1, "applied once");
    assert!(s.router.user("midway").is_some());
    let command = &s.cloud.store().list_commands(s.creds.id, 1).await.unwrap()[0];
    assert_eq!(command.state, CommandState::Applied);
    agent.stop().await;
    s.cloud.stop().await;
}

/// A user expires while the cloud is unreachable: the agent removes it and ends its session
/// on time, and tells the cloud once the link is back.
async fn expiry_is_enforced_while_the_cloud_is_away(world: World) {
    let s = setup(world).await;
    let relay = Relay::start(s.cloud.addr).await;
    let mut agent = s.agent_via(&relay.ws_url());
    agent.connected().await;
    let mut short = user("short");
    let expires = unix_now() + 2;
    short.expires_at = Some(UnixTime(expires));
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(short)).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("long"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 2).await;
    s.router.add_host("02:00:00:00:00:01", "10.5.50.10");
    s.router.add_active("short", "02:00:00:00:00:01", "10.5.50.10");
    s.router.add_cookie("short", "02:00:00:00:00:01");

    relay.set_frozen(true); // the WAN is down
    until_router(&s.router, "the expired user removed", |r| r.user("short").is_none()).await;
    let removed_at = unix_now();
    assert!(removed_at >= expires && removed_at <= expires + 2, "removed at {removed_at}, expiry {expires}");
    until_router(&s.router, "its session ended", |r| r.active().is_empty() && r.cookies().is_empty()).await;
    assert!(s.router.user("long").is_some(), "the other user stays");

    relay.set_frozen(false);
    relay.cut();
    let creds = s.creds.clone();
    s.cloud
        .until("the expiry report", async |store| {
            store
                .list_events(creds.id, 10)
                .await
                .unwrap()
                .iter()
                .any(|e| e.event == AgentEvent::UserExpired { name: "short".into(), sessions_ended: 1 })
        })
        .await;
    agent.stop().await;
    s.cloud.stop().await;
}

/// Reconciliation: a user deleted by hand comes back, a user changed by hand is set back,
/// marked users nobody asked for are removed, and the owner's own users are never touched.
async fn reconciliation_repairs_drift(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    for name in ["keep1", "keep2"] {
        s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user(name))).await.unwrap();
    }
    s.cloud.until_finished(s.creds.id, 2).await;
    s.router.add_user_by_hand(NewUser::new("owners-friend", "x"));
    let mut stale = NewUser::new("stale", "x");
    stale.comment = Some(format!("jasiyo exp={}", unix_now() + 999));
    s.router.add_user_by_hand(stale);
    assert!(s.router.remove_user_by_hand("keep1"));

    until_router(&s.router, "drift repaired", |r| r.user("keep1").is_some() && r.user("stale").is_none()).await;
    assert!(s.router.user("owners-friend").is_some(), "unmarked users are never touched");
    assert!(s.router.user("keep2").is_some());
    let creds = s.creds.clone();
    s.cloud
        .until("the drift report", async |store| {
            store.list_events(creds.id, 10).await.unwrap().iter().any(|e| match &e.event {
                AgentEvent::Drift { restored, removed, .. } => {
                    restored.contains(&"keep1".to_string()) || removed.contains(&"stale".to_string())
                }
                _ => false,
            })
        })
        .await;
    agent.stop().await;
    s.cloud.stop().await;
}

/// The owner's own hotspot users (no jasiyo marker) are never changed or removed, even by
/// a command naming them: the command fails, saying why, and the user stays as it was.
async fn the_owners_own_users_are_never_touched(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_user_by_hand(NewUser::new("manager", "owners-password"));
    s.router.add_user_by_hand(NewUser::new("guest", "guest-password"));
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("manager"))).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &Command::RemoveHotspotUser { name: "guest".into() }).await.unwrap();
    s.cloud.until_finished(s.creds.id, 2).await;
    let commands = s.cloud.store().list_commands(s.creds.id, 10).await.unwrap();
    for command in &commands {
        match command.outcome.as_ref() {
            Some(Outcome::Failed { message }) => assert!(message.contains("not managed by Jasiyo"), "{message}"),
            other => panic!("seq {}: {other:?}", command.seq),
        }
    }
    let manager = s.router.user("manager").expect("still there");
    assert_eq!((manager.password.as_str(), manager.comment.as_deref()), ("owners-password", None));
    assert!(s.router.user("guest").is_some(), "not removed");
    agent.stop().await;
    s.cloud.stop().await;
}

/// A refusal by the router is the command's final outcome, in the router's own words.
async fn permanent_traps_are_reported_as_failed(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    let mut bad = user("badprofile");
    bad.profile = Some("no-such-profile".into());
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(bad)).await.unwrap();
    s.cloud.until_finished(s.creds.id, 1).await;
    // Only the add: the agent's own background prints must not take the trap.
    s.router.trap_next_command("/ip/hotspot/user/add", "failure: simulated refusal");
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("trapped"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 2).await;
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("fine"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 3).await;

    let commands = s.cloud.store().list_commands(s.creds.id, 10).await.unwrap();
    let outcome = |seq: u64| commands.iter().find(|c| c.seq == Seq(seq)).unwrap().outcome.clone().unwrap();
    assert_eq!(outcome(1), Outcome::Failed { message: "input does not match any value of profile".into() });
    assert_eq!(outcome(2), Outcome::Failed { message: "failure: simulated refusal".into() });
    assert!(matches!(outcome(3), Outcome::Applied { .. }));
    assert!(s.router.user("badprofile").is_none());
    assert!(s.router.user("fine").is_some());
    // A refused user is not an entitlement: reconciliation does not keep re-creating it.
    until_router(&s.router, "a reconciliation pass", |r| r.command_log().iter().filter(|c| *c == "/ip/hotspot/user/print").count() > 6)
        .await;
    assert!(s.router.user("trapped").is_none());
    agent.stop().await;
    s.cloud.stop().await;
}

/// Connections dropped mid-conversation and `!fatal`-style kills are survived.
async fn dropped_router_connections_are_survived(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    // Every connection (new ones count their /login) runs two sentences and dies on the third.
    s.router.drop_after_sentences(Some(2));
    for i in 0..3 {
        s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user(&format!("d{i}")))).await.unwrap();
    }
    // Let a few connections die mid-conversation, then heal.
    // Each new connection logs at most one command before it dies: six means several died.
    until_router(&s.router, "a few dropped connections", |r| r.command_log().len() >= 6).await;
    s.router.drop_after_sentences(None);
    s.router.kill_connections();
    s.cloud.until_finished(s.creds.id, 3).await;
    for i in 0..3 {
        assert!(s.router.user(&format!("d{i}")).is_some());
    }
    assert_eq!(adds(&s.router), 3, "each user added once");
    agent.stop().await;
    s.cloud.stop().await;
}

/// The router's status reaches the cloud.
async fn router_status_reaches_the_cloud(world: World) {
    let s = setup(world).await;
    s.router.add_host("02:00:00:00:00:09", "10.5.50.9");
    s.router.add_active("someone", "02:00:00:00:00:09", "10.5.50.9");
    let mut agent = s.agent();
    agent.connected().await;
    let id = s.creds.id;
    s.cloud
        .until("a status with router facts", async |store| {
            let status = store.router(id).await.unwrap().unwrap().status;
            status.is_some_and(|s| s.identity.as_deref() == Some("MikroTik") && s.active_sessions == Some(1))
        })
        .await;
    let status = s.cloud.store().router(id).await.unwrap().unwrap().status.unwrap();
    assert_eq!(status.routeros_version.as_deref(), Some("7.20.8 (long-term)"));
    assert_eq!(status.board.as_deref(), Some("hAP ax^3"));
    assert!(status.free_memory.is_some());
    agent.stop().await;
    s.cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(
    World::new;
    the_user_is_created_with_every_field_right,
    an_unreachable_router_is_retried,
    agent_restart_mid_apply_adds_once,
    expiry_is_enforced_while_the_cloud_is_away,
    reconciliation_repairs_drift,
    the_owners_own_users_are_never_touched,
    permanent_traps_are_reported_as_failed,
    dropped_router_connections_are_survived,
    router_status_reaches_the_cloud,
);
