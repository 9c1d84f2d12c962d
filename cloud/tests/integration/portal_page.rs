//! The captive portal without a browser: the page (size budget, nothing external, reflected
//! variables escaped) and "already paid?" recovery on every store backend (the router's
//! hotspot files and install script: `hotspot_files.rs`).

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jasiyo_cloud::http::AppState;
use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::model::{NewPayment, NewPlan, PaymentId};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::StoreError;
use jasiyo_cloud::store::payments::{DeviceMove, Provision};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, MacAddress, RouterId, UnixTime};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://pay.example.co.ke";
const OLD_MAC: &str = "02:AA:BB:CC:DD:01";
const NEW_MAC: &str = "02:AA:BB:CC:DD:77";

/// A shop: tenant, router, three plans, and the app over it.
struct Shop {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    app: axum::Router,
    router: RouterId,
}

async fn shop(backend: Backend, owner: &str) -> Option<Shop> {
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database_url(backend, dir.path()).await?;
    let store = jasiyo_cloud::store::connect(Some(&url), dir.path()).await.unwrap();
    let tenant = store.create_tenant(owner, now_ms()).await.unwrap();
    let token = AgentToken::generate();
    let router = store.create_router(tenant.id, "Kibanda", &token.hash(), now_ms()).await.unwrap().id;
    for (name, price, secs, mb) in [("Daily", 50, 86_400, Some(2048)), ("1 hour", 20, 3600, Some(500)), ("30 minutes", 10, 1800, None)] {
        let plan = NewPlan {
            shared_users: None,
            name: name.into(),
            price_kes: price,
            duration_secs: secs,
            data_mb: mb,
            rate_limit: Some("2M/5M".into()),
            profile: None,
        };
        store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    }
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new(PUBLIC_URL)).unwrap();
    let app = jasiyo_cloud::http::router(AppState::new(hub, payments));
    Some(Shop { _dir: dir, store, app, router })
}

/// One request; the body as text (gunzipped when it came gzipped) and the response headers.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>, String) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let raw = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    let text = if headers.get(header::CONTENT_ENCODING).is_some_and(|v| v == "gzip") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut text).unwrap();
        text
    } else {
        String::from_utf8(raw.clone()).unwrap()
    };
    (status, headers, raw, text)
}

async fn post_json(app: &axum::Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, _, text) =
        call(app, "POST", uri, &[("content-type", "application/json"), ("x-forwarded-for", "10.9.8.7")], &body.to_string()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The embedded boot data of a page.
fn boot(page: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"boot\">";
    let start = page.find(open).expect("boot data") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

#[tokio::test]
async fn the_page_is_small_self_contained_and_lists_the_plans() {
    let s = shop(Backend::Sqlite, "Mama Mboga WiFi").await.unwrap();
    let uri = format!("/portal/{}?mac=02%3AAA%3ABB%3ACC%3ADD%3A01&ip=10.5.50.21&link-login-only=http%3A%2F%2F10.5.50.1%2Flogin", s.router);
    let (status, headers, raw, page) = call(&s.app, "GET", &uri, &[("accept-encoding", "gzip, deflate")], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(raw.len() <= 30 * 1024, "first screen is {} bytes compressed", raw.len());
    assert!(page.len() > raw.len() * 2, "gzip pays for itself");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(page.contains("<h1 id=\"owner\">Mama Mboga WiFi</h1>"));

    // Plans: shortest first (added in another order, never reordered), every field the page
    // shows.
    let data = boot(&page);
    let names: Vec<&str> = data["plans"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["30 minutes", "1 hour", "Daily"]);
    assert_eq!(data["plans"][1]["price_kes"], 20);
    assert_eq!(data["plans"][1]["data_mb"], 500);
    assert_eq!(data["wait"], 90);
    assert_eq!(data["hs"]["mac"], OLD_MAC);
    assert_eq!(data["hs"]["login"], "http://10.5.50.1/login");

    // Nothing from elsewhere: no URL but the login URL handed in, no external anything.
    let without_login = page.replace("http://10.5.50.1/login", "");
    for banned in ["http://", "https://", "//fonts.", "<link", "<script src", "@import", "url(", "<iframe", "<img src=\"http"] {
        assert!(!without_login.contains(banned), "the page refers to something external: {banned}");
    }
    // Old browsers: ES5 only (no arrows, template strings, let/const, modules).
    let script = &page[page.rfind("<script nonce").unwrap()..];
    for modern in ["=>", "`", "let ", "const ", "import ", "export ", "async ", "await ", "fetch("] {
        assert!(!script.contains(modern), "the script uses {modern:?}");
    }
    // The one script runs by nonce; nothing else may.
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(page.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));

    // Without gzip it is still served, plainly; accessibility basics are in place.
    let (_, headers, _, plain) = call(&s.app, "GET", &uri, &[], "").await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.len(), page.len());
    for needle in [
        "<label class=\"f\" for=\"phone\"",
        "<label class=\"f\" for=\"receipt\"",
        "name=\"viewport\"",
        "<html lang=\"en\">",
        "role=\"alert\"",
    ] {
        assert!(plain.contains(needle), "{needle} missing");
    }

    let (status, _, _, text) = call(&s.app, "GET", &format!("/portal/{}", RouterId::new()), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("not registered"));
}

#[tokio::test]
async fn reflected_variables_cannot_inject_script() {
    let s = shop(Backend::Sqlite, "Mama <b>Mboga</b> \"WiFi\"").await.unwrap();
    let xss = "http://example.com/\"><script>window.pwned=1</script><!--";
    let uri = format!(
        "/portal/{}?mac=%3Cscript%3E&ip=1.2.3.4%22&link-login-only=javascript%3Aalert(1)&link-orig={}&error=%3C%2Fscript%3E%3Cscript%3Ealert(2)%3C%2Fscript%3E",
        s.router,
        xss.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
    );
    let (status, _, _, page) = call(&s.app, "GET", &uri, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("<script>window.pwned"), "link-orig escaped");
    assert!(!page.contains("<script>alert(2)"), "error escaped");
    assert!(page.contains("Mama &lt;b&gt;Mboga&lt;/b&gt; &quot;WiFi&quot;"), "owner escaped");
    assert_eq!(page.matches("<script").count(), 2, "only the page's own two script elements");
    let data = boot(&page);
    assert_eq!(
        data["hs"]["orig"], "http://example.com/%22%3E%3Cscript%3Ewindow.pwned=1%3C/script%3E%3C!--",
        "kept as a web address, written the URL standard's way (nothing the router's pages could run)"
    );
    assert_eq!(data["hs"]["login"], Value::Null, "a javascript: form target is dropped");
    // A login target off the hotspot (a crafted link would collect the password there).
    let foreign =
        format!("/portal/{}?link-login-only=https%3A%2F%2Fcollect.example.com%2Flogin&link-orig=http%3A%2F%2Fexample.com%2F", s.router);
    let (status, _, _, page) = call(&s.app, "GET", &foreign, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(boot(&page)["hs"]["login"], Value::Null, "only a host a hotspot can have receives the login");
    assert_eq!(boot(&page)["hs"]["orig"], "http://example.com/");
    // The login is always posted: the password (or its CHAP hash) never goes into a URL.
    assert!(page.contains("form.method = 'post'") && !page.contains("location.href = hs.login"), "no GET login");
    assert_eq!(data["hs"]["mac"], Value::Null);
    assert_eq!(data["hs"]["ip"], Value::Null);
    assert_eq!(data["hs"]["error"], "</script><script>alert(2)</script>");
}

/// A paid payment on the shop's router for a device, as a callback would leave it.
async fn paid(s: &Shop, receipt: &str, phone: &str, mac: &str, expires_at: i64) -> (PaymentId, String) {
    let tenant = s.store.router(s.router).await.unwrap().unwrap().tenant_id;
    let plan = s.store.list_plans(tenant).await.unwrap().into_iter().find(|p| p.name == "1 hour").unwrap();
    let mac: MacAddress = mac.parse().unwrap();
    let new = NewPayment {
        id: jasiyo_cloud::model::PaymentId::random(),
        tenant_id: tenant,
        router_id: s.router,
        plan_id: plan.id,
        provider: ProviderKind::Daraja,
        amount_kes: 20,
        msisdn: phone.into(),
        device_mac: Some(mac),
        device_ip: Some("10.5.50.21".parse().unwrap()),
        client_ip: None,
        idempotency_key: format!("{receipt}-{phone}"),
        callback_token_hash: AgentToken::generate().hash(),
        first_check_at: now_ms() + 25_000,
    };
    let payment = s.store.create_payment(&new, now_ms()).await.unwrap();
    let username = format!("U{}{}", &receipt[5..], &phone[phone.len() - 2..]);
    let user = HotspotUser {
        name: username.clone(),
        password: Password("123456".into()),
        profile: None,
        mac: Some(mac),
        expires_at: Some(UnixTime(expires_at)),
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    };
    let provision = Provision {
        username: username.clone(),
        password: "123456".into(),
        expires_at,
        upsert: Command::UpsertHotspotUser(user),
        login: None,
    };
    s.store.mark_paid(payment.id, Some(receipt), &provision, None, now_ms()).await.unwrap();
    (payment.id, username)
}

async fn recovery_moves_a_plan_to_the_new_device(backend: Backend) {
    let Some(s) = shop(backend, "Mama Mboga WiFi").await else { return };
    let later = now_ms() / 1000 + 3600;
    let (id, username) = paid(&s, "SJK3X9Y2ZQ", "254712345678", OLD_MAC, later).await;
    paid(&s, "SJK3X9Y2ZR", "254712345678", OLD_MAC, now_ms() / 1000 - 5).await;
    let uri = format!("/api/portal/{}/recover", s.router);
    let before = s.store.list_commands(s.router, 100).await.unwrap().len();

    // The whole SMS pasted, lower case: found, moved, logged in on the new device.
    let sms = "sjk3x9y2zq Confirmed. Ksh20.00 paid to KIBANDA.";
    let (status, body) =
        post_json(&s.app, &uri, json!({"receipt": sms, "phone": "0712 345 678", "mac": NEW_MAC, "ip": "10.5.50.99"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payment_id"], id.to_string());
    assert_eq!(body["login"]["username"], username);
    assert_eq!(body["login"]["password"], "123456");
    assert_eq!(body["moved"], true);
    let mut commands = s.store.list_commands(s.router, 100).await.unwrap();
    commands.reverse();
    let added: Vec<Command> = commands.into_iter().skip(before).map(|c| c.command).collect();
    let new_mac: MacAddress = NEW_MAC.parse().unwrap();
    assert_eq!(added.len(), 3, "{added:?}");
    assert_eq!(added[0], Command::EndSession { mac: OLD_MAC.parse().unwrap() }, "the old device is cut off first");
    // The plan has a speed limit: the user goes in the plan's profile.
    match &added[1] {
        Command::UpsertHotspotUserInProfile { user, .. } => {
            assert_eq!((user.name.as_str(), user.mac, user.expires_at), (username.as_str(), Some(new_mac), Some(UnixTime(later))));
            assert_eq!(user.limit_bytes_total, Some(500 * 1024 * 1024));
        }
        other => panic!("expected the user bound to the new device, got {other:?}"),
    }
    assert_eq!(
        added[2],
        Command::LoginDevice {
            user: username.clone(),
            password: Password("123456".into()),
            mac: new_mac,
            ip: "10.5.50.99".parse().unwrap()
        }
    );
    let entitlement = s.store.entitlement_for_payment(id).await.unwrap().unwrap();
    assert_eq!(entitlement.device_mac, Some(new_mac));
    let timeline: Vec<String> = s.store.payment_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(timeline.contains(&"entitlement_moved".to_string()), "{timeline:?}");

    // A move that raced with this one (it still thinks the plan is on the old device)
    // changes nothing.
    let raced = DeviceMove { end_old: None, upsert: added[1].clone(), login: None };
    let stale = s
        .store
        .move_entitlement(entitlement.id, Some(OLD_MAC.parse().unwrap()), "02:00:00:00:00:0C".parse().unwrap(), &raced, now_ms())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");

    // Asking again from the same device changes nothing.
    let (status, body) =
        post_json(&s.app, &uri, json!({"receipt": "SJK3X9Y2ZQ", "phone": "0712345678", "mac": NEW_MAC, "ip": "10.5.50.99"})).await;
    assert_eq!((status, body["moved"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(s.store.list_commands(s.router, 100).await.unwrap().len(), before + 3);

    // No phone, wrong phone, unknown code, nonsense, ended plan, no device: clear errors,
    // nothing moved. The right code with a wrong phone is answered as an unknown code, and
    // an ended plan is told only to its phone.
    let cases = [
        (json!({"receipt": "SJK3X9Y2ZQ", "mac": "02:00:00:00:00:09"}), StatusCode::BAD_REQUEST, "phone_needed"),
        (json!({"receipt": "SJK3X9Y2ZQ", "phone": "0799 000 000", "mac": "02:00:00:00:00:09"}), StatusCode::NOT_FOUND, "receipt_not_found"),
        (json!({"receipt": "SJK3X9Y2ZR", "phone": "0799 000 000", "mac": "02:00:00:00:00:09"}), StatusCode::NOT_FOUND, "receipt_not_found"),
        (json!({"receipt": "QQQ1111111", "phone": "0712345678", "mac": "02:00:00:00:00:09"}), StatusCode::NOT_FOUND, "receipt_not_found"),
        (json!({"receipt": "hello", "phone": "0712345678", "mac": "02:00:00:00:00:09"}), StatusCode::BAD_REQUEST, "invalid_receipt"),
        (json!({"receipt": "SJK3X9Y2ZR", "phone": "0712345678", "mac": "02:00:00:00:00:09"}), StatusCode::GONE, "receipt_expired"),
        (json!({"receipt": "SJK3X9Y2ZQ", "phone": "0712345678", "mac": "---"}), StatusCode::BAD_REQUEST, "no_device"),
    ];
    for (body, want_status, code) in cases {
        let (status, answer) = post_json(&s.app, &uri, body.clone()).await;
        assert_eq!((status, answer["error"].as_str()), (want_status, Some(code)), "{body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(s.store.entitlement_for_payment(id).await.unwrap().unwrap().device_mac, Some(new_mac));

    // Guessing is rate-limited per device.
    let guesser = json!({"receipt": "ZZZ0000000", "phone": "0712345678", "mac": "02:00:00:00:00:0A"});
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(post_json(&s.app, &uri, guesser.clone()).await.0);
    }
    assert_eq!(statuses[..5], [StatusCode::NOT_FOUND; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    let (_, answer) = post_json(&s.app, &uri, guesser).await;
    assert_eq!(answer["error"], "rate_limited");

    // Another router's page cannot take this router's plan.
    let tenant = s.store.router(s.router).await.unwrap().unwrap().tenant_id;
    let elsewhere = s.store.create_router(tenant, "Other", "hash", now_ms()).await.unwrap().id;
    let (status, _) = post_json(
        &s.app,
        &format!("/api/portal/{elsewhere}/recover"),
        json!({"receipt": "SJK3X9Y2ZQ", "phone": "0712345678", "mac": "02:00:00:00:00:0B"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// "Already paid?" moves a plan to a device other than the paying one once a day; back to
/// the paying one at any time; the owner can allow another move sooner.
async fn moves_away_are_limited_to_one_a_day(backend: Backend) {
    let Some(s) = shop(backend, "Mama Mboga WiFi").await else { return };
    let (id, _) = paid(&s, "SJK3X9Y2ZT", "254712345678", OLD_MAC, now_ms() / 1000 + 3600).await;
    let uri = format!("/api/portal/{}/recover", s.router);
    let to = |mac: &str, ip: &str| json!({"receipt": "SJK3X9Y2ZT", "phone": "0712345678", "mac": mac, "ip": ip});
    let (status, answer) = post_json(&s.app, &uri, to(NEW_MAC, "10.5.50.99")).await;
    assert_eq!((status, answer["moved"].clone()), (StatusCode::OK, json!(true)), "{answer}");
    let new_mac: MacAddress = NEW_MAC.parse().unwrap();
    let (status, answer) = post_json(&s.app, &uri, to("02:00:00:00:00:0E", "10.5.50.98")).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("moved_today")), "{answer}");
    assert_eq!(s.store.entitlement_for_payment(id).await.unwrap().unwrap().device_mac, Some(new_mac), "nothing moved");
    let (status, answer) = post_json(&s.app, &uri, to(OLD_MAC, "10.5.50.21")).await;
    assert_eq!((status, answer["moved"].clone()), (StatusCode::OK, json!(true)), "back to the paying phone: {answer}");
    assert!(s.store.reset_moves(id).await.unwrap());
    let (status, answer) = post_json(&s.app, &uri, to("02:00:00:00:00:0E", "10.5.50.98")).await;
    assert_eq!((status, answer["moved"].clone()), (StatusCode::OK, json!(true)), "allowed again: {answer}");
}

/// Two payments carry one receipt (Paystack's test mode gives every charge "10101"; a live
/// code should never repeat): the paying phone, which recovery always asks for, picks the
/// plan.
async fn a_receipt_on_several_payments_asks_for_the_phone(backend: Backend) {
    let Some(s) = shop(backend, "Mama Mboga WiFi").await else { return };
    let later = now_ms() / 1000 + 3600;
    let (first, _) = paid(&s, "SJK3X9Y2ZS", "254712345601", OLD_MAC, later).await;
    let (second, username) = paid(&s, "SJK3X9Y2ZS", "254712345602", "02:00:00:00:00:0D", later).await;
    let timeline: Vec<String> = s.store.payment_events(second).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(timeline.contains(&"receipt_shared".to_string()), "{timeline:?}");
    let uri = format!("/api/portal/{}/recover", s.router);

    let (status, answer) = post_json(&s.app, &uri, json!({"receipt": "SJK3X9Y2ZS", "mac": NEW_MAC, "ip": "10.5.50.99"})).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some("phone_needed")), "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("phone")), "{answer}");
    let (status, answer) =
        post_json(&s.app, &uri, json!({"receipt": "SJK3X9Y2ZS", "phone": "0799 000 000", "mac": NEW_MAC, "ip": "10.5.50.99"})).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::NOT_FOUND, Some("receipt_not_found")), "{answer}");
    assert_eq!(s.store.entitlement_for_payment(first).await.unwrap().unwrap().device_mac, Some(OLD_MAC.parse().unwrap()));

    let (status, answer) =
        post_json(&s.app, &uri, json!({"receipt": "SJK3X9Y2ZS", "phone": "0712 345 602", "mac": NEW_MAC, "ip": "10.5.50.99"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["payment_id"].as_str(), answer["login"]["username"].as_str()),
        (Some(second.to_string().as_str()), Some(username.as_str()))
    );
    let new_mac: MacAddress = NEW_MAC.parse().unwrap();
    assert_eq!(s.store.entitlement_for_payment(second).await.unwrap().unwrap().device_mac, Some(new_mac));
    assert_eq!(
        s.store.entitlement_for_payment(first).await.unwrap().unwrap().device_mac,
        Some(OLD_MAC.parse().unwrap()),
        "the other plan stays"
    );
}

/// The backend itself, for tests that set up their own shop.
async fn on(backend: Backend) -> Option<Backend> {
    Some(backend)
}

jasiyo_cloud::on_each_backend!(
    on;
    recovery_moves_a_plan_to_the_new_device,
    moves_away_are_limited_to_one_a_day,
    a_receipt_on_several_payments_asks_for_the_phone
);

#[tokio::test]
async fn the_page_hears_of_the_next_move_without_polling() {
    let s = shop(Backend::Sqlite, "Mama Mboga WiFi").await.unwrap();
    let tenant = s.store.router(s.router).await.unwrap().unwrap().tenant_id;
    let plan = s.store.list_plans(tenant).await.unwrap().remove(0);
    let new = NewPayment {
        id: jasiyo_cloud::model::PaymentId::random(),
        tenant_id: tenant,
        router_id: s.router,
        plan_id: plan.id,
        provider: ProviderKind::Daraja,
        amount_kes: plan.price_kes,
        msisdn: "254712345678".into(),
        device_mac: None,
        device_ip: None,
        client_ip: None,
        idempotency_key: "k".into(),
        callback_token_hash: AgentToken::generate().hash(),
        first_check_at: now_ms() + 25_000,
    };
    let id = s.store.create_payment(&new, now_ms()).await.unwrap().id;
    s.store.mark_prompt_sent(id, "ws_CO_1", None, now_ms() + 60_000, now_ms()).await.unwrap();
    let next = |seen: &str| format!("/api/portal/payments/{id}/next?seen={seen}");

    // Not what the page saw: at once.
    let (status, _, _, text) = call(&s.app, "GET", &next(""), &[], "").await;
    assert_eq!(status, StatusCode::OK);
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((view["status"].as_str(), view["stage"].as_str()), (Some("pending"), Some("waiting_for_approval")));
    assert!(view["wait_secs"].as_u64().unwrap() > 80);

    // What the page saw: held until it changes, even when the change comes from elsewhere
    // (here straight into the store, as another cloud instance would).
    let seen = next("pending%2Fwaiting_for_approval");
    let held = tokio::time::timeout(std::time::Duration::from_millis(300), call(&s.app, "GET", &seen, &[], "")).await;
    assert!(held.is_err(), "nothing changed, so nothing was said");
    let app = s.app.clone();
    let waiting = tokio::spawn(async move { call(&app, "GET", &seen, &[], "").await });
    assert!(s.store.mark_failed(id, jasiyo_cloud::model::PaymentState::Cancelled, "cancelled", None, now_ms()).await.unwrap());
    let (status, _, _, text) =
        tokio::time::timeout(std::time::Duration::from_secs(3), waiting).await.expect("answered within the recheck").unwrap();
    assert_eq!(status, StatusCode::OK);
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((view["status"].as_str(), view["reason"].as_str()), (Some("cancelled"), Some("cancelled")));

    let (status, _, _, _) =
        call(&s.app, "GET", &format!("/api/portal/payments/{}/next?seen=", PaymentId(uuid::Uuid::new_v4())), &[], "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
