//! Operator tokens: scoped to a tenant or the whole platform, expiring, revocable, every
//! change through them recorded by token id, and listings without hotspot passwords. Over
//! the HTTP router (no socket) on both databases, and the CLI's `operator token ...`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jasiyo_cloud::http::{AppState, router};
use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};
use jasiyo_shared::RouterId;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

struct World {
    _dir: TempDir,
    url: String,
    store: Arc<dyn Store>,
    app: axum::Router,
}

impl World {
    async fn new(backend: Backend) -> Option<World> {
        let dir = TempDir::new().unwrap();
        let url = fresh_database_url(backend, dir.path()).await?;
        let store = jasiyo_cloud::store::connect(Some(&url), dir.path()).await.unwrap();
        let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
        let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
        let app = router(AppState::new(hub, payments));
        Some(World { _dir: dir, url, store, app })
    }

    /// A new operator token of `scope` that expires at `expires_at`; its id and the token.
    async fn token(&self, scope: OperatorScope, expires_at: Option<i64>) -> (String, String) {
        let secret = AgentToken::generate();
        let id = operator_token_id(&secret.hash());
        let token = OperatorToken { id: id.clone(), name: "t".into(), scope, created_at: now_ms(), expires_at, revoked_at: None };
        self.store.create_scoped_operator_token(&token, &secret.hash()).await.unwrap();
        (id, secret.expose().to_string())
    }

    async fn call(&self, method: &str, uri: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
    }

    /// What was recorded as done through the token with this id: (action, router, detail).
    async fn actions(&self, token_id: &str) -> Vec<(String, Option<String>, String)> {
        let sql = "SELECT action, router_id, detail FROM operator_actions WHERE token_id = $1 ORDER BY id";
        if self.url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::query_as(sql).bind(token_id).fetch_all(&pool).await.unwrap()
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            sqlx::query_as(sql).bind(token_id).fetch_all(&pool).await.unwrap()
        }
    }
}

const CREATE_USER: &str = r#"{"upsert_hotspot_user":{"name":"u1","password":"hunter2-secret","profile":null,"mac":null,
    "expires_at":null,"limit_uptime_secs":null,"limit_bytes_total":null,"comment":null}}"#;

async fn a_tenant_token_reaches_its_tenants_routers_only(w: World) {
    let alpha = w.store.create_tenant("Alpha", now_ms()).await.unwrap();
    let beta = w.store.create_tenant("Beta", now_ms()).await.unwrap();
    let ours = w.store.create_router(alpha.id, "gate", "h1", now_ms()).await.unwrap().id;
    let theirs = w.store.create_router(beta.id, "gate", "h2", now_ms()).await.unwrap().id;
    let (id, token) = w.token(OperatorScope::Tenant(alpha.id), Some(now_ms() + 60_000)).await;

    let (status, routers) = w.call("GET", "/api/v1/routers", &token, "").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = routers.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [ours.to_string()], "only Alpha's router is listed");

    let remove = r#"{"remove_hotspot_user":{"name":"u1"}}"#;
    let (status, _) = w.call("POST", &format!("/api/v1/routers/{theirs}/commands"), &token, remove).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "Beta's router is as unknown as no router");
    assert!(w.store.list_commands(theirs, 10).await.unwrap().is_empty(), "nothing reached Beta's outbox");
    let (status, _) = w.call("GET", &format!("/api/v1/routers/{theirs}/commands"), &token, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor can it read Beta's commands");
    let (unknown, _) = w.call("GET", &format!("/api/v1/routers/{}/commands", RouterId::new()), &token, "").await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);

    let (status, body) = w.call("POST", &format!("/api/v1/routers/{ours}/commands"), &token, remove).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(w.actions(&id).await, [("command.enqueue".to_string(), Some(ours.to_string()), "remove_hotspot_user seq 1".to_string())]);

    let (_, platform) = w.token(OperatorScope::Platform, Some(now_ms() + 60_000)).await;
    let (status, routers) = w.call("GET", "/api/v1/routers", &platform, "").await;
    assert_eq!((status, routers.as_array().unwrap().len()), (StatusCode::OK, 2), "a platform token sees every tenant's");
    let (status, _) = w.call("POST", &format!("/api/v1/routers/{theirs}/commands"), &platform, remove).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn expired_and_revoked_tokens_are_refused(w: World) {
    let (_, expired) = w.token(OperatorScope::Platform, Some(now_ms() - 1)).await;
    assert_eq!(w.call("GET", "/api/v1/routers", &expired, "").await.0, StatusCode::UNAUTHORIZED);
    let (id, token) = w.token(OperatorScope::Platform, Some(now_ms() + 60_000)).await;
    assert_eq!(w.call("GET", "/api/v1/routers", &token, "").await.0, StatusCode::OK);
    assert!(w.store.revoke_operator_token(&id, now_ms()).await.unwrap());
    assert!(!w.store.revoke_operator_token(&id, now_ms()).await.unwrap(), "once");
    assert_eq!(w.call("GET", "/api/v1/routers", &token, "").await.0, StatusCode::UNAUTHORIZED, "revoked at once");
    let listed = w.store.list_operator_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|t| t.id == id && t.revoked_at.is_some()));
}

async fn command_listings_never_show_hotspot_passwords(w: World) {
    let tenant = w.store.create_tenant("Alpha", now_ms()).await.unwrap();
    let router = w.store.create_router(tenant.id, "gate", "h1", now_ms()).await.unwrap().id;
    let (_, token) = w.token(OperatorScope::Platform, Some(now_ms() + 60_000)).await;
    let commands = format!("/api/v1/routers/{router}/commands");
    let (status, created) = w.call("POST", &commands, &token, CREATE_USER).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, listed) = w.call("GET", &commands, &token, "").await;
    assert_eq!(status, StatusCode::OK);
    for shown in [&created, &listed[0]] {
        assert!(!shown.to_string().contains("hunter2"), "{shown}");
        assert_eq!(shown["command"]["upsert_hotspot_user"]["password"], "***");
        assert_eq!(shown["command"]["upsert_hotspot_user"]["name"], "u1");
    }
}

jasiyo_cloud::on_each_backend!(World::new;
    a_tenant_token_reaches_its_tenants_routers_only,
    expired_and_revoked_tokens_are_refused,
    command_listings_never_show_hotspot_passwords,
);

/// The binary on a fresh data directory.
fn cloud(dir: &TempDir, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"));
    for name in ["JASIYO_DATABASE_URL", "JASIYO_SEALING_KEY", "JASIYO_SECRET_KEY"] {
        command.env_remove(name);
    }
    command.env("JASIYO_DATA_DIR", dir.path()).env("RUST_LOG", "warn").args(args).output().expect("run jasiyo-cloud")
}

fn ok_json(dir: &TempDir, args: &[&str]) -> Value {
    let out = cloud(dir, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn operator_tokens_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let tenant = ok_json(&dir, &["tenant", "create", "--name", "Alpha", "--json"]);
    let created = ok_json(&dir, &["operator", "token", "create", "--name", "ci", "--tenant", "Alpha", "--expires-in", "1d", "--json"]);
    let (id, token) = (created["id"].as_str().unwrap(), created["token"].as_str().unwrap());
    assert_eq!(created["scope"], "tenant");
    assert_eq!(created["tenant"], tenant["id"]);
    let lifetime = created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 86_400_000);
    ok_json(&dir, &["operator", "token", "create", "--name", "ops", "--json"]);

    let listed = ok_json(&dir, &["operator", "token", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(token), "the list never shows a token");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[1]["scope"], "platform");
    let text = cloud(&dir, &["operator", "token", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("active"));

    let revoked = ok_json(&dir, &["operator", "token", "revoke", id, "--json"]);
    assert_eq!(revoked["revoked"], true);
    let listed = ok_json(&dir, &["operator", "token", "list", "--json"]);
    assert!(listed[0]["revoked_at"].is_i64());
    let text = String::from_utf8_lossy(&cloud(&dir, &["operator", "token", "list"]).stdout).into_owned();
    assert!(text.contains("revoked"), "{text}");
    let unknown = cloud(&dir, &["operator", "token", "revoke", "0000000000000000"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no operator token"));
    assert!(!cloud(&dir, &["operator", "token", "create", "--name", "x", "--tenant", "Nobody"]).status.success());
}

#[test]
fn command_list_on_the_command_line_never_shows_hotspot_passwords() {
    let dir = TempDir::new().unwrap();
    ok_json(&dir, &["tenant", "create", "--name", "Alpha", "--json"]);
    let router = ok_json(&dir, &["router", "add", "--tenant", "Alpha", "--name", "gate", "--json"]);
    let id = router["id"].as_str().unwrap();
    let enqueue = ["command", "enqueue", "--router", id, "--json"];
    let created = ok_json(&dir, &[&enqueue[..], &["create-user", "--name", "u1", "--password", "hunter2-secret"]].concat());
    let login = ["login-device", "--user", "u1", "--password", "hunter2-secret", "--mac", "02:00:00:00:00:09", "--ip", "10.5.50.9"];
    ok_json(&dir, &[&enqueue[..], &login].concat());
    assert_eq!(created["command"]["upsert_hotspot_user"]["password"], "***");
    let listed = ok_json(&dir, &["command", "list", "--router", id, "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["command"]["login_device"]["password"], "***");
    let text = cloud(&dir, &["command", "list", "--router", id]);
    for shown in [created.to_string(), listed.to_string(), String::from_utf8_lossy(&text.stdout).into_owned()] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
