//! A flooding agent, on both databases: what one router can make the cloud write is
//! limited (statuses, reports, sizes), the excess is not written, and gross abuse ends the
//! session.

use std::time::Duration;

use jasiyo_cloud::hub::{AgentLimits, HubEvent};
use jasiyo_shared::{AgentEvent, AgentMessage, CloudMessage, Outcome, Report, RouterStatus, Seq, UnixTime};

use crate::raw_agent::{Cloud, RawAgent, World, next_event};

fn status(identity: String) -> AgentMessage {
    AgentMessage::Status(RouterStatus { identity: Some(identity), agent_version: "raw".into(), ..RouterStatus::default() })
}

fn report(id: u64) -> AgentMessage {
    AgentMessage::Report(Report {
        id,
        at: UnixTime(1_700_000_000),
        event: AgentEvent::UserExpired { name: format!("u{id}"), sessions_ended: 0 },
    })
}

async fn floods_are_limited_and_gross_abuse_ends_the_session(world: World) {
    let limits =
        AgentLimits { status_every: Duration::from_secs(3600), reports_per_minute: 5, strikes_per_minute: 60, ..AgentLimits::default() };
    let cloud = Cloud::start(world.store.clone(), limits).await;
    let (id, token) = world.router("r1").await;
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    let mut events = cloud.hub.subscribe();

    // Long texts are cut (the status is written, shorter); then twenty in a row: they wait.
    agent.send(&status("x".repeat(8 * 1024))).await;
    for i in 0..20 {
        agent.send(&status(format!("s{i}"))).await;
    }
    // Twenty reports: five written and acknowledged, the rest dropped unacknowledged.
    for report_id in 1..=20 {
        agent.send(&report(report_id)).await;
    }
    let seen = agent.until_pong(1).await;
    let acked: Vec<u64> = seen.iter().filter_map(|m| if let CloudMessage::ReportAck { id } = m { Some(*id) } else { None }).collect();
    assert_eq!(acked, vec![1, 2, 3, 4, 5]);
    let router = world.store.router(id).await.unwrap().unwrap();
    let written = router.status.and_then(|s| s.identity).unwrap_or_default();
    assert_eq!(written, "x".repeat(jasiyo_cloud::hub::STATUS_TEXT_CHARS), "one status written, its long text cut");
    assert_eq!(world.store.list_events(id, 100).await.unwrap().len(), 5);
    next_event(&mut events, "a limited message", |e| *e == HubEvent::Limited(id)).await;

    // Results for commands the router does not have, again and again: the session ends.
    for seq in 1000..1100 {
        let bogus = AgentMessage::Result { seq: Seq(seq), outcome: Outcome::Failed { message: "y".repeat(10_000) } };
        if !agent.try_send(&bogus).await {
            break;
        }
    }
    next_event(&mut events, "the abusive session closed", |e| *e == HubEvent::Disconnected(id)).await;
    agent.closed_without_deliveries().await;
    assert!(world.store.list_commands(id, 10).await.unwrap().is_empty(), "nothing was written for them");
    cloud.stop();
}

/// Reconnecting, even before the old session has ended, refills nothing: the router's
/// counts are shared by its sessions.
async fn reconnecting_refills_no_budget(world: World) {
    let limits = AgentLimits { reports_per_minute: 3, ..AgentLimits::default() };
    let cloud = Cloud::start(world.store.clone(), limits).await;
    let (id, token) = world.router("r1").await;
    let mut first = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    for report_id in 1..=3 {
        first.send(&report(report_id)).await;
    }
    let seen = first.until_pong(1).await;
    assert_eq!(seen.iter().filter(|m| matches!(m, CloudMessage::ReportAck { .. })).count(), 3);
    // A second connection while the first is still open.
    let mut second = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    for report_id in 4..=6 {
        second.send(&report(report_id)).await;
    }
    let seen = second.until_pong(2).await;
    assert!(!seen.iter().any(|m| matches!(m, CloudMessage::ReportAck { .. })), "no fresh budget: {seen:?}");
    assert_eq!(world.store.list_events(id, 100).await.unwrap().len(), 3);
    drop(first);
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(World::new; floods_are_limited_and_gross_abuse_ends_the_session, reconnecting_refills_no_budget);
