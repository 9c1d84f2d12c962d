//! The dashboard's hotspot users on both databases: the list with each user's state on the
//! router, and extend / end now / move, each becoming router commands and a timeline event;
//! another tenant's user cannot be seen or changed, and a form without its CSRF token
//! changes nothing.

use axum::http::StatusCode;
use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::paid_payment;
use jasiyo_cloud::store::users::UserFilter;
use jasiyo_shared::Outcome;

use super::dashboard_auth::{Browser, Site, site};

async fn owners_change_their_users(site: Site) {
    let mut a = Browser::new(&site);
    a.sign_up("Users A", "a@users.example").await;
    let mut b = Browser::new(&site);
    b.sign_up("Users B", "b@users.example").await;
    let tenant = site.store.find_tenant("Users A").await.unwrap().unwrap();
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    let expires = now_ms() / 1000 + 3600;
    let payment = paid_payment(site.store.as_ref(), router.id, now_ms(), expires).await;
    let user = site.store.tenant_users(tenant.id, &UserFilter::default(), None, 10).await.unwrap().remove(0);
    let id = user.entitlement.id;

    let page = a.get("/dashboard/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("KX7Q2M") && page.body.contains("pending"), "queued on the router: {}", page.body);
    assert!(!b.get("/dashboard/users").await.body.contains("KX7Q2M"), "another tenant sees nothing");

    // The router applies it: "applied".
    let seq = jasiyo_shared::Seq(user.entitlement.command_seq);
    site.store.record_result(router.id, seq, &Outcome::Applied { note: None }, now_ms()).await.unwrap();
    assert!(a.get("/dashboard/users").await.body.contains("applied"));

    // The router reports the data the user used: the page shows it.
    let usage = [jasiyo_shared::UserUsage { name: "KX7Q2M".into(), bytes_in: 1_100_000, bytes_out: 12_400_000 }];
    site.store.record_usage(router.id, &usage, now_ms()).await.unwrap();
    let page = a.get("/dashboard/users").await.body;
    assert!(page.contains("Data used") && page.contains("12.4 MB down, 1.1 MB up"), "{page}");

    // Another tenant's session posting to this user changes nothing.
    let csrf_b = b.get("/dashboard/users").await.csrf();
    let refused = b.post(&format!("/dashboard/users/{id}/extend"), &[("csrf", csrf_b.as_str()), ("by", "1d")]).await;
    assert!(refused.location().contains("no+such+hotspot+user"), "{}", refused.location());
    // Nor does a form without the CSRF token.
    assert_eq!(a.post(&format!("/dashboard/users/{id}/extend"), &[("by", "1d")]).await.status, StatusCode::FORBIDDEN);
    let unchanged = site.store.tenant_user(tenant.id, id).await.unwrap().unwrap();
    assert_eq!(unchanged.entitlement.expires_at, expires);

    // Extend: a day more, the user sent to the router again.
    let csrf = a.get("/dashboard/users").await.csrf();
    let done = a.post(&format!("/dashboard/users/{id}/extend"), &[("csrf", csrf.as_str()), ("by", "1d")]).await;
    assert!(done.location().contains("ok"), "{}", done.location());
    let extended = site.store.tenant_user(tenant.id, id).await.unwrap().unwrap();
    assert_eq!(extended.entitlement.expires_at, expires + 86_400);
    assert_eq!((extended.command, extended.command_kind.as_deref()), (Some(CommandState::Queued), Some("upsert_hotspot_user")));
    let timeline = site.store.payment_events(payment).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == "user_extended"), "{timeline:?}");

    // Move to a device, then end now: removal and the session's end are queued.
    let moved = a.post(&format!("/dashboard/users/{id}/move"), &[("csrf", csrf.as_str()), ("mac", "aa:bb:cc:dd:ee:01")]).await;
    assert!(moved.location().contains("ok"), "{}", moved.location());
    let bad_mac = a.post(&format!("/dashboard/users/{id}/move"), &[("csrf", csrf.as_str()), ("mac", "nope")]).await;
    assert!(bad_mac.location().contains("err"), "{}", bad_mac.location());
    let ended = a.post(&format!("/dashboard/users/{id}/end"), &[("csrf", csrf.as_str())]).await;
    assert!(ended.location().contains("ok"), "{}", ended.location());
    let line = site.store.tenant_user(tenant.id, id).await.unwrap().unwrap();
    assert_eq!(line.command_kind.as_deref(), Some("remove_hotspot_user"));
    assert!(line.entitlement.expires_at <= now_ms() / 1000);
    let commands = site.store.list_commands(router.id, 10).await.unwrap();
    let kinds: Vec<&str> = commands.iter().map(|c| c.command.kind()).collect();
    assert_eq!(&kinds[..2], ["end_session", "remove_hotspot_user"], "newest first: {kinds:?}");
    // Ended users leave the default list; "include ended" shows them with their state.
    assert!(!a.get("/dashboard/users").await.body.contains("KX7Q2M"));
    let all = a.get("/dashboard/users?all=1").await;
    assert!(all.body.contains("KX7Q2M") && all.body.contains("pending"), "{}", all.body);
}

jasiyo_cloud::on_each_backend!(site; owners_change_their_users);
