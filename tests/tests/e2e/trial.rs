//! The free trial end to end, on SQLite and PostgreSQL: the owner turns it on with the real
//! `jasiyo-cloud router trial` binary; the cloud's outbox carries it to the real agent, which
//! sets `login-by=trial` and the limits on every hotspot server profile of the emulated
//! router; a device's trial login (`T-<MAC>` to the router's login URL) works once and is
//! refused the second time the same day; the agent reports the trial session and the cloud
//! counts it; `--off` takes `trial` out of the profiles and trial logins are refused.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_tests::demo::hotspot::{Chap, Device};
use jasiyo_tests::demo::live::Printer;
use jasiyo_tests::harness::*;
use jasiyo_tests::processes::binary;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};

const MAC: &str = "02:00:00:00:17:01";
const IP: &str = "10.5.50.17";

fn setting(profile: &[(String, String)], name: &str) -> String {
    profile.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn trial_on(router: &RouterOsEmulator, name: &str) -> bool {
    router.server_profile(name).is_some_and(|p| setting(&p, "login-by").split(',').any(|m| m == "trial"))
}

async fn cli(world: &World, args: &[&str]) -> String {
    let output = tokio::process::Command::new(binary("jasiyo-cloud"))
        .args(["--database-url", &world.database_url])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn the_trial_is_set_enforced_counted_and_removed(world: World) {
    let cloud = world.cloud().await;
    let store = cloud.store().clone();
    let creds = world.add_router(store.as_ref(), "kiosk").await;
    let router = Arc::new(RouterOsEmulator::start(EmulatorConfig::default()).await);
    let mut agent = TestAgent::start_routeros(&cloud.ws_url(), &creds, &world.agent_dir("kiosk"), router.addr(), fast_edge());
    agent.connected().await;
    let hotspot = hotspot_login(router.clone()).await;
    let http = reqwest::Client::new();
    let trial_login = || http.post(format!("{hotspot}/login")).form(&[("username", format!("T-{MAC}"))]).send();
    let refused = trial_login().await.unwrap();
    assert_eq!(refused.status(), 403, "no trial before the owner turns it on");

    // On, from the operator's command line: every server profile gets it, other methods kept.
    let id = creds.id.to_string();
    let said = cli(&world, &["router", "trial", &id, "--minutes", "5"]).await;
    assert!(said.contains("5 minutes once a day"), "{said}");
    let set = router.wait_until(Duration::from_secs(30), |r| trial_on(r, "default") && trial_on(r, "hsprof1")).await;
    assert!(set, "the router's server profiles got the trial");
    let profile = router.server_profile("hsprof1").unwrap();
    assert_eq!((setting(&profile, "trial-uptime-limit"), setting(&profile, "trial-uptime-reset")), ("5m".into(), "1d".into()));
    assert_eq!(setting(&profile, "login-by"), "cookie,http-chap,trial");

    // A device's trial login works once, with the trial's limit...
    let first = trial_login().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("5m left"));
    assert!(router.active().iter().any(|a| a.user == format!("T-{MAC}") && a.login_by == "trial"), "{:?}", router.active());
    // ...and is counted by the cloud from the agent's report of the session.
    cloud
        .until("the trial session counted", async |store: &dyn jasiyo_cloud::store::Store| {
            store.trial_uses(creds.id, 0).await.unwrap().total == 1
        })
        .await;
    // The session ends; the same device the same day is refused.
    let session = router.active().into_iter().find(|a| a.mac_address == MAC).unwrap();
    assert!(router.end_session_by_hand(&session.id));
    let again = trial_login().await.unwrap();
    assert_eq!(again.status(), 403);
    assert!(again.text().await.unwrap().contains("no more trial time"));

    // Off: taken out of every profile; trial logins refused.
    let said = cli(&world, &["router", "trial", &id, "--off"]).await;
    assert!(said.contains("off"), "{said}");
    let off = router.wait_until(Duration::from_secs(30), |r| !trial_on(r, "default") && !trial_on(r, "hsprof1")).await;
    assert!(off, "the trial was taken out of the server profiles");
    assert_eq!(setting(&router.server_profile("hsprof1").unwrap(), "login-by"), "cookie,http-chap");
    let other = http.post(format!("{hotspot}/login")).form(&[("username", format!("T-{MAC}"))]).send().await.unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.text().await.unwrap().contains("not allowed"));
    assert_eq!(store.trial_minutes(creds.id).await.unwrap(), None);

    agent.stop().await;
    cloud.stop().await;
}

/// The router's hotspot login endpoint for the one device of this test, on a free port.
async fn hotspot_login(router: Arc<RouterOsEmulator>) -> String {
    let device = Device { mac: MAC.into(), ip: IP.into() };
    let app = jasiyo_tests::demo::hotspot::router(router, device, Chap::random(), Arc::new(Printer::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

jasiyo_cloud::on_each_backend!(World::new; the_trial_is_set_enforced_counted_and_removed);
