//! A plan's speed and devices per login, end to end (protocol 2): the customer who pays for a
//! plan with a speed limit and two devices per login is created on the router in the profile
//! the agent keeps for the plan, which carries both; a second device logs in with the same
//! login and a third is refused, by the router's own rule. On SQLite and PostgreSQL.

use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, MacAddress, Outcome};
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};

use crate::payments::shop_custom;

async fn a_plans_speed_and_devices_per_login_reach_the_router(world: World) {
    let s = shop_custom(
        world,
        ProviderKind::Daraja,
        |_| {},
        3600,
        0,
        |plan| {
            plan.rate_limit = Some("2M/5M".into());
            plan.shared_users = Some(2);
        },
    )
    .await;
    let (id, reference) = s.pay("0712 345 678").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    let (username, password) = (view["login"]["username"].as_str().unwrap(), view["login"]["password"].as_str().unwrap());

    let plan = s.store().plan(s.plan.parse().unwrap()).await.unwrap().unwrap();
    let profile = plan.managed_profile_name();
    let user = s.router.users().into_iter().find(|u| u.name == username).expect("the user is on the router");
    assert_eq!(user.profile, profile, "the user is in the plan's profile");
    let settings = s.router.profile(&profile).expect("the plan's profile is on the router");
    let setting = |name: &str| settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!((setting("rate-limit").as_deref(), setting("shared-users").as_deref()), (Some("2M/5M"), Some("2")));

    // The router lets a second device in with the same login, and refuses a third.
    let mut outcomes = Vec::new();
    for (mac, ip) in [("02:AA:BB:CC:DD:02", "10.5.50.22"), ("02:AA:BB:CC:DD:03", "10.5.50.23")] {
        s.router.add_host(mac, ip);
        let login = Command::LoginDevice {
            user: username.into(),
            password: Password(password.into()),
            mac: mac.parse::<MacAddress>().unwrap(),
            ip: ip.parse().unwrap(),
        };
        let stored = s.cloud.hub.enqueue(s.creds.id, &login).await.unwrap();
        let router = s.creds.id;
        s.cloud
            .until("the login applied or refused", async |store: &dyn jasiyo_cloud::store::Store| {
                matches!(store.command_state(router, stored.seq).await.unwrap(), Some(CommandState::Applied | CommandState::Failed))
            })
            .await;
        outcomes.push(s.store().list_commands(router, 20).await.unwrap().into_iter().find(|c| c.seq == stored.seq).unwrap().outcome);
    }
    assert!(matches!(outcomes[0], Some(Outcome::Applied { .. })), "a second device: {:?}", outcomes[0]);
    assert!(matches!(outcomes[1], Some(Outcome::Failed { .. })), "a third device: {:?}", outcomes[1]);
    assert_eq!(s.router.active().iter().filter(|a| a.user == username).count(), 2);
    s.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_plans_speed_and_devices_per_login_reach_the_router);
