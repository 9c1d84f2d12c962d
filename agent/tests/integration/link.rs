//! The agent against a fake cloud over a real WebSocket: handshake, delivery, results,
//! duplicates, reconnection and the ways a session can end.

use std::time::Duration;

use crate::support::*;
use jasiyo_agent::LinkState;
use jasiyo_shared::{AgentMessage, CloudMessage, Outcome, PROTOCOL_VERSION, RouterId, Seq};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::StatusCode;

#[tokio::test]
async fn hello_carries_credentials_version_and_journal_position() {
    let rig = Rig::new().await;
    let mut agent = start(rig.config());

    let mut conn = rig.cloud.accept().await;
    assert_eq!(conn.path, "/agent/v1/ws");
    assert_eq!(conn.headers["authorization"], format!("Bearer {TOKEN}").as_str());
    assert_eq!(conn.headers["x-jasiyo-router-id"], rig.router.to_string().as_str());
    let hello = conn.welcome(rig.router).await;
    assert_eq!(hello.protocol, PROTOCOL_VERSION);
    assert_eq!(hello.agent_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(hello.journal_high, None);
    assert!(hello.journal_reset, "a brand-new journal is announced as reset");

    match conn.recv().await {
        AgentMessage::Status(status) => {
            assert_eq!(status.journal_depth, 0);
            assert_eq!(status.agent_version, env!("CARGO_PKG_VERSION"));
        }
        other => panic!("expected a status report after the welcome, got {other:?}"),
    }
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_delivery_is_acknowledged_then_applied_then_reported() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;

    conn.deliver_and_expect_applied(1).await;
    assert_eq!(agent.executor.calls(), vec![Seq(1)]);
    agent.stop().await;
}

#[tokio::test]
async fn duplicates_are_acknowledged_but_never_applied_twice() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;

    conn.deliver_and_expect_applied(1).await;
    // Delivered again before the result was acknowledged: received, and the result repeated.
    conn.deliver_and_expect_applied(1).await;

    // Delivered again after the acknowledgement (only a cloud that lost it, restored from a
    // backup, asks again): received, and said to be done, not applied again.
    conn.send(CloudMessage::ResultAck { seq: Seq(1) }).await;
    conn.deliver(&remove(1)).await;
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(1) });
    let done_before = Outcome::Applied { note: Some(jasiyo_agent::link::session::DONE_BEFORE.into()) };
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(1), outcome: done_before });
    conn.expect_nothing_pending(7).await;

    assert_eq!(agent.executor.count(1), 1);
    agent.stop().await;
}

#[tokio::test]
async fn results_are_resent_after_reconnecting_until_acknowledged() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    conn.deliver_and_expect_applied(1).await;
    drop(conn); // the cloud goes away without acknowledging the result

    let mut conn = rig.cloud.accept().await;
    let hello = conn.welcome(rig.router).await;
    assert_eq!(hello.journal_high, Some(Seq(1)));
    assert!(!hello.journal_reset, "the journal was welcomed before; it is not reset");
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(1), outcome: applied() });
    conn.send(CloudMessage::ResultAck { seq: Seq(1) }).await;
    conn.expect_nothing_pending(1).await;
    drop(conn);

    let mut conn = rig.welcomed().await;
    conn.expect_nothing_pending(2).await;
    assert_eq!(agent.executor.count(1), 1);
    agent.stop().await;
}

#[tokio::test]
async fn the_journal_reset_flag_lasts_until_a_welcome() {
    let rig = Rig::new().await;
    let agent = start(rig.config());

    let mut conn = rig.cloud.accept().await;
    assert!(conn.hello().await.journal_reset);
    drop(conn); // no welcome
    let mut conn = rig.cloud.accept().await;
    assert!(conn.welcome(rig.router).await.journal_reset);
    drop(conn);
    let mut conn = rig.cloud.accept().await;
    assert!(!conn.hello().await.journal_reset);
    agent.stop().await;
}

#[tokio::test]
async fn applying_never_blocks_the_link_and_keeps_sequence_order() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    agent.executor.hold(1);

    conn.deliver(&remove(1)).await;
    agent.executor.wait_for_calls(1).await;
    // Seq 1 is stuck on the router, yet the link takes a delivery and answers a ping.
    conn.deliver(&remove(2)).await;
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(1) });
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(2) });
    conn.expect_nothing_pending(3).await;
    assert_eq!(agent.executor.calls(), vec![Seq(1)], "seq 2 waits for seq 1");

    agent.executor.release(1);
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(1), outcome: applied() });
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(2), outcome: applied() });
    assert_eq!(agent.executor.calls(), vec![Seq(1), Seq(2)]);
    agent.stop().await;
}

#[tokio::test]
async fn transient_failures_are_retried_before_later_commands_on_the_same_user() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    agent.executor.fail(1, 2);

    // Seq 2 touches the same user as seq 1, so it must wait for it. (Commands on other
    // users and devices are independent and may be applied alongside.)
    conn.deliver(&remove(1)).await;
    let mut same_user = remove(2);
    same_user.command = remove(1).command;
    conn.deliver(&same_user).await;
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(1) });
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(2) });
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(1), outcome: applied() });
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(2), outcome: applied() });
    assert_eq!(agent.executor.calls(), vec![Seq(1), Seq(1), Seq(1), Seq(2)]);
    agent.stop().await;
}

#[tokio::test]
async fn a_text_frame_ends_the_session_and_the_agent_reconnects() {
    let rig = Rig::new().await;
    let mut agent = start(observable(rig.config()));

    let mut conn = rig.welcomed().await;
    conn.send_raw(Message::text("hello?")).await;
    conn.closed_by_agent().await;
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("text frame")), "{state:?}");
    let mut conn = rig.welcomed().await;
    conn.expect_nothing_pending(1).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_garbage_frame_ends_the_session_and_the_agent_reconnects() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    conn.send_raw(Message::binary(vec![0xff, 0xff, 0xff, 0xff, 0xff, 0x42])).await;
    conn.closed_by_agent().await;
    let mut conn = rig.welcomed().await;
    conn.expect_nothing_pending(1).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_reported_and_retried() {
    let rig = Rig::new().await;
    let mut agent = start(observable(rig.config()));

    rig.cloud.refuse(StatusCode::UNAUTHORIZED).await;
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("token refused")), "{state:?}");
    let _conn = rig.welcomed().await;
    agent.wait_state(|s| *s == LinkState::Connected).await;
    agent.stop().await;
}

#[tokio::test]
async fn a_silent_cloud_is_declared_dead_and_the_agent_reconnects() {
    let rig = Rig::new().await;
    let mut agent = start(observable(rig.config()));

    let mut conn = rig.cloud.accept().await;
    conn.welcome_with_heartbeat(rig.router, 50).await;
    assert!(matches!(conn.recv().await, AgentMessage::Status(_)));
    assert!(matches!(conn.recv().await, AgentMessage::Ping { .. }), "the agent pings every heartbeat");
    // Never answer: within three heartbeats the agent gives up on this connection.
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("nothing heard")), "{state:?}");
    let _next = rig.welcomed().await;
    drop(conn);
    agent.stop().await;
}

#[tokio::test]
async fn status_is_reported_on_connect_and_periodically() {
    let rig = Rig::new().await;
    let mut cfg = rig.config();
    cfg.status_interval = Duration::from_millis(50);
    let agent = start(cfg);
    let mut conn = rig.welcomed().await;
    conn.deliver(&remove(1)).await;
    let mut statuses = Vec::new();
    while statuses.len() < 3 {
        if let AgentMessage::Status(status) = conn.recv().await {
            statuses.push(status);
        }
    }
    // The result is not acknowledged, so the command still counts towards the depth.
    assert_eq!(statuses.last().unwrap().journal_depth, 1);
    agent.stop().await;
}

#[tokio::test]
async fn a_restarted_agent_keeps_its_journal_and_resends_results() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    conn.deliver_and_expect_applied(1).await;
    agent.stop().await;
    conn.closed_by_agent().await;

    let agent = start(rig.config());
    let mut conn = rig.cloud.accept().await;
    let hello = conn.welcome(rig.router).await;
    assert_eq!(hello.journal_high, Some(Seq(1)));
    assert!(!hello.journal_reset);
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Result { seq: Seq(1), outcome: applied() });
    conn.deliver_and_expect_applied(1).await;
    assert_eq!(agent.executor.count(1), 0, "the restarted agent never re-applied seq 1");
    agent.stop().await;
}

#[tokio::test]
async fn a_welcome_for_another_router_ends_the_session() {
    let rig = Rig::new().await;
    let mut agent = start(observable(rig.config()));
    let mut conn = rig.cloud.accept().await;
    conn.welcome(RouterId::new()).await;
    let state = agent.wait_state(|s| matches!(s, LinkState::Disconnected { .. })).await;
    assert!(matches!(&state, LinkState::Disconnected { reason } if reason.contains("welcomed this agent as router")), "{state:?}");
    agent.stop().await;
}

/// After a database restore the cloud's numbering went back and it delivers a new command
/// under a number the journal holds: the agent refuses it as a conflict (a result the cloud
/// records) instead of replaying the journalled command's outcome as the new one's, and
/// does not apply it.
#[tokio::test]
async fn a_new_command_under_a_known_number_is_refused_as_a_conflict() {
    let rig = Rig::new().await;
    let (agent, mut conn) = rig.start_welcomed().await;
    conn.deliver_and_expect_applied(1).await;

    let mut restored = remove(1);
    restored.id = command_id(1001);
    restored.command = remove(7).command;
    conn.deliver(&restored).await;
    assert_eq!(conn.recv_skipping_chatter().await, AgentMessage::Received { seq: Seq(1) });
    match conn.recv_skipping_chatter().await {
        AgentMessage::Result { seq: Seq(1), outcome } => {
            assert!(outcome.is_sequence_conflict(), "{outcome:?}");
            let jasiyo_shared::Outcome::Failed { message } = &outcome else { unreachable!() };
            assert!(message.contains(&command_id(1).to_string()) && message.contains(&command_id(1001).to_string()), "{message}");
        }
        other => panic!("expected the refusal, got {other:?}"),
    }
    conn.expect_nothing_pending(3).await;
    assert_eq!(agent.executor.calls(), vec![Seq(1)], "the new command was not applied");
    agent.stop().await;
}
