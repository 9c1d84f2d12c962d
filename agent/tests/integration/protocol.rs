//! Protocol versions: the agent says 4; an old cloud that refuses it gets the version it
//! speaks (and nothing newer); a cloud that may have been upgraded is offered 4 again; a
//! protocol-3 cloud gets the agent's counters with each status, a protocol-2 one not.

use std::time::Duration;

use crate::support::*;
use jasiyo_agent::{LinkState, ReconnectPolicy};
use jasiyo_shared::{AgentMessage, CloudMessage, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, RejectReason};

/// Reconnection slow enough that a reconnect within [`WAIT`] proves the fall-back did not
/// wait for the backoff.
fn slow_retries(mut config: jasiyo_agent::AgentConfig) -> jasiyo_agent::AgentConfig {
    config.reconnect =
        ReconnectPolicy { initial: Duration::from_secs(60), max: Duration::from_secs(60), stable_after: Duration::from_secs(60) };
    config
}

#[tokio::test]
async fn an_old_cloud_that_refuses_protocol_2_is_spoken_to_in_protocol_1() {
    let rig = Rig::new().await;
    let mut agent = start(slow_retries(rig.config()));

    let mut conn = rig.cloud.accept().await;
    let hello = conn.hello().await;
    assert_eq!(hello.protocol, 4);
    assert_eq!(PROTOCOL_VERSION, 4);
    // What a protocol-1 cloud says to any other version.
    conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 4, cloud: 1 })).await;

    // At once, not after the minute of backoff.
    let mut conn = rig.cloud.accept().await;
    let hello = conn.welcome(rig.router).await;
    assert_eq!(hello.protocol, MIN_PROTOCOL_VERSION);
    agent.wait_state(|s| *s == LinkState::Connected).await;
    // A status, and nothing of protocol 2 with it (an old cloud could not read it).
    assert!(matches!(conn.recv().await, AgentMessage::Status(_)));
    conn.expect_nothing_pending(7).await;
    agent.stop().await;
}

#[tokio::test]
async fn after_a_session_in_protocol_1_the_next_connection_offers_2_again() {
    let rig = Rig::new().await;
    let agent = start(rig.config());

    let mut conn = rig.cloud.accept().await;
    conn.hello().await;
    conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 4, cloud: 1 })).await;
    let mut conn = rig.cloud.accept().await;
    assert_eq!(conn.welcome(rig.router).await.protocol, 1);
    drop(conn); // the cloud restarts, perhaps upgraded

    let mut conn = rig.cloud.accept().await;
    assert_eq!(conn.welcome_at(rig.router, now_ms()).await.protocol, 4);
    agent.stop().await;
}

#[tokio::test]
async fn a_cloud_asking_for_a_version_this_agent_does_not_speak_is_not_followed() {
    let rig = Rig::new().await;
    let mut agent = start(observable(rig.config()));

    let mut conn = rig.cloud.accept().await;
    conn.hello().await;
    conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 4, cloud: 0 })).await;
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("rejected")), "{state:?}");
    let mut conn = rig.cloud.accept().await;
    assert_eq!(conn.welcome(rig.router).await.protocol, 4, "still the newest: 0 is not a version it can speak");
    agent.stop().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn a_protocol_2_cloud_is_told_the_clock_skew_with_each_status() {
    const HOUR_MS: i64 = 3_600_000;
    for (offset_secs, skew_ms) in [(3 * 3600, 3 * HOUR_MS), (-3 * 3600, -3 * HOUR_MS), (0, 0)] {
        let rig = Rig::new().await;
        let mut cfg = rig.config();
        cfg.clock_offset_secs = offset_secs;
        cfg.status_interval = Duration::from_millis(50);
        let agent = start(cfg);

        // A protocol-2 cloud: the agent falls back to 2.
        let mut conn = rig.cloud.accept().await;
        conn.hello().await;
        conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 4, cloud: 2 })).await;
        let mut conn = rig.cloud.accept().await;
        assert_eq!(conn.welcome_at(rig.router, now_ms()).await.protocol, 2);
        // Every status is followed by the skew, measured at the welcome, and no counters
        // come (a protocol-2 cloud could not read them).
        for _ in 0..2 {
            assert!(matches!(conn.recv().await, AgentMessage::Status(_)));
            match conn.recv().await {
                AgentMessage::Clock { skew_ms: reported } => {
                    assert!((reported - skew_ms).abs() < 2_000, "offset {offset_secs} s: reported {reported} ms, expected {skew_ms}")
                }
                other => panic!("expected the clock after the status, got {other:?}"),
            }
        }
        agent.stop().await;
    }
}

#[tokio::test]
async fn a_protocol_3_cloud_gets_the_counters_before_each_status() {
    let rig = Rig::new().await;
    let mut cfg = rig.config();
    cfg.status_interval = Duration::from_millis(50);
    let agent = start(cfg);

    let mut conn = rig.cloud.accept().await;
    // A protocol-3 cloud refuses 4; the agent speaks 3 to it, counters included.
    conn.hello().await;
    conn.send(CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 4, cloud: 3 })).await;
    let mut conn = rig.cloud.accept().await;
    assert_eq!(conn.welcome_at(rig.router, now_ms()).await.protocol, 3);
    let mut since = None;
    for _ in 0..2 {
        match conn.recv().await {
            AgentMessage::Counters(counters) => {
                assert!(counters.well_formed(), "{counters:?}");
                assert_eq!((counters.cloud_reconnects, counters.commands_applied), (0, 0));
                assert!(since.is_none_or(|since| since == counters.since_ms), "one run, one start");
                since = Some(counters.since_ms);
            }
            other => panic!("expected the counters before the status, got {other:?}"),
        }
        assert!(matches!(conn.recv().await, AgentMessage::Status(_)));
        assert!(matches!(conn.recv().await, AgentMessage::Clock { .. }));
    }
    agent.stop().await;
}
