//! Router tokens and the hub, on both databases: a revocation or rotation made by another
//! process (the CLI, another instance) ends the live session at once and nothing more is
//! delivered on the old token; a sequence counter gone back is moved past the agent's
//! journal.

use jasiyo_cloud::hub::{AgentLimits, HubEvent};
use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::{AgentMessage, CloudMessage, Command, Outcome, Seq};

use crate::raw_agent::{Cloud, RawAgent, World, next_event};

fn remove(name: &str) -> Command {
    Command::RemoveHotspotUser { name: name.into() }
}

/// `router revoke` in another process: the live session is closed promptly, the agent is
/// refused when it comes back, and a command enqueued afterwards never reaches it.
async fn revoke_ends_the_live_session_and_delivers_nothing_more(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    let mut events = cloud.hub.subscribe();

    assert!(world.other_process().await.revoke_router(id, now_ms()).await.unwrap());
    next_event(&mut events, "the session ended by the revocation", |e| *e == HubEvent::TokenChanged(id)).await;
    next_event(&mut events, "the disconnect", |e| *e == HubEvent::Disconnected(id)).await;
    agent.closed_without_deliveries().await;

    assert_eq!(RawAgent::connect(&cloud, id, token.expose()).await.err(), Some(401), "a revoked router is refused");
    let later = cloud.hub.enqueue(id, &remove("u1")).await.unwrap();
    // Whatever the store says, nobody is connected to take it.
    assert_eq!(cloud.hub.connected(), 0);
    assert_eq!(world.store.command_state(id, later.seq).await.unwrap(), Some(CommandState::Queued), "never delivered");
    cloud.stop();
}

/// The token is checked at every delivery, not only at connect: a revocation nobody
/// announced still stops the next command, and ends the session.
async fn a_revoked_router_gets_no_delivery_even_unannounced(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), None).await;
    let mut events = cloud.hub.subscribe();

    world.revoke_unannounced(id).await;
    let stored = cloud.hub.enqueue(id, &remove("u1")).await.unwrap();
    next_event(&mut events, "the session ended at delivery", |e| *e == HubEvent::TokenChanged(id)).await;
    agent.closed_without_deliveries().await;
    assert_eq!(world.store.command_state(id, stored.seq).await.unwrap(), Some(CommandState::Queued), "never delivered");
    cloud.stop();
}

/// `router rotate-token`: the router keeps its id, the old token's live session ends and
/// the old token is refused, the new one is welcomed and gets the router's commands.
async fn rotating_the_token_keeps_the_id_and_ends_the_old_session(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, old) = world.router("r1").await;
    let mut agent = RawAgent::welcomed(&cloud, id, old.expose(), None).await;
    let mut events = cloud.hub.subscribe();

    let new = AgentToken::generate();
    assert!(world.other_process().await.rotate_router_token(id, &new.hash(), now_ms()).await.unwrap());
    next_event(&mut events, "the old session ended", |e| *e == HubEvent::TokenChanged(id)).await;
    agent.closed_without_deliveries().await;
    assert_eq!(RawAgent::connect(&cloud, id, old.expose()).await.err(), Some(401), "the old token no longer works");

    let mut agent = RawAgent::welcomed(&cloud, id, new.expose(), None).await;
    let stored = cloud.hub.enqueue(id, &remove("u1")).await.unwrap();
    match agent.recv().await {
        Some(CloudMessage::Deliver(delivery)) => assert_eq!((delivery.seq, delivery.id), (stored.seq, stored.id)),
        other => panic!("expected the command on the new token, got {other:?}"),
    }
    assert_eq!(world.store.router(id).await.unwrap().unwrap().revoked_at, None);
    cloud.stop();
}

/// The database went back (restored): the agent's journal reaches seq 10 but the router's
/// counter is at 2. On hello the counter moves past 10, so the next command is 11; a
/// command numbered like one the agent holds is refused by it, and recorded as failed.
async fn a_sequence_gone_back_is_moved_past_the_agents_journal(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let (id, token) = world.router("r1").await;
    cloud.hub.enqueue(id, &remove("before-1")).await.unwrap();
    let clash = cloud.hub.enqueue(id, &remove("before-2")).await.unwrap();
    assert_eq!(clash.seq, Seq(2));

    let mut agent = RawAgent::welcomed(&cloud, id, token.expose(), Some(Seq(10))).await;
    let stored = cloud.hub.enqueue(id, &remove("after")).await.unwrap();
    assert_eq!(stored.seq, Seq(11), "numbered past the agent's journal");

    let refusal = Outcome::sequence_conflict(clash.seq, jasiyo_shared::CommandId::new(), clash.id);
    agent.send(&AgentMessage::Result { seq: clash.seq, outcome: refusal.clone() }).await;
    // Not a failure: the command is numbered again and delivered again (a paid customer's
    // user is still created).
    let resent = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut seen = Vec::new();
        loop {
            match agent.recv().await {
                Some(CloudMessage::Deliver(delivery)) if delivery.id == clash.id && delivery.seq != clash.seq => return (delivery, seen),
                Some(other) => seen.push(other),
                None => panic!("the session ended: {seen:?}"),
            }
        }
    })
    .await
    .expect("the refused command was delivered again");
    let (delivery, seen) = resent;
    assert_eq!(delivery.seq, Seq(12), "under the router's next number");
    assert!(seen.contains(&CloudMessage::ResultAck { seq: clash.seq }), "{seen:?}");
    let commands = world.store.list_commands(id, 10).await.unwrap();
    let again = commands.iter().find(|c| c.id == clash.id).unwrap();
    assert_eq!((again.seq, again.outcome.as_ref()), (Seq(12), None));
    assert!(commands.iter().all(|c| c.seq != clash.seq), "nothing left under the old number");

    // A later hello with a lower journal changes nothing.
    drop(agent);
    let _agent = RawAgent::welcomed(&cloud, id, token.expose(), Some(Seq(3))).await;
    assert_eq!(cloud.hub.enqueue(id, &remove("later")).await.unwrap().seq, Seq(13));
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(World::new;
    revoke_ends_the_live_session_and_delivers_nothing_more,
    a_revoked_router_gets_no_delivery_even_unannounced,
    rotating_the_token_keeps_the_id_and_ends_the_old_session,
    a_sequence_gone_back_is_moved_past_the_agents_journal,
);
