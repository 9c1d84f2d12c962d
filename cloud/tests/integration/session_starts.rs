//! Agent sessions starting, recorded together, on both databases: one call records many
//! starts, each judged on its own (token still current, counter behind the journal,
//! commands waiting); routers are read many at a time for token checks; a fleet dialling at
//! once is welcomed with every session recorded.

use jasiyo_cloud::hub::{AgentLimits, HubEvent};
use jasiyo_cloud::store::{Connect, Connected, now_ms};
use jasiyo_shared::{CloudMessage, Command, RouterId, Seq};

use crate::raw_agent::{Cloud, RawAgent, WAIT, World, next_event};

fn remove(name: &str) -> Command {
    Command::RemoveHotspotUser { name: name.into() }
}

fn start(router: RouterId, token_hash: &str, journal_high: Option<u64>) -> Connect {
    Connect {
        router,
        session: uuid::Uuid::new_v4(),
        agent_version: "0.9.1".into(),
        token_hash: token_hash.into(),
        journal_high: journal_high.map(Seq),
        now_ms: 5_000,
    }
}

/// Seven starts in one call, one of each kind: each answer is its own, and only the
/// sessions whose token is still current are named as their router's link.
async fn many_starts_in_one_call_are_each_judged(world: World) {
    let store = &world.store;
    let mut routers = Vec::new();
    for name in ["waiting", "idle", "ahead", "behind", "rotated", "revoked"] {
        let (id, token) = world.router(name).await;
        routers.push((id, token.hash()));
    }
    let [waiting, idle, ahead, behind, rotated, revoked] = routers.clone().try_into().unwrap();
    store.enqueue_command(waiting.0, &remove("u1"), 1).await.unwrap();
    for _ in 0..3 {
        store.enqueue_command(behind.0, &remove("u2"), 1).await.unwrap();
    }
    // Finished commands are not waiting.
    let done = store.enqueue_command(idle.0, &remove("u3"), 1).await.unwrap();
    store.record_result(idle.0, done.seq, &jasiyo_shared::Outcome::Applied { note: None }, 2).await.unwrap();
    store.rotate_router_token(rotated.0, "another hash", 3).await.unwrap();
    store.revoke_router(revoked.0, 3).await.unwrap();

    let starts = vec![
        start(waiting.0, &waiting.1, None),
        start(idle.0, &idle.1, Some(1)),
        start(ahead.0, &ahead.1, Some(10)),
        start(behind.0, &behind.1, Some(2)),
        start(rotated.0, &rotated.1, None),
        start(revoked.0, &revoked.1, None),
        start(RouterId::new(), "nobody's", Some(4)),
    ];
    let answers = store.routers_connected(&starts).await.unwrap();
    let recorded = |pending| Connected { recorded: true, pending, seq_moved: false };
    let refused = Connected { recorded: false, pending: false, seq_moved: false };
    assert_eq!(
        answers,
        vec![recorded(true), recorded(false), Connected { seq_moved: true, ..recorded(false) }, recorded(true), refused, refused, refused,]
    );

    for (start, answer) in starts.iter().zip(&answers).take(6) {
        let router = store.router(start.router).await.unwrap().unwrap();
        if answer.recorded {
            assert_eq!(router.online_session, Some(start.session));
            assert_eq!(router.agent_version.as_deref(), Some("0.9.1"));
            assert!(router.is_online(5_000, 100));
        } else {
            assert_eq!(router.online_session, None, "a start on a changed token names no link");
        }
    }
    assert_eq!(store.enqueue_command(ahead.0, &remove("next"), 6).await.unwrap().seq, Seq(11), "moved past the journal");
    assert_eq!(store.enqueue_command(behind.0, &remove("next"), 6).await.unwrap().seq, Seq(4), "a journal behind moves nothing");
    assert_eq!(store.routers_connected(&[]).await.unwrap(), vec![]);
}

/// Routers read together for token checks: those that exist, each once, whatever the
/// chunking.
async fn routers_are_read_many_at_a_time(world: World) {
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(world.router(&format!("r{i}")).await.0);
    }
    let mut asked = vec![RouterId::new()];
    asked.extend(&ids);
    let mut found: Vec<RouterId> = world.store.routers_by_id(&asked).await.unwrap().into_iter().map(|r| r.id).collect();
    found.sort();
    ids.sort();
    assert_eq!(found, ids, "the unknown id is left out");
    let many: Vec<RouterId> = (0..1_200).map(|_| RouterId::new()).chain([ids[0]]).collect();
    let found = world.store.routers_by_id(&many).await.unwrap();
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]], "found past the first chunks");
    assert!(world.store.routers_by_id(&[]).await.unwrap().is_empty());
}

/// A fleet dialling at once: every agent is welcomed, every session is the one the
/// database names, and the agents with commands waiting get them (the others are not asked
/// for an outbox, but a command enqueued later still reaches them).
async fn a_fleet_dialling_at_once_is_recorded_and_served(world: World) {
    const AGENTS: usize = 120;
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let mut routers = Vec::new();
    for i in 0..AGENTS {
        let (id, token) = world.router(&format!("r{i}")).await;
        if i % 3 == 0 {
            world.store.enqueue_command(id, &remove(&format!("waiting-{i}")), now_ms()).await.unwrap();
        }
        routers.push((id, token));
    }
    let mut events = cloud.hub.subscribe();
    let dials = routers.iter().map(|(id, token)| RawAgent::welcomed(&cloud, *id, token.expose(), Some(Seq(0))));
    // Among them, a stranger with a wrong token: read in the same batches, still refused.
    let stranger = RawAgent::connect(&cloud, routers[0].0, "not-the-token");
    let (mut agents, stranger) = tokio::join!(futures_util::future::join_all(dials), stranger);
    assert_eq!(stranger.err(), Some(401));
    for _ in 0..AGENTS {
        next_event(&mut events, "a welcome", |e| matches!(e, HubEvent::Connected(_))).await;
    }
    assert_eq!(cloud.hub.connected(), AGENTS);
    let online = world.store.list_routers(None).await.unwrap();
    assert!(online.iter().all(|r| r.online_session.is_some()), "every session is recorded");

    for (i, agent) in agents.iter_mut().enumerate().filter(|(i, _)| i % 3 == 0) {
        match tokio::time::timeout(WAIT, agent.recv()).await {
            Ok(Some(CloudMessage::Deliver(delivery))) => assert_eq!(delivery.command, remove(&format!("waiting-{i}"))),
            other => panic!("agent {i}: expected its waiting command, got {other:?}"),
        }
    }
    let (id, _) = routers[1];
    let later = cloud.hub.enqueue(id, &remove("later")).await.unwrap();
    match tokio::time::timeout(WAIT, agents[1].recv()).await {
        Ok(Some(CloudMessage::Deliver(delivery))) => assert_eq!(delivery.seq, later.seq),
        other => panic!("expected the later command, got {other:?}"),
    }
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(World::new;
    many_starts_in_one_call_are_each_judged,
    routers_are_read_many_at_a_time,
    a_fleet_dialling_at_once_is_recorded_and_served,
);
