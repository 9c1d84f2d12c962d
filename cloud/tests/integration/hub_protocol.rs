//! Protocol versions on the hub, on both databases: an agent of protocol 1 (in the field)
//! gets the plain welcome and nothing of protocol 2; an agent of protocol 2 gets the
//! cloud's clock; any other version is refused with the versions named; a protocol-2 command
//! reaches a protocol-1 agent in the form it can take; the agent's counters (protocol 3) are
//! taken from a protocol-3 agent only; the free trial (protocol 4) never reaches an older agent.

use jasiyo_cloud::hub::AgentLimits;
use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::command::Password;
use jasiyo_shared::{
    AgentMessage, CloudMessage, Command, Hello, HotspotProfile, HotspotTrial, HotspotUser, Outcome, PROTOCOL_VERSION, RejectReason,
    UserUsage,
};

use crate::raw_agent::{Cloud, RawAgent, World};

async fn a_protocol_1_agent_gets_the_plain_welcome(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    let (mut agent, welcome) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, 1).await;
    assert!(matches!(welcome, CloudMessage::Welcome(_)), "{welcome:?}");
    // Whatever it does next, the cloud answers in protocol 1 (it can read nothing newer).
    agent.send(&AgentMessage::Status(Default::default())).await;
    let seen = agent.until_pong(1).await;
    assert!(seen.iter().all(|m| !matches!(m, CloudMessage::WelcomeAt(_))), "{seen:?}");
    // A protocol-2 message from it is not acted on.
    agent.send(&AgentMessage::Clock { skew_ms: 3_600_000 }).await;
    agent.send(&AgentMessage::Usage(vec![UserUsage { name: "u".into(), bytes_in: 1, bytes_out: 2 }])).await;
    agent.until_pong(2).await;
    let router = world.store.router(id).await.unwrap().unwrap();
    assert_eq!(router.agent_version.as_deref(), Some("raw"));
    cloud.stop();
}

async fn a_protocol_2_agent_gets_the_clouds_clock(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    let before = now_ms();
    let (_agent, welcome) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, 2).await;
    let after = now_ms();
    match welcome {
        CloudMessage::WelcomeAt(at) => {
            assert_eq!(at.router_id, id);
            assert!((before..=after).contains(&at.now_ms), "{} not in {before}..={after}", at.now_ms);
            assert!(at.heartbeat_ms > 0);
        }
        other => panic!("expected the welcome with the clock, got {other:?}"),
    }
    cloud.stop();
}

async fn other_versions_are_refused_naming_both(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    for version in [0, PROTOCOL_VERSION + 1] {
        let mut agent = RawAgent::connect(&cloud, id, token.expose()).await.unwrap();
        let hello = Hello { protocol: version, agent_version: "raw".into(), journal_high: None, journal_reset: false };
        agent.send(&AgentMessage::Hello(hello)).await;
        let expected = RejectReason::UnsupportedVersion { agent: version, cloud: PROTOCOL_VERSION };
        assert_eq!(agent.recv().await, Some(CloudMessage::Rejected(expected)));
    }
    cloud.stop();
}

async fn a_protocol_2_agents_usage_is_stored_within_limits(world: World) {
    use jasiyo_cloud::hub::HubEvent;
    use jasiyo_cloud::store::users::UserFilter;
    use jasiyo_shared::MAX_USAGE_PER_MESSAGE;

    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    jasiyo_cloud::store::testing::paid_payment(world.store.as_ref(), id, now_ms(), now_ms() / 1000 + 3600).await;
    let tenant = world.store.find_tenant("t").await.unwrap().unwrap().id;
    let mut events = cloud.hub.subscribe();
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;

    // Too many users in one message: dropped, counted against the agent.
    let flood: Vec<UserUsage> =
        (0..=MAX_USAGE_PER_MESSAGE).map(|i| UserUsage { name: format!("U{i}"), bytes_in: 1, bytes_out: 1 }).collect();
    agent.send(&AgentMessage::Usage(flood)).await;
    crate::raw_agent::next_event(&mut events, "the flood limited", |e| *e == HubEvent::Limited(id)).await;

    agent.send(&AgentMessage::Usage(vec![UserUsage { name: "KX7Q2M".into(), bytes_in: 1_100_000, bytes_out: 12_400_000 }])).await;
    crate::raw_agent::next_event(&mut events, "the usage stored", |e| *e == HubEvent::Usage(id)).await;
    let users = world.store.tenant_users(tenant, &UserFilter::default(), None, 10).await.unwrap();
    let used = users[0].usage.expect("data used recorded");
    assert_eq!((used.bytes_in, used.bytes_out), (1_100_000, 12_400_000));
    assert_eq!(used.describe(), "12.4 MB down, 1.1 MB up");
    cloud.stop();
}

/// The agent's counters (protocol 3) are stored with the status that follows them; a
/// protocol-2 agent (in the field) keeps working, and counters from it are not taken.
async fn counters_come_from_protocol_3_agents_only(world: World) {
    use jasiyo_cloud::hub::HubEvent;
    use jasiyo_shared::{AgentCounters, RouterStatus};

    let cloud = Cloud::start(world.store.clone(), AgentLimits { status_every: std::time::Duration::ZERO, ..Default::default() }).await;
    let mut events = cloud.hub.subscribe();
    let mut counters = AgentCounters { since_ms: 1, commands_applied: 4, apply_buckets: vec![0; 11], ..Default::default() };
    counters.apply_buckets[3] = 4;
    counters.routeros_errors.connection = 2;
    counters.router_reconnects = 1;
    for protocol in [2, 3] {
        let (id, token) = world.router(&format!("r{protocol}")).await;
        let (mut agent, welcome) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, protocol).await;
        assert!(matches!(welcome, CloudMessage::WelcomeAt(_)), "{welcome:?}");
        agent.send(&AgentMessage::Counters(counters.clone())).await;
        let status = RouterStatus { journal_depth: 3, agent_version: "raw".into(), ..Default::default() };
        agent.send(&AgentMessage::Status(status)).await;
        crate::raw_agent::next_event(&mut events, "the status stored", |e| *e == HubEvent::Status(id)).await;
        let router = world.store.router(id).await.unwrap().unwrap();
        assert_eq!(router.status.map(|s| s.journal_depth), Some(3), "protocol {protocol}: the status is stored");
        let expected = (protocol == 3).then(|| counters.clone());
        assert_eq!(router.counters, expected, "protocol {protocol}");
    }
    let text = cloud.hub.metrics().render();
    assert!(text.contains("jasiyo_agent_routeros_errors_total{kind=\"connection\"} 2\n"), "{text}");
    assert!(text.contains("jasiyo_agent_apply_seconds_count 4\n"), "{text}");
    cloud.stop();
}

/// A user in its plan's profile (protocol 2) reaches a protocol-1 agent as the plain user in the
/// default profile, and a protocol-2 agent as it is, under the same sequence number and id.
async fn a_user_in_a_profile_reaches_each_protocol_as_it_can_take_it(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let profile = HotspotProfile { name: "jasiyo-0123abcd".into(), rate_limit: Some("2M/5M".into()), shared_users: 2 };
    let user = HotspotUser {
        name: "ABC123".into(),
        password: Password("4821".into()),
        profile: Some(profile.name.clone()),
        mac: None,
        expires_at: None,
        limit_uptime_secs: Some(3600),
        limit_bytes_total: None,
        comment: None,
    };
    let command = Command::UpsertHotspotUserInProfile { user: user.clone(), profile };
    for protocol in [1, 2] {
        let (id, token) = world.router(&format!("r{protocol}")).await;
        let stored = cloud.hub.enqueue(id, &command).await.unwrap();
        let (mut agent, _) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, protocol).await;
        let delivery = loop {
            match agent.recv().await.expect("a delivery") {
                CloudMessage::Deliver(delivery) => break delivery,
                _ => continue,
            }
        };
        assert_eq!((delivery.seq, delivery.id), (stored.seq, stored.id));
        let expected =
            if protocol == 1 { Command::UpsertHotspotUser(HotspotUser { profile: None, ..user.clone() }) } else { command.clone() };
        assert_eq!(delivery.command, expected, "protocol {protocol}");
    }
    cloud.stop();
}

/// The free trial (protocol 4) never reaches a protocol-3 agent: it is finished as failed,
/// saying why, and the command after it is delivered; a protocol-4 agent gets it as it is.
async fn the_trial_reaches_protocol_4_agents_only(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let trial = Command::SetHotspotTrial { trial: Some(HotspotTrial::daily(5)) };
    let after = Command::EndSession { mac: "02:00:00:00:00:04".parse().unwrap() };
    for protocol in [3, 4] {
        let (id, token) = world.router(&format!("t{protocol}")).await;
        let first = cloud.hub.enqueue(id, &trial).await.unwrap();
        let second = cloud.hub.enqueue(id, &after).await.unwrap();
        let (mut agent, _) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, protocol).await;
        let delivery = loop {
            match agent.recv().await.expect("a delivery") {
                CloudMessage::Deliver(delivery) => break delivery,
                _ => continue,
            }
        };
        if protocol == 3 {
            assert_eq!((delivery.seq, &delivery.command), (second.seq, &after), "the trial is skipped, the next command sent");
            let failed = world.store.list_commands(id, 10).await.unwrap().into_iter().find(|c| c.seq == first.seq).unwrap();
            assert_eq!(failed.state, CommandState::Failed);
            let Some(Outcome::Failed { message }) = failed.outcome else { panic!("{failed:?}") };
            assert!(message.contains("protocol 3") && message.contains("protocol 4") && message.contains("update the agent"), "{message}");
        } else {
            assert_eq!((delivery.seq, &delivery.command), (first.seq, &trial));
        }
    }
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(
    World::new;
    the_trial_reaches_protocol_4_agents_only,
    a_user_in_a_profile_reaches_each_protocol_as_it_can_take_it,
    a_protocol_2_agents_usage_is_stored_within_limits,
    counters_come_from_protocol_3_agents_only,
    a_protocol_1_agent_gets_the_plain_welcome,
    a_protocol_2_agent_gets_the_clouds_clock,
    other_versions_are_refused_naming_both
);
