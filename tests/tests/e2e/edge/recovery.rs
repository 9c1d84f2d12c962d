//! The edge getting over router trouble on its own (issue 18): an expiry the router keeps
//! refusing is retried with backoff, its removal reported and the error shown once in the
//! router's status; a router whose API comes back after an outage is repaired at once, not
//! at the next periodic pass.

use std::time::Duration;

use jasiyo_agent::EdgeConfig;
use jasiyo_cloud::hub::HubEvent;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::{AgentEvent, Command, RouterId, UnixTime};
use jasiyo_tests::harness::*;
use jasiyo_tests::routeros_emulator::{NOT_ENOUGH_PERMISSIONS, RouterOsEmulator};
use tokio::sync::broadcast::{self, error::TryRecvError};
use tokio::time::Instant;

use super::{setup, unix_now, until_router, user};

/// Longer than any test: periodic work the test must not be relying on.
const HOUR: Duration = Duration::from_secs(3600);

/// How soon a repair counts as prompt (the periodic passes are an hour away).
const PROMPTLY: Duration = Duration::from_secs(5);

/// The command that ends a session: the one the router refuses in these tests.
const END_SESSION: &str = "/ip/hotspot/active/remove";

/// How many times the agent tried to end a session.
fn attempts(router: &RouterOsEmulator) -> usize {
    router.command_log().iter().filter(|c| *c == END_SESSION).count()
}

/// The most attempts that fit in `elapsed` when the pauses between them start at `first`
/// and double up to `max`: each pause lasts at least half its step (the jitter's floor).
fn most_attempts(elapsed: Duration, first: Duration, max: Duration) -> usize {
    let (mut attempts, mut step, mut spent) = (1, first, Duration::ZERO);
    loop {
        spent += step / 2;
        if spent > elapsed {
            return attempts;
        }
        attempts += 1;
        step = (step * 2).min(max);
    }
}

/// Status reports stored and sessions opened for `router` since the last call.
fn statuses_and_connects(events: &mut broadcast::Receiver<HubEvent>, router: RouterId) -> (usize, usize) {
    let (mut statuses, mut connects) = (0, 0);
    loop {
        match events.try_recv() {
            Ok(HubEvent::Status(id)) if id == router => statuses += 1,
            Ok(HubEvent::Connected(id)) if id == router => connects += 1,
            Ok(_) => {}
            Err(TryRecvError::Empty) => return (statuses, connects),
            Err(e) => panic!("hub events: {e}"),
        }
    }
}

/// An expired user's session cannot be ended, again and again (the API user's group lacks
/// the `write` policy on the active menu): the agent retries with growing pauses instead of
/// spinning, reports the user's removal (which worked), and shows the error in the router's
/// status once, not on every retry; when the policy is granted, the session ends and the
/// error clears.
async fn a_persistently_failing_expiry_backs_off_and_is_reported_once(world: World) {
    let s = setup(world).await;
    let (retry_after, retry_max) = (Duration::from_millis(100), Duration::from_secs(1));
    let edge = EdgeConfig { reconcile_every: HOUR, status_every: HOUR, retry_after, retry_max };
    let mut agent = TestAgent::start_routeros_with(&s.cloud.ws_url(), &s.creds, &s.world.agent_dir("r1"), s.router.addr(), edge, HOUR);
    let mut hub = s.cloud.hub.subscribe();
    agent.connected().await;
    s.router.add_active("short", "02:00:00:00:00:01", "10.5.50.10");
    s.router.trap_every(END_SESSION, NOT_ENOUGH_PERMISSIONS);
    let mut short = user("short");
    let expires = unix_now() + 2;
    short.expires_at = Some(UnixTime(expires));
    // No attempt comes before the expiry: attempts are counted against the time since.
    let started = Instant::now() + Duration::from_millis(u64::try_from(expires * 1000 - now_ms()).unwrap_or(0));
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(short)).await.unwrap();
    s.cloud.until_finished(s.creds.id, 1).await;

    until_router(&s.router, "the expired user removed", |r| r.user("short").is_none()).await;
    until_router(&s.router, "three attempts to end its session", |r| attempts(r) >= 3).await;
    let bound = most_attempts(started.elapsed(), retry_after, retry_max);
    assert!(attempts(&s.router) <= bound, "{} attempts in {:?}: no backoff (at most {bound})", attempts(&s.router), started.elapsed());

    let id = s.creds.id;
    s.cloud
        .until("the expiry report", async |store| {
            store
                .list_events(id, 10)
                .await
                .unwrap()
                .iter()
                .any(|e| matches!(&e.event, AgentEvent::UserExpired { name, .. } if name == "short"))
        })
        .await;
    s.cloud
        .until("the error in the router's status", async |store| {
            let status = store.router(id).await.unwrap().unwrap().status;
            status.and_then(|s| s.last_error).is_some_and(|e| e.contains(NOT_ENOUGH_PERMISSIONS))
        })
        .await;
    statuses_and_connects(&mut hub, id);
    let seen = attempts(&s.router);
    until_router(&s.router, "two more attempts", |r| attempts(r) >= seen + 2).await;
    let (statuses, connects) = statuses_and_connects(&mut hub, id);
    assert!(statuses <= connects, "{statuses} status reports over two retries ({connects} reconnects): the error is reported once");
    let bound = most_attempts(started.elapsed(), retry_after, retry_max);
    assert!(attempts(&s.router) <= bound, "{} attempts in {:?} (at most {bound})", attempts(&s.router), started.elapsed());

    // The policy is granted: the next retry ends the session and the error goes away.
    s.router.stop_trapping(END_SESSION);
    until_router(&s.router, "the session ended", |r| r.active().is_empty()).await;
    s.cloud
        .until("the error cleared from the status", async |store| {
            store.router(id).await.unwrap().unwrap().status.is_some_and(|s| s.last_error.is_none())
        })
        .await;
    let events = s.cloud.store().list_events(id, 10).await.unwrap();
    let reported = events.iter().filter(|e| matches!(&e.event, AgentEvent::UserExpired { name, .. } if name == "short")).count();
    assert_eq!(reported, 1, "the expiry is reported once: {events:?}");
    agent.stop().await;
    s.cloud.stop().await;
}

/// The router's API goes away (an outage, a reset) and comes back with one of our users
/// missing, twice: each time the agent keeps trying to reach it and repairs the user as soon
/// as it is back, although its periodic reconciliation and status refresh are an hour away.
async fn a_router_back_from_an_outage_is_repaired_at_once(world: World) {
    let s = setup(world).await;
    let edge = EdgeConfig { reconcile_every: HOUR, status_every: HOUR, ..fast_edge() };
    let mut agent = TestAgent::start_routeros(&s.cloud.ws_url(), &s.creds, &s.world.agent_dir("r1"), s.router.addr(), edge);
    agent.connected().await;
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("keep"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 1).await;
    assert!(s.router.user("keep").is_some());

    let id = s.creds.id;
    for outage in 1..=2 {
        s.router.set_refuse_connections(true);
        s.router.kill_connections();
        until_router(&s.router, "the agent's connection closed", |r| r.connections() == 0).await;
        assert!(s.router.remove_user_by_hand("keep"));
        let refused = s.router.refused_connections();
        let tried = s.router.wait_until(PROMPTLY, |r| r.refused_connections() >= refused + 2).await;
        assert!(tried, "outage {outage}: the agent did not try to reach the router");
        s.router.set_refuse_connections(false);
        let repaired = s.router.wait_until(PROMPTLY, |r| r.user("keep").is_some()).await;
        assert!(repaired, "outage {outage}: the missing user was not restored within {PROMPTLY:?} of the router's return");
        s.cloud
            .until("the drift reports", async |store| {
                let events = store.list_events(id, 10).await.unwrap();
                let restored = |e: &&jasiyo_cloud::model::RouterEvent| {
                    matches!(&e.event, AgentEvent::Drift { restored, .. } if restored.contains(&"keep".to_string()))
                };
                events.iter().filter(restored).count() == outage
            })
            .await;
    }
    agent.stop().await;
    s.cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_persistently_failing_expiry_backs_off_and_is_reported_once,
    a_router_back_from_an_outage_is_repaired_at_once,
);
