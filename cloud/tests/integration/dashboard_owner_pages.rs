//! The owner's dashboard pages over HTTP, on both databases: routers (added with a token
//! shown once, online or offline since when, the queue and a retry, rotation, revocation),
//! plans (create, edit, disable: gone from the portal's offer; up and down in the order the
//! portal and the preview follow), the payment provider (secrets never shown back), staff
//! (refused the owner's pages, their posts change nothing), CSRF refusals, and one tenant
//! never reaching another's routers or plans.

use axum::http::StatusCode;
use jasiyo_cloud::hub::HubEvent;
use jasiyo_cloud::model::{CommandState, Role};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::set_provider;
use jasiyo_cloud::providers::{DarajaAccount, ProviderConfig, Secret};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::verify_token;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, Outcome, RouterId};
use serde_json::json;

use super::dashboard_auth::{Browser, Site, site};
use crate::raw_agent::{RawAgent, next_event};

/// The text of the element with this id (`<code id="token">...</code>`).
fn element(body: &str, id: &str) -> String {
    let start = body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {body}"));
    let open = start + body[start..].find('>').unwrap() + 1;
    let close = open + body[open..].find('<').unwrap();
    body[open..close].to_string()
}

/// An owner signed up with `business`, and their tenant's id.
async fn owner(site: &Site, business: &str) -> (Browser, jasiyo_cloud::model::Tenant) {
    let mut browser = Browser::new(site);
    browser.sign_up(business, &format!("owner@{}.example", business.to_lowercase())).await;
    let tenant = site.store.find_tenant(business).await.unwrap().unwrap();
    (browser, tenant)
}

/// Makes the router's command `LoginDevice` failed; its seq.
async fn failed_command(store: &dyn Store, router: RouterId) -> u64 {
    let login = Command::LoginDevice {
        user: "K7Q2".into(),
        password: Password("pw-never-shown".into()),
        mac: "02:00:00:00:00:01".parse().unwrap(),
        ip: "10.5.50.2".parse().unwrap(),
    };
    let stored = store.enqueue_command(router, &login, now_ms()).await.unwrap();
    store.mark_delivered(router, &[stored.seq], now_ms()).await.unwrap();
    let failed = Outcome::Failed { message: "no such profile".into() };
    store.record_result(router, stored.seq, &failed, now_ms()).await.unwrap();
    stored.seq.0
}

async fn routers_are_added_retried_rotated_and_revoked(site: Site) {
    let (mut browser, tenant) = owner(&site, "Routed").await;
    let csrf = browser.get("/dashboard/routers").await.csrf();
    let added = browser.post("/dashboard/routers", &[("csrf", &csrf), ("name", "Shop 1")]).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let token = element(&added.body, "token");
    let router = site.store.list_routers(Some(tenant.id)).await.unwrap().pop().expect("the router is stored");
    assert_eq!(router.name, "Shop 1");
    assert!(verify_token(&token, &router.token_hash), "the token shown is the router's");
    assert!(added.body.contains("JASIYO_ROUTER_ID=") && added.body.contains("/tool fetch"), "install instructions: {}", added.body);
    assert!(
        added.body.contains("/container add file=") && added.body.contains(&format!("JASIYO_TOKEN={token}\\n")),
        "the container script, with the token: {}",
        added.body
    );
    assert!(site.store.download_token_hash(router.id).await.unwrap().is_some(), "the script's download credential is recorded");
    let list = browser.get("/dashboard/routers").await;
    assert!(list.body.contains("Shop 1") && !list.body.contains(&token), "the token is shown once");
    let state = browser.get(&format!("/dashboard/routers/{}/state", router.id)).await;
    let state: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(state, json!({ "online": false, "revoked": false, "link": { "state": "offline", "since": null } }));
    let connected = now_ms();
    site.store.router_connected(router.id, uuid::Uuid::new_v4(), "0.1.0", connected).await.unwrap();
    let state = browser.get(&format!("/dashboard/routers/{}/state", router.id)).await;
    let state: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    let online = json!({ "online": true, "revoked": false, "link": { "state": "online", "since": connected } });
    assert_eq!(state, online, "what the add page waits for");

    let seq = failed_command(site.store.as_ref(), router.id).await;
    let page = browser.get(&format!("/dashboard/routers/{}", router.id)).await;
    assert!(page.body.contains("login_device") && page.body.contains("no such profile"), "{}", page.body);
    assert!(!page.body.contains("pw-never-shown"), "passwords are hidden");
    let retried = browser.post(&format!("/dashboard/routers/{}/commands/{seq}/retry", router.id), &[("csrf", &csrf)]).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let commands = site.store.list_commands(router.id, 10).await.unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!((commands[0].state, &commands[0].command), (CommandState::Queued, &commands[1].command), "the same command again");
    let again = browser.post(&format!("/dashboard/routers/{}/commands/{}/retry", router.id, commands[0].seq.0), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "only a failed command is retried");

    let rotated = browser.post(&format!("/dashboard/routers/{}/rotate", router.id), &[("csrf", &csrf)]).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_token = element(&rotated.body, "token");
    assert!(
        rotated.body.contains("/file set $settings contents=") && rotated.body.contains(&format!("JASIYO_TOKEN={new_token}\\n")),
        "the script giving the container its new token: {}",
        rotated.body
    );
    let stored = site.store.router(router.id).await.unwrap().unwrap();
    assert!(verify_token(&new_token, &stored.token_hash) && !verify_token(&token, &stored.token_hash));

    let unconfirmed = browser.post(&format!("/dashboard/routers/{}/revoke", router.id), &[("csrf", &csrf)]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(site.store.router(router.id).await.unwrap().unwrap().revoked_at.is_none());
    let revoked = browser.post(&format!("/dashboard/routers/{}/revoke", router.id), &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(site.store.router(router.id).await.unwrap().unwrap().revoked_at.is_some());
}

/// `09:12`: the clock time of `ms` in Nairobi (the tenant's zone), as "since" shows it.
fn nairobi_clock(ms: i64) -> String {
    let tz = jiff::tz::TimeZone::get("Africa/Nairobi").unwrap();
    jiff::Timestamp::from_millisecond(ms).unwrap().to_zoned(tz).strftime("%H:%M").to_string()
}

/// A router's pages say since when it is online, from its agent's connection, and since
/// when it is offline once the agent goes away.
async fn routers_say_since_when_they_are_online_or_offline(site: Site) {
    let (mut browser, tenant) = owner(&site, "Linked").await;
    let csrf = browser.get("/dashboard/routers").await.csrf();
    let added = browser.post("/dashboard/routers", &[("csrf", &csrf), ("name", "Shop 1")]).await;
    let token = element(&added.body, "token");
    let router = site.store.list_routers(Some(tenant.id)).await.unwrap().pop().unwrap();
    let page = format!("/dashboard/routers/{}", router.id);
    assert!(browser.get(&page).await.body.contains("never connected"));

    let addr = site.serve().await;
    let mut events = site.hub.subscribe();
    let agent = RawAgent::welcomed_at(addr, router.id, &token, None).await;
    let connected = site.store.router(router.id).await.unwrap().unwrap().connected_at.expect("the connection is recorded");
    let online = format!("online since {} (", nairobi_clock(connected));
    for uri in [page.as_str(), "/dashboard/routers"] {
        let body = browser.get(uri).await.body;
        assert!(body.contains(&online) && !body.contains("offline"), "{uri}: {online} in {body}");
    }

    agent.close().await;
    next_event(&mut events, "the disconnect", |e| *e == HubEvent::Disconnected(router.id)).await;
    let stored = site.store.router(router.id).await.unwrap().unwrap();
    let gone = stored.disconnected_at.expect("the end is recorded");
    assert!(gone >= connected && stored.connected_at == Some(connected));
    let offline = format!("offline since {} (", nairobi_clock(gone));
    for uri in [page.as_str(), "/dashboard/routers"] {
        let body = browser.get(uri).await.body;
        assert!(body.contains(&offline) && !body.contains("online since"), "{uri}: {offline} in {body}");
    }
    let state = browser.get(&format!("{page}/state")).await;
    let state: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(state["link"], json!({ "state": "offline", "since": gone }));
}

async fn plans_are_created_edited_and_disabled(site: Site) {
    let (mut browser, tenant) = owner(&site, "Planned").await;
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    let csrf = browser.get("/dashboard/plans").await.csrf();
    let form = |name: &'static str, price: &'static str, duration: &'static str| {
        vec![
            ("name", name),
            ("price_kes", price),
            ("duration", duration),
            ("data_mb", ""),
            ("rate_limit", "2M/5M"),
            ("shared_users", "2"),
            ("profile", ""),
        ]
    };
    let mut with_csrf = form("1 hour", "20", "1h");
    with_csrf.push(("csrf", &csrf));
    assert_eq!(browser.post("/dashboard/plans", &with_csrf).await.location(), "/dashboard/plans");
    let mut free = form("Free", "0", "1h");
    free.push(("csrf", &csrf));
    let refused = browser.post("/dashboard/plans", &free).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("A plan costs 1 to"), "{}", refused.body);
    let mut daily = form("Daily", "50", "1day");
    daily.push(("csrf", &csrf));
    browser.post("/dashboard/plans", &daily).await;
    let plans = site.store.list_plans(tenant.id).await.unwrap();
    assert_eq!(plans.len(), 2);
    let hour = plans.iter().find(|p| p.name == "1 hour").unwrap().clone();
    assert_eq!((hour.price_kes, hour.duration_secs, hour.rate_limit.as_deref(), hour.shared_users), (20, 3600, Some("2M/5M"), Some(2)));
    let mut shared_own = form("Own profile", "20", "1h");
    shared_own.retain(|(k, _)| *k != "profile");
    shared_own.extend([("profile", "vip"), ("csrf", &csrf)]);
    let refused = browser.post("/dashboard/plans", &shared_own).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Devices per login is 1 to"), "{}", refused.body);

    let edit = browser.get(&format!("/dashboard/plans/{}", hour.id)).await;
    assert!(edit.body.contains("value=\"1h\""), "{}", edit.body);
    let mut edited = form("2 hours", "30", "2h");
    edited.push(("csrf", &csrf));
    assert_eq!(browser.post(&format!("/dashboard/plans/{}", hour.id), &edited).await.location(), "/dashboard/plans");
    let hour = site.store.plan(hour.id).await.unwrap().unwrap();
    assert_eq!((hour.name.as_str(), hour.price_kes, hour.duration_secs), ("2 hours", 30, 7200));

    let offer = browser.get(&format!("/api/portal/{}/plans", router.id)).await;
    assert!(offer.body.contains("2 hours") && offer.body.contains("Daily"), "{}", offer.body);
    let disabled = browser.post(&format!("/dashboard/plans/{}/active", hour.id), &[("csrf", &csrf), ("active", "no")]).await;
    assert_eq!(disabled.location(), "/dashboard/plans");
    assert!(!site.store.plan(hour.id).await.unwrap().unwrap().active);
    let offer = browser.get(&format!("/api/portal/{}/plans", router.id)).await;
    assert!(!offer.body.contains("2 hours") && offer.body.contains("Daily"), "a disabled plan is not offered: {}", offer.body);
}

/// The plan names in `body`, in the order they first appear as `shown(name)`.
fn in_order<'a>(body: &str, names: &[&'a str], shown: impl Fn(&str) -> String) -> Vec<&'a str> {
    let mut found: Vec<(usize, &str)> =
        names.iter().map(|n| (body.find(&shown(n)).unwrap_or_else(|| panic!("{n} is not shown in {body}")), *n)).collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

/// The owner orders the plans with "up" and "down": the portal (its API and its page) and
/// the preview on the plans page follow; a refused move, one without the CSRF token and
/// another tenant's (guessing the id) change nothing.
async fn plans_are_shown_in_the_owners_order(site: Site) {
    let (mut browser, tenant) = owner(&site, "Ordered").await;
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    let csrf = browser.get("/dashboard/plans").await.csrf();
    for (name, price, duration) in [("Daily", "50", "1day"), ("1 hour", "20", "1h"), ("30 minutes", "10", "30m")] {
        let form = [("csrf", csrf.as_str()), ("name", name), ("price_kes", price), ("duration", duration)];
        assert_eq!(browser.post("/dashboard/plans", &form).await.location(), "/dashboard/plans");
    }
    let names = ["Daily", "1 hour", "30 minutes"];
    let daily = site.store.list_plans(tenant.id).await.unwrap().into_iter().find(|p| p.name == "Daily").unwrap();
    let portal = format!("/portal/{}", router.id);
    let shown = async |browser: &mut Browser| {
        let api: serde_json::Value = serde_json::from_str(&browser.get(&format!("/api/portal/{}/plans", router.id)).await.body).unwrap();
        let api: Vec<String> = api["plans"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
        let page = in_order(&browser.get(&portal).await.body, &names, |n| format!("\"name\":\"{n}\""));
        assert_eq!(api, page, "the portal's API and its page agree");
        let preview = browser.get("/dashboard/plans").await.body;
        assert!(preview.contains("class=\"plan\"") && preview.contains("#preview .plan{"), "the portal's markup and CSS: {preview}");
        assert_eq!(
            in_order(&preview, &names, |n| format!("<span class=\"pname\">{n}</span>")),
            page,
            "the preview shows what the portal shows"
        );
        page
    };
    assert_eq!(shown(&mut browser).await, ["30 minutes", "1 hour", "Daily"], "the portal's own order until the owner says otherwise");

    let up = format!("/dashboard/plans/{}/move", daily.id);
    assert_eq!(browser.post(&up, &[("csrf", &csrf), ("to", "up")]).await.location(), "/dashboard/plans");
    assert_eq!(shown(&mut browser).await, ["30 minutes", "Daily", "1 hour"]);
    browser.post(&up, &[("csrf", &csrf), ("to", "up")]).await;
    browser.post(&up, &[("csrf", &csrf), ("to", "up")]).await;
    assert_eq!(shown(&mut browser).await, ["Daily", "30 minutes", "1 hour"], "the first stays first");
    assert_eq!(site.store.plan(daily.id).await.unwrap().unwrap().position, 1);
    assert_eq!(browser.post(&up, &[("csrf", &csrf), ("to", "down")]).await.location(), "/dashboard/plans");
    assert_eq!(shown(&mut browser).await, ["30 minutes", "Daily", "1 hour"]);

    assert_eq!(browser.post(&up, &[("csrf", &csrf), ("to", "sideways")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(browser.post(&up, &[("to", "up")]).await.status, StatusCode::FORBIDDEN, "no CSRF token");
    let (mut other, _) = owner(&site, "Intruder").await;
    let other_csrf = other.get("/dashboard/plans").await.csrf();
    let stolen = other.post(&up, &[("csrf", &other_csrf), ("to", "up")]).await;
    assert_eq!((stolen.status, stolen.body.as_str()), (StatusCode::NOT_FOUND, "Not found."));
    assert_eq!(shown(&mut browser).await, ["30 minutes", "Daily", "1 hour"], "nothing moved");
}

async fn provider_secrets_are_never_shown(site: Site) {
    let (mut browser, tenant) = owner(&site, "Paying").await;
    let page = browser.get("/dashboard/settings/provider").await;
    assert!(page.body.contains("No provider is set"));
    let csrf = page.csrf();
    let secret = "sk_test_never_rendered_4242";
    let set = browser.post("/dashboard/settings/provider", &[("csrf", &csrf), ("kind", "paystack"), ("secret_key", secret)]).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert!(!set.body.contains(secret));
    assert!(set.body.contains("http://127.0.0.1/callbacks/paystack/"), "the webhook URL to register, once");
    let again = browser.get("/dashboard/settings/provider").await;
    assert!(again.body.contains("paystack") && !again.body.contains(secret) && !again.body.contains("/callbacks/paystack/"));
    let kept =
        browser.post("/dashboard/settings/provider", &[("csrf", &csrf), ("kind", "paystack"), ("secret_key", "sk_test_other")]).await;
    assert!(!kept.body.contains("/callbacks/paystack/"), "the webhook URL is kept unless asked");
    let missing = browser.post("/dashboard/settings/provider", &[("csrf", &csrf), ("kind", "daraja_till"), ("consumer_key", "k")]).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = site.store.provider_settings(tenant.id, jasiyo_cloud::model::ProviderKind::Paystack).await.unwrap().unwrap();
    assert!(!stored.sealed.contains("sk_test"), "sealed at rest");

    // Daraja's test is an OAuth token: answered by a stand-in, then by nobody.
    let oauth = axum::Router::new().route(
        "/oauth/v1/generate",
        axum::routing::get(|| async { axum::Json(serde_json::json!({ "access_token": "t0k", "expires_in": "3599" })) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, oauth).await });
    let daraja = |base: String| ProviderConfig::Daraja {
        consumer_key: Secret("ck".into()),
        consumer_secret: Secret("cs".into()),
        short_code: "174379".into(),
        passkey: Secret("pk".into()),
        account: DarajaAccount::Paybill,
        base_url: Some(base),
    };
    let sealer = Sealer::new([7; 32]);
    set_provider(site.store.as_ref(), &sealer, "http://127.0.0.1", tenant.id, &daraja(base.clone()), false).await.unwrap();
    let check = browser.post("/dashboard/settings/provider/check", &[("csrf", &csrf)]).await;
    assert!(check.body.contains("daraja accepted the credentials: Daraja issued an access token"), "{}", check.body);
    server.abort();
    let _ = server.await;
    set_provider(site.store.as_ref(), &sealer, "http://127.0.0.1", tenant.id, &daraja("http://127.0.0.1:9".into()), false).await.unwrap();
    let check = browser.post("/dashboard/settings/provider/check", &[("csrf", &csrf)]).await;
    assert!(check.body.contains("daraja did not accept the connection"), "{}", check.body);

    // The switch history: every setting, newest first, the tenant's own only.
    let page = browser.get("/dashboard/settings/provider").await;
    let history = &page.body[page.body.find("id=\"history\"").expect("a history")..];
    let order: Vec<usize> = [": <b>daraja</b>", ": <b>paystack</b>"].iter().map(|k| history.find(k).expect(k)).collect();
    assert!(order[0] < order[1], "newest first: {history}");
    assert_eq!(history.matches("</li>").count(), 4, "two paystack, two daraja: {history}");
    let (mut other, _) = owner(&site, "Elsewhere").await;
    assert!(!other.get("/dashboard/settings/provider").await.body.contains("id=\"history\""), "another tenant's history is not shown");
}

async fn staff_are_refused_the_owners_changes(site: Site) {
    let (mut browser, tenant) = owner(&site, "Staffed").await;
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    let seq = failed_command(site.store.as_ref(), router.id).await;
    let settings = browser.get("/dashboard/settings").await;
    let invited = browser
        .post("/dashboard/settings/staff", &[("csrf", &settings.csrf()), ("name", "Otieno"), ("email", "otieno@staffed.example")])
        .await;
    let at = invited.body.find("/dashboard/invite/").expect("the link, shown once");
    let path = &invited.body[at..at + invited.body[at..].find('<').unwrap()];
    let mut staff = Browser::new(&site);
    assert_eq!(staff.post(path, &[("password", "helper-pass")]).await.location(), "/dashboard");

    let routers = staff.get("/dashboard/routers").await;
    assert_eq!(routers.status, StatusCode::OK);
    assert!(!routers.body.contains("Add router"));
    let csrf = routers.csrf();
    for page in ["/dashboard/plans", "/dashboard/settings/provider"] {
        assert_eq!(staff.get(page).await.status, StatusCode::FORBIDDEN, "{page}");
    }
    let posts: [(&str, Vec<(&str, &str)>); 6] = [
        ("/dashboard/routers", vec![("name", "sneaky")]),
        (&format!("/dashboard/routers/{}/commands/{seq}/retry", router.id), vec![]),
        (&format!("/dashboard/routers/{}/revoke", router.id), vec![("confirm", "yes")]),
        ("/dashboard/plans", vec![("name", "x"), ("price_kes", "5"), ("duration", "1h")]),
        (&format!("/dashboard/plans/{}/move", jasiyo_cloud::model::PlanId(uuid::Uuid::new_v4())), vec![("to", "up")]),
        ("/dashboard/settings/provider", vec![("kind", "paystack"), ("secret_key", "sk_x")]),
    ];
    for (uri, mut form) in posts {
        form.push(("csrf", &csrf));
        assert_eq!(staff.post(uri, &form).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    assert_eq!(site.store.list_routers(Some(tenant.id)).await.unwrap().len(), 1);
    assert_eq!(site.store.list_commands(router.id, 10).await.unwrap().len(), 1);
    assert!(site.store.router(router.id).await.unwrap().unwrap().revoked_at.is_none());
    assert!(site.store.list_plans(tenant.id).await.unwrap().is_empty());
    assert!(site.store.current_provider(tenant.id).await.unwrap().is_none());

    // The owner disables them: their session ends.
    let people = site.store.tenant_accounts(tenant.id).await.unwrap();
    let otieno = people.iter().find(|a| a.role == Role::Staff).unwrap();
    let disabled = browser.post(&format!("/dashboard/settings/staff/{}/disable", otieno.id), &[("csrf", &settings.csrf())]).await;
    assert_eq!(disabled.location(), "/dashboard/settings");
    assert_eq!(staff.get("/dashboard").await.location(), "/dashboard/login");
}

async fn forms_without_the_csrf_token_change_nothing(site: Site) {
    let (mut browser, tenant) = owner(&site, "Guarded").await;
    let form = [("name", "1 hour"), ("price_kes", "20"), ("duration", "1h"), ("csrf", "0123456789abcdef0123456789abcdef")];
    assert_eq!(browser.post("/dashboard/plans", &form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.post("/dashboard/routers", &[("name", "r")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.post("/dashboard/settings/time-zone", &[("time_zone", "UTC")]).await.status, StatusCode::FORBIDDEN);
    assert!(site.store.list_plans(tenant.id).await.unwrap().is_empty());
    assert!(site.store.list_routers(Some(tenant.id)).await.unwrap().is_empty());
    let csrf = browser.get("/dashboard/settings").await.csrf();
    let bad = browser.post("/dashboard/settings/time-zone", &[("csrf", &csrf), ("time_zone", "Mars/Olympus")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = browser.post("/dashboard/settings/time-zone", &[("csrf", &csrf), ("time_zone", "Europe/Berlin")]).await;
    assert_eq!(good.status, StatusCode::OK);
    assert_eq!(site.store.find_tenant("Guarded").await.unwrap().unwrap().time_zone, "Europe/Berlin");
}

async fn tenants_reach_only_their_routers_and_plans(site: Site) {
    let (mut a, tenant_a) = owner(&site, "Alpha").await;
    let (mut b, _) = owner(&site, "Bravo").await;
    let router = site.store.create_router(tenant_a.id, "shop", "hash", now_ms()).await.unwrap();
    let seq = failed_command(site.store.as_ref(), router.id).await;
    let csrf_a = a.get("/dashboard/plans").await.csrf();
    a.post("/dashboard/plans", &[("csrf", &csrf_a), ("name", "1 hour"), ("price_kes", "20"), ("duration", "1h")]).await;
    let plan = site.store.list_plans(tenant_a.id).await.unwrap().pop().unwrap();

    let csrf = b.get("/dashboard/plans").await.csrf();
    let unknown = format!("/dashboard/routers/{}", RouterId::new());
    assert_eq!(b.get(&unknown).await.status, StatusCode::NOT_FOUND);
    for uri in [
        format!("/dashboard/routers/{}", router.id),
        format!("/dashboard/routers/{}/state", router.id),
        format!("/dashboard/plans/{}", plan.id),
    ] {
        let page = b.get(&uri).await;
        assert_eq!((page.status, page.body.as_str()), (StatusCode::NOT_FOUND, "Not found."), "{uri}");
    }
    let edit = [("csrf", csrf.as_str()), ("name", "Stolen"), ("price_kes", "1"), ("duration", "1h"), ("active", "no"), ("confirm", "yes")];
    for uri in [
        format!("/dashboard/plans/{}", plan.id),
        format!("/dashboard/plans/{}/active", plan.id),
        format!("/dashboard/routers/{}/commands/{seq}/retry", router.id),
        format!("/dashboard/routers/{}/rotate", router.id),
        format!("/dashboard/routers/{}/revoke", router.id),
    ] {
        assert_eq!(b.post(&uri, &edit).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(site.store.plan(plan.id).await.unwrap().unwrap(), plan, "A's plan is untouched");
    let stored = site.store.router(router.id).await.unwrap().unwrap();
    assert_eq!((stored.token_hash.as_str(), stored.revoked_at), ("hash", None));
    assert_eq!(site.store.list_commands(router.id, 10).await.unwrap().len(), 1);
}

jasiyo_cloud::on_each_backend!(site;
    routers_are_added_retried_rotated_and_revoked,
    routers_say_since_when_they_are_online_or_offline,
    plans_are_created_edited_and_disabled,
    plans_are_shown_in_the_owners_order,
    provider_secrets_are_never_shown,
    staff_are_refused_the_owners_changes,
    forms_without_the_csrf_token_change_nothing,
    tenants_reach_only_their_routers_and_plans,
);
