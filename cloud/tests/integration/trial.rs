//! The free trial on both databases: the owner turns it on with minutes and off from the
//! router's page (the setting stored, the command for the router's server profiles in its
//! outbox, audited); bad minutes, staff and another tenant change nothing; devices seen on
//! the trial are counted once a day each and shown; the portal offers "Try free" through the
//! router's login URL only while it is on.

use axum::http::StatusCode;
use jasiyo_cloud::store::now_ms;
use jasiyo_shared::{Command, HotspotTrial, MacAddress};

use super::dashboard_auth::{Site, site};
use super::dashboard_transactions::{shop, staff};

const PORTAL_QUERY: &str = "?mac=02%3A00%3A00%3A00%3A00%3A07&ip=10.5.50.7&link-login-only=http%3A%2F%2F10.5.50.1%2Flogin";

async fn trial_commands(site: &Site, router: jasiyo_shared::RouterId) -> Vec<Option<HotspotTrial>> {
    let mut commands = site.store.list_commands(router, 50).await.unwrap();
    commands.sort_by_key(|c| c.seq);
    commands
        .into_iter()
        .filter_map(|c| match c.command {
            Command::SetHotspotTrial { trial } => Some(trial),
            _ => None,
        })
        .collect()
}

async fn owners_turn_the_trial_on_and_off(site: Site) {
    let mut shop = shop(&site, "Trial Shop").await;
    let router = shop.router.id;
    let page_url = format!("/dashboard/routers/{router}");
    let trial_url = format!("{page_url}/trial");
    let page = shop.owner.get(&page_url).await;
    assert!(page.body.contains("Free trial") && page.body.contains("Turn on"), "{}", page.body);
    let portal = shop.owner.get(&format!("/portal/{router}{PORTAL_QUERY}")).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(!portal.body.contains("Try free"), "no trial offered while it is off");

    let csrf = page.csrf();
    for bad in ["0", "61", "five"] {
        let refused = shop.owner.post(&trial_url, &[("csrf", &csrf), ("action", "on"), ("minutes", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(site.store.trial_minutes(router).await.unwrap(), None);
    let on = shop.owner.post(&trial_url, &[("csrf", &csrf), ("action", "on"), ("minutes", "5")]).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert!(on.body.contains("Free trial on: 5 minutes") && on.body.contains("Turn off"), "{}", on.body);
    assert_eq!(site.store.trial_minutes(router).await.unwrap(), Some(5));
    assert_eq!(trial_commands(&site, router).await, [Some(HotspotTrial { uptime_limit_secs: 300, uptime_reset_secs: 86_400 })]);

    // The portal offers it, through the router's login URL as the device's trial user.
    let portal = shop.owner.get(&format!("/portal/{router}{PORTAL_QUERY}")).await.body;
    assert!(portal.contains("Try free for 5 minutes / Jaribu bure dakika 5"), "{portal}");
    assert!(portal.contains(r#"action="http://10.5.50.1/login""#) && portal.contains(r#"value="T-02:00:00:00:00:07""#), "{portal}");
    // Opened outside the hotspot (no MAC, no login URL): nothing to offer.
    assert!(!shop.owner.get(&format!("/portal/{router}")).await.body.contains("Try free"));

    // Devices on the trial: once a day each.
    let (a, b) = ("02:00:00:00:00:07".parse::<MacAddress>().unwrap(), "02:00:00:00:00:08".parse::<MacAddress>().unwrap());
    assert_eq!(site.store.record_trial_uses(router, &[a], now_ms()).await.unwrap(), 1);
    assert_eq!(site.store.record_trial_uses(router, &[a, b], now_ms()).await.unwrap(), 1, "a again today is not new");
    assert_eq!(site.store.record_trial_uses(router, &[a], now_ms() - 2 * 86_400_000).await.unwrap(), 1, "another day is");
    let uses = site.store.trial_uses(router, now_ms() - 3_600_000).await.unwrap();
    assert_eq!((uses.recent, uses.total), (2, 3));
    let page = shop.owner.get(&page_url).await.body;
    assert!(page.contains("<b>2</b> today, 3 in all"), "{page}");

    // Staff see it but cannot change it; another business cannot reach the router.
    let mut staff = staff(&site, &shop.tenant, "owner@trial-shop.example").await;
    let staff_page = staff.get(&page_url).await;
    assert!(staff_page.body.contains("Free trial") && !staff_page.body.contains("Turn off"));
    let staff_csrf = staff_page.csrf_or_none();
    assert_eq!(staff.post(&trial_url, &[("csrf", &staff_csrf), ("action", "off")]).await.status, StatusCode::FORBIDDEN);
    let mut other = shop_of(&site).await;
    let other_csrf = other.get("/dashboard/routers").await.csrf_or_none();
    assert_eq!(other.post(&trial_url, &[("csrf", &other_csrf), ("action", "off")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(site.store.trial_minutes(router).await.unwrap(), Some(5));

    let off = shop.owner.post(&trial_url, &[("csrf", &csrf), ("action", "off")]).await;
    assert!(off.body.contains("Free trial off"), "{}", off.body);
    assert_eq!(site.store.trial_minutes(router).await.unwrap(), None);
    assert_eq!(trial_commands(&site, router).await.last(), Some(&None));
    assert!(!shop.owner.get(&format!("/portal/{router}{PORTAL_QUERY}")).await.body.contains("Try free"));
}

async fn shop_of(site: &Site) -> super::dashboard_auth::Browser {
    super::dashboard_transactions::shop(site, "Other Trial Shop").await.owner
}

jasiyo_cloud::on_each_backend!(site; owners_turn_the_trial_on_and_off);
