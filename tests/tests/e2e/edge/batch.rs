//! Many users in one command (protocol 4) on the emulated router: applied again it finds
//! its users there and changes nothing; a changed user is updated; a user of the same name
//! that is the owner's own is left alone and counted as refused, while the rest go in; a
//! batch whose every user is refused fails with the router's reason.

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, Outcome, Seq};
use jasiyo_tests::routeros_emulator::NewUser;

use super::{Setup, adds, setup, user};
use jasiyo_tests::harness::*;

fn batch(users: Vec<HotspotUser>) -> Command {
    Command::UpsertHotspotUsers { profile: None, users }
}

async fn outcome(s: &Setup, count: usize, seq: u64) -> Outcome {
    s.cloud.until_finished(s.creds.id, count).await;
    let commands = s.cloud.store().list_commands(s.creds.id, 10).await.unwrap();
    commands.into_iter().find(|c| c.seq == Seq(seq)).and_then(|c| c.outcome).expect("a result")
}

fn note(text: &str) -> Outcome {
    Outcome::Applied { note: Some(text.into()) }
}

const NOT_OURS: &str = "a hotspot user of that name exists and is not managed by Jasiyo; left unchanged";

async fn a_batch_applied_again_changes_nothing_and_spares_the_owners_users(world: World) {
    let s = setup(world).await;
    s.router.add_user_by_hand(NewUser::new("OWNER1", "owners-own"));
    let mut agent = s.agent();
    agent.connected().await;
    let users = vec![user("VCH001"), user("VCH002"), user("OWNER1")];

    s.cloud.hub.enqueue(s.creds.id, &batch(users.clone())).await.unwrap();
    let first = format!("3 users: 2 added, 0 updated, 0 already up to date; 1 refused: {NOT_OURS}");
    assert_eq!(outcome(&s, 1, 1).await, note(&first));
    assert_eq!(s.router.users().len(), 3);
    assert_eq!(s.router.user("OWNER1").unwrap().password, "owners-own", "the owner's user is untouched");
    assert_eq!(adds(&s.router), 3, "one add per user, no look first");

    // Applied again (as after a crash): every user found as it should be.
    s.cloud.hub.enqueue(s.creds.id, &batch(users.clone())).await.unwrap();
    let again = format!("3 users: 0 added, 0 updated, 2 already up to date; 1 refused: {NOT_OURS}");
    assert_eq!(outcome(&s, 2, 2).await, note(&again));
    assert_eq!(s.router.users().len(), 3);

    // One changed: updated.
    let changed = vec![HotspotUser { password: Password("new-pw".into()), ..user("VCH002") }, user("VCH001")];
    s.cloud.hub.enqueue(s.creds.id, &batch(changed)).await.unwrap();
    assert_eq!(outcome(&s, 3, 3).await, note("2 users: 0 added, 1 updated, 1 already up to date"));
    assert_eq!(s.router.user("VCH002").unwrap().password, "new-pw");

    // Nothing but the owner's: the batch fails, saying why.
    s.cloud.hub.enqueue(s.creds.id, &batch(vec![user("OWNER1")])).await.unwrap();
    let Outcome::Failed { message } = outcome(&s, 4, 4).await else { panic!("a batch refused in full fails") };
    assert!(message.contains("refused every user") && message.contains("not managed by Jasiyo"), "{message}");
    agent.stop().await;
    s.cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_batch_applied_again_changes_nothing_and_spares_the_owners_users);
