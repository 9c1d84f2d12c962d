//! One link per router across instances, on both databases: two clouds share a database
//! (two instances behind a balancer); an agent's reconnect lands on the second while the
//! first still holds the old link open (it has not noticed it die). The first instance
//! finds within a heartbeat that the database names a newer link and closes its own, well
//! before its silence check would have; commands go to the new link only.

use std::time::{Duration, Instant};

use jasiyo_cloud::hub::AgentLimits;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::{AgentMessage, CloudMessage, Command};

use crate::raw_agent::{Cloud, RawAgent, World};

async fn a_link_replaced_on_another_instance_is_closed(world: World) {
    let first = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let second = Cloud::start(world.other_process().await, AgentLimits::default()).await;
    let heartbeat = Duration::from_secs(5);
    let (id, token) = world.router("r1").await;
    let mut stale = RawAgent::welcomed(&first, id, token.expose(), None).await;
    let mut fresh = RawAgent::welcomed(&second, id, token.expose(), None).await;
    let replaced = Instant::now();

    // The old link stays alive as far as its instance can tell: it answers every ping. It
    // must be closed within two heartbeats (its silence check alone would never close it).
    let closed = tokio::time::timeout(heartbeat * 2, async {
        while let Some(message) = stale.recv().await {
            match message {
                CloudMessage::Ping { nonce } => stale.send(&AgentMessage::Pong { nonce }).await,
                other => panic!("the replaced link got {other:?}"),
            }
        }
    });
    closed.await.unwrap_or_else(|_| panic!("the replaced link is still open after {:?}", replaced.elapsed()));

    let router = world.store.router(id).await.unwrap().unwrap();
    assert!(router.online_session.is_some(), "the new link is still the router's: {router:?}");
    world.store.enqueue_command(id, &Command::EndSession { mac: "02:00:00:00:00:01".parse().unwrap() }, now_ms()).await.unwrap();
    second.hub.wake(id);
    let delivered = loop {
        match fresh.recv().await {
            Some(CloudMessage::Deliver(delivery)) => break delivery,
            Some(CloudMessage::Ping { nonce }) => fresh.send(&AgentMessage::Pong { nonce }).await,
            Some(_) => {}
            None => panic!("the new link was closed"),
        }
    };
    assert_eq!(delivered.seq.0, 1);
    first.stop();
    second.stop();
}

jasiyo_cloud::on_each_backend!(World::new; a_link_replaced_on_another_instance_is_closed);
