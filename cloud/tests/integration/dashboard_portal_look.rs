//! The portal settings on both databases: the owner's name, welcome line, help phone,
//! colour, language and logo reach the captive portal page (escaped); a logo that is not a
//! PNG, JPEG or WebP, a form without its CSRF token and a staff member change nothing.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jasiyo_cloud::model::Email;
use jasiyo_cloud::store::now_ms;
use tower::ServiceExt;

use super::dashboard_auth::{Browser, Site, site};

const BOUNDARY: &str = "jasiyoBoundary7d1";

/// A multipart form: text fields, and the logo file if given.
fn multipart(fields: &[(&str, &str)], logo: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some(bytes) = logo {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"l.png\"\r\nContent-Type: image/png\r\n\r\n")
                .as_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_look(site: &Site, cookie: &str, fields: &[(&str, &str)], logo: Option<&[u8]>) -> (StatusCode, String, String) {
    let request = Request::builder()
        .method("POST")
        .uri("/dashboard/settings/portal")
        .header("host", "127.0.0.1")
        .header(header::COOKIE, format!("jasiyo_session={cookie}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(fields, logo)))
        .unwrap();
    let response = site.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, location, body)
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-tiny";

async fn owners_shape_their_portal(site: Site) {
    let mut owner = Browser::new(&site);
    owner.sign_up("Look Shop", "look@shop.example").await;
    let tenant = site.store.find_tenant("Look Shop").await.unwrap().unwrap();
    let router = site.store.create_router(tenant.id, "gate", "hash", now_ms()).await.unwrap();
    let page = owner.get("/dashboard/settings/portal").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let cookie = owner.cookie.clone().unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("business", "Mama Look WiFi"),
        ("welcome", "Karibu <script>alert(1)</script>"),
        ("support_phone", "0712 345 678"),
        ("color", "#AA3300"),
        ("language", "sw"),
    ];

    // Refused: no CSRF token, a logo that is not an image.
    let (status, _, _) = post_look(&site, &cookie, &fields[1..], Some(PNG)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = post_look(&site, &cookie, &fields, Some(b"<svg onload=alert(1)>")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("PNG, JPEG or WebP"), "{body}");
    assert_eq!(site.store.portal_look(tenant.id).await.unwrap(), Default::default(), "nothing kept");

    let (status, location, body) = post_look(&site, &cookie, &fields, Some(PNG)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.contains("notice=ok"), "{location}");
    let portal = Browser::new(&site).get(&format!("/portal/{}", router.id)).await;
    assert_eq!(portal.status, StatusCode::OK);
    let body = portal.body;
    assert!(body.contains("<title>Mama Look WiFi</title>"), "the new business name");
    assert!(body.contains("data:image/png;base64,"), "the logo inline");
    assert!(body.contains("Karibu &lt;script&gt;") && !body.contains("<script>alert(1)"), "the welcome line, escaped");
    assert!(body.contains("tel:0712 345 678"), "the help phone");
    assert!(body.contains("#aa3300") && !body.contains("#0b6e4f"), "the colour");
    assert!(body.contains(r#""lang":"sw""#), "the language");

    // Saving again without a file keeps the logo; "remove" drops it.
    let (status, _, _) = post_look(&site, &cookie, &fields, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(site.store.portal_look(tenant.id).await.unwrap().logo.is_some());
    let mut without = fields.to_vec();
    without.push(("remove_logo", "1"));
    post_look(&site, &cookie, &without, None).await;
    assert!(site.store.portal_look(tenant.id).await.unwrap().logo.is_none());

    // Staff cannot change it.
    let account = site.store.credentials(&Email::parse("look@shop.example").unwrap()).await.unwrap().unwrap().account;
    let tenant = site.store.find_tenant("Mama Look WiFi").await.unwrap().unwrap();
    let link = site.accounts.invite_staff(&tenant, &account, "staff@shop.example", "Staff").await.unwrap();
    let mut staff = Browser::new(&site);
    staff.post(&link[link.find("/dashboard/").unwrap()..], &[("password", "staff-pass")]).await;
    assert_eq!(staff.get("/dashboard/settings/portal").await.status, StatusCode::FORBIDDEN);
    let staff_csrf = staff.get("/dashboard").await.csrf();
    let mut staff_fields = fields.to_vec();
    staff_fields[0] = ("csrf", staff_csrf.as_str());
    let (status, _, _) = post_look(&site, staff.cookie.as_deref().unwrap(), &staff_fields, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

jasiyo_cloud::on_each_backend!(site; owners_shape_their_portal);
