//! The agent's reconnect policy against a fake cloud over a real WebSocket: a rejection
//! backs off, a busy cloud's `Retry-After` is honoured with jitter, and a welcome starts the
//! backoff again even when its session was short; a refused connection is known as one.

use std::time::{Duration, Instant};

use crate::support::*;
use jasiyo_agent::{LinkState, ReconnectPolicy};
use jasiyo_shared::{CloudMessage, PROTOCOL_VERSION, RejectReason};
use tokio_tungstenite::tungstenite::http::StatusCode;

#[tokio::test]
async fn a_rejection_is_reported_and_backed_off() {
    let rig = Rig::new().await;
    let mut cfg = rig.config();
    let initial = Duration::from_millis(300);
    cfg.reconnect = ReconnectPolicy { initial, max: Duration::from_secs(1), stable_after: Duration::from_secs(60) };
    let mut agent = start(cfg);

    // The first retry may come at once (spread over [0, initial]); the next waits longer.
    for _ in 0..2 {
        let mut conn = rig.cloud.accept().await;
        conn.hello().await;
        conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: PROTOCOL_VERSION, cloud: 99 })).await;
    }
    let rejected_at = Instant::now();
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("rejected")), "{state:?}");

    let mut conn = rig.cloud.accept().await;
    assert!(rejected_at.elapsed() >= initial, "reconnected after {:?}", rejected_at.elapsed());
    conn.welcome(rig.router).await;
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_busy_cloud_is_dialled_again_after_its_retry_hint_with_jitter() {
    let rig = Rig::new().await;
    // Its own backoff alone would dial again within 200 ms.
    let mut agent = start(rig.config());
    rig.cloud.busy(1).await;
    let sent_away = Instant::now();
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("busy")), "{state:?}");
    let mut conn = rig.cloud.accept().await;
    let waited = sent_away.elapsed();
    // The hint, plus up to half of it again at random (and a little for the test's own pace).
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_millis(1500 + 500), "dialled again after {waited:?}");
    conn.welcome(rig.router).await;
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_welcome_after_a_short_session_still_brings_the_next_try_at_once() {
    let rig = Rig::new().await;
    let mut cfg = rig.config();
    // Doubling from 400 ms, and no session is ever "stable".
    cfg.reconnect =
        ReconnectPolicy { initial: Duration::from_millis(400), max: Duration::from_secs(10), stable_after: Duration::from_secs(60) };
    let mut agent = start(cfg);
    // Failures grow the delay: 2 refusals put the step at 1.6 s.
    rig.cloud.refuse(StatusCode::BAD_GATEWAY).await;
    rig.cloud.refuse(StatusCode::BAD_GATEWAY).await;
    // A welcome, then the link is cut at once: the next try comes within the first step.
    let conn = rig.welcomed().await;
    agent.wait_state(|s| *s == LinkState::Connected).await;
    drop(conn);
    let cut = Instant::now();
    let mut conn = rig.cloud.accept().await;
    assert!(cut.elapsed() < Duration::from_millis(400 + 300), "dialled again after {:?}", cut.elapsed());
    conn.welcome(rig.router).await;
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

/// Nothing listening at the cloud's address (it is restarting) is told apart from other
/// failures: its retries are capped at `refused_step_max` (0.5 s, 2 s after 10 s of
/// refusals), so a fleet is back soon after the cloud listens again instead of sleeping out
/// a delay grown while it was down.
#[tokio::test]
async fn a_refused_connection_is_known_as_one() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let error = tokio_tungstenite::connect_async(format!("ws://{closed}/agent/v1/ws")).await.unwrap_err();
    assert!(jasiyo_agent::link::LinkError::WebSocket(error).is_refused());
    let timeout = jasiyo_agent::link::LinkError::ConnectTimeout(Duration::from_secs(10));
    assert!(!timeout.is_refused(), "a timeout may be a cloud too busy to answer: it backs off in full");
}
