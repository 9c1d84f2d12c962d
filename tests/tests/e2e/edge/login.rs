//! `LoginDevice` applied again (after a crash, or racing the hotspot's own login page) gives
//! the outcome the first application had: a device already in as its user is success,
//! whichever refusal the router words it with; a device in as another user is switched to
//! the one it paid for; a user held by another device is still refused. A device the
//! hotspot does not see at the command's address is logged in where it is now, or as soon
//! as it is back (a router reboot empties the host table).

use std::time::Duration;

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, Outcome, RouterId, Seq};
use jasiyo_tests::harness::*;
use jasiyo_tests::routeros_emulator::RouterOsEmulator;

use super::{Setup, setup, user};

const MAC: &str = "02:00:00:00:00:31";
const IP: &str = "10.5.50.31";

fn login(name: &str) -> Command {
    Command::LoginDevice { user: name.into(), password: Password("pw-1234".into()), mac: MAC.parse().unwrap(), ip: IP.parse().unwrap() }
}

/// The outcome of command `seq` once the agent has finished the first `count` commands.
async fn outcome(s: &Setup, router: RouterId, count: usize, seq: u64) -> Option<Outcome> {
    s.cloud.until_finished(router, count).await;
    let commands = s.cloud.store().list_commands(router, 10).await.unwrap();
    commands.iter().find(|c| c.seq == Seq(seq)).unwrap().outcome.clone()
}

/// Who the device is logged in as on the router.
fn sessions_of_the_device(s: &Setup) -> Vec<String> {
    s.router.active().into_iter().filter(|a| a.mac_address == MAC).map(|a| a.user).collect()
}

/// The portal page's form login and the agent's API login of the same device race: the
/// router's "already authorized" for the second is success, not a failed command.
async fn a_device_logged_in_by_its_page_first_is_success(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_host(MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("racer"))).await.unwrap();
    s.router.add_active("racer", MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &login("racer")).await.unwrap();
    assert_eq!(outcome(&s, s.creds.id, 2, 2).await, Some(Outcome::Applied { note: Some("already logged in".into()) }));
    agent.stop().await;
    s.cloud.stop().await;
}

/// A login applied twice (the agent killed between applying it and recording it) ends as
/// the first did, even when the router words its refusal as "no more sessions are allowed
/// for user" (it checks the user's session count before the device).
async fn a_repeated_login_is_success_however_the_router_refuses_it(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_host(MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("again"))).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &login("again")).await.unwrap();
    assert_eq!(outcome(&s, s.creds.id, 2, 2).await, Some(Outcome::Applied { note: None }));
    s.router.trap_next_command("/ip/hotspot/active/login", "no more sessions are allowed for user");
    s.cloud.hub.enqueue(s.creds.id, &login("again")).await.unwrap();
    assert_eq!(outcome(&s, s.creds.id, 3, 3).await, Some(Outcome::Applied { note: Some("already logged in".into()) }));
    assert_eq!(sessions_of_the_device(&s), vec!["again".to_string()], "one session, as the user");
    agent.stop().await;
    s.cloud.stop().await;
}

/// A device still logged in as an older plan's user is moved to the user it paid for.
async fn a_device_in_as_another_user_is_switched(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("oldplan"))).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("newplan"))).await.unwrap();
    s.router.add_active("oldplan", MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &login("newplan")).await.unwrap();
    let Some(Outcome::Applied { note: Some(note) }) = outcome(&s, s.creds.id, 3, 3).await else { panic!("not applied with a note") };
    assert!(note.contains("oldplan"), "{note}");
    assert_eq!(sessions_of_the_device(&s), vec!["newplan".to_string()]);
    agent.stop().await;
    s.cloud.stop().await;
}

/// A user that allows one device, held by another device, is a real refusal.
async fn a_user_held_by_another_device_is_still_refused(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_host(MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("single"))).await.unwrap();
    s.router.add_active("single", "02:00:00:00:00:99", "10.5.50.99");
    s.cloud.hub.enqueue(s.creds.id, &login("single")).await.unwrap();
    match outcome(&s, s.creds.id, 2, 2).await {
        Some(Outcome::Failed { message }) => assert!(message.contains("no more sessions"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(sessions_of_the_device(&s).is_empty());
    agent.stop().await;
    s.cloud.stop().await;
}

/// After a router reboot the phone has not reconnected yet: the login is not a failure, it
/// waits, and the device is logged in as soon as the hotspot sees it again, at the address
/// DHCP gave it then.
async fn a_login_waits_for_a_device_not_on_the_hotspot(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("later"))).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &login("later")).await.unwrap();
    match outcome(&s, s.creds.id, 2, 2).await {
        Some(Outcome::Applied { note: Some(note) }) => assert!(note.contains("not on the hotspot"), "{note}"),
        other => panic!("{other:?}"),
    }
    assert!(sessions_of_the_device(&s).is_empty(), "nothing to log in yet");
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("next"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 3).await;
    s.router.add_host(MAC, "10.5.50.77");
    let back = |r: &RouterOsEmulator| r.active().iter().any(|a| a.mac_address == MAC && a.user == "later" && a.address == "10.5.50.77");
    assert!(s.router.wait_until(Duration::from_secs(20), back).await, "logged in once back: {:?}", s.router.active());
    assert_eq!(sessions_of_the_device(&s), vec!["later".to_string()], "one session");
    agent.stop().await;
    s.cloud.stop().await;
}

/// The device got another address (a reboot, a DHCP lease renewed): it is logged in where
/// the hotspot sees it now.
async fn a_device_at_a_new_address_is_logged_in_there(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_host(MAC, "10.5.50.88");
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("moved"))).await.unwrap();
    s.cloud.hub.enqueue(s.creds.id, &login("moved")).await.unwrap();
    match outcome(&s, s.creds.id, 2, 2).await {
        Some(Outcome::Applied { note: Some(note) }) => assert!(note.contains("10.5.50.88"), "{note}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sessions_of_the_device(&s), vec!["moved".to_string()]);
    agent.stop().await;
    s.cloud.stop().await;
}

/// The router refused the login because the device was not there, and the device came back
/// a moment later (after a reboot, the phone reconnecting): it is logged in then, not failed.
async fn a_device_back_just_after_the_refusal_is_logged_in(world: World) {
    let s = setup(world).await;
    let mut agent = s.agent();
    agent.connected().await;
    s.router.add_host(MAC, IP);
    s.cloud.hub.enqueue(s.creds.id, &Command::UpsertHotspotUser(user("justback"))).await.unwrap();
    s.cloud.until_finished(s.creds.id, 1).await;
    s.router.trap_next_command("/ip/hotspot/active/login", "failure: host not found");
    s.cloud.hub.enqueue(s.creds.id, &login("justback")).await.unwrap();
    assert_eq!(outcome(&s, s.creds.id, 2, 2).await, Some(Outcome::Applied { note: None }));
    assert_eq!(sessions_of_the_device(&s), vec!["justback".to_string()]);
    agent.stop().await;
    s.cloud.stop().await;
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_device_logged_in_by_its_page_first_is_success,
    a_repeated_login_is_success_however_the_router_refuses_it,
    a_device_in_as_another_user_is_switched,
    a_user_held_by_another_device_is_still_refused,
    a_login_waits_for_a_device_not_on_the_hotspot,
    a_device_at_a_new_address_is_logged_in_there,
    a_device_back_just_after_the_refusal_is_logged_in,
);
