//! Many users in one command (protocol 4), on both databases: a protocol-4 agent gets the
//! batch as it is; an agent of protocol 3 gets one command per user instead, in the batch's
//! order, and a later removal of one of those users still comes after that user's creation
//! (it is moved behind the split), while unrelated later commands keep their place.

use jasiyo_cloud::hub::AgentLimits;
use jasiyo_cloud::model::CommandState;
use jasiyo_shared::command::Password;
use jasiyo_shared::{CloudMessage, Command, Delivery, HotspotProfile, HotspotUser, MacAddress, Outcome};

use crate::raw_agent::{Cloud, RawAgent, World};

fn profile() -> HotspotProfile {
    HotspotProfile { name: "jasiyo-0123abcd".into(), rate_limit: Some("2M/5M".into()), shared_users: 1 }
}

fn user(name: &str) -> HotspotUser {
    HotspotUser {
        name: name.into(),
        password: Password(name.into()),
        profile: Some(profile().name),
        mac: None,
        expires_at: None,
        limit_uptime_secs: Some(3600),
        limit_bytes_total: None,
        comment: Some("voucher batch 0123abcd".into()),
    }
}

async fn deliveries(agent: &mut RawAgent, n: usize) -> Vec<Delivery> {
    let mut got = Vec::new();
    while got.len() < n {
        match agent.recv().await.expect("a delivery") {
            CloudMessage::Deliver(delivery) => got.push(delivery),
            _ => continue,
        }
    }
    got
}

async fn a_batch_reaches_each_protocol_as_it_can_take_it(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let batch = Command::UpsertHotspotUsers { profile: Some(profile()), users: vec![user("AAA1"), user("BBB2"), user("CCC3")] };
    let remove = Command::RemoveHotspotUser { name: "BBB2".into() };
    let end = Command::EndSession { mac: MacAddress([2, 0, 0, 0, 0, 1]) };

    // Protocol 4: the batch as it is, under its own number.
    let (id, token) = world.router("r4").await;
    let stored = cloud.hub.enqueue(id, &batch).await.unwrap();
    let (mut agent, _) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, 4).await;
    let got = deliveries(&mut agent, 1).await;
    assert_eq!((got[0].seq, &got[0].command), (stored.seq, &batch));

    // Protocol 3: split in the outbox.
    let (id, token) = world.router("r3").await;
    let split = cloud.hub.enqueue(id, &batch).await.unwrap();
    let removal = cloud.hub.enqueue(id, &remove).await.unwrap();
    let unrelated = cloud.hub.enqueue(id, &end).await.unwrap();
    let (mut agent, _) = RawAgent::welcomed_in(cloud.addr, id, token.expose(), None, 3).await;
    let got = deliveries(&mut agent, 5).await;
    let commands: Vec<&Command> = got.iter().map(|d| &d.command).collect();
    let single = |name: &str| Command::UpsertHotspotUserInProfile { user: user(name), profile: profile() };
    assert_eq!(commands, vec![&end, &single("AAA1"), &single("BBB2"), &single("CCC3"), &remove]);
    assert_eq!(got[0].seq, unrelated.seq, "an unrelated command keeps its number");
    assert!(got.windows(2).all(|w| w[0].seq < w[1].seq), "in sequence order: {got:?}");
    assert!(got[4].seq > removal.seq, "the removal moved behind the user it removes");
    let listed = world.store.list_commands(id, 10).await.unwrap();
    let original = listed.iter().find(|c| c.seq == split.seq).unwrap();
    assert_eq!(original.state, CommandState::Applied);
    let Some(Outcome::Applied { note: Some(note) }) = &original.outcome else { panic!("{original:?}") };
    assert!(note.contains("split into 3 single commands") && note.contains("protocol 3"), "{note}");
    cloud.stop();
}

jasiyo_cloud::on_each_backend!(World::new; a_batch_reaches_each_protocol_as_it_can_take_it);
