//! The routers pages: every member sees them; adding, retrying, rotating and revoking are
//! the owner's (audited). A router of another tenant is "not found", like an unknown one.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jasiyo_shared::RouterId;
use serde::Deserialize;
use serde_json::json;

use super::render;
use super::session::{Form, Member, Owner};
use crate::accounts::Accounts;
use crate::dashboard::router_trial::TrialView;
use crate::dashboard::routers::{CommandLine, Fresh, RouterDetail, RouterLine, age, router_page, routers_page};
use crate::http::AppState;
use crate::hub::Hub;
use crate::model::{CommandState, Router};
use crate::portal::hotspot::PortalHost;
use crate::redact::without_passwords;
use crate::routers::{AddRouterError, add_router, agent_settings, container_script, hotspot_script, token_update_script};
use crate::store::{StoreError, now_ms};
use crate::token::AgentToken;

/// How many commands and reports the router page lists (and a retry can reach).
const NEWEST: u32 = 100;

pub(super) fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a dashboard page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

pub(super) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.").into_response()
}

fn line(hub: &Hub, member: &Member, router: Router) -> RouterLine {
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let now = now_ms();
    let link = router.link(now, hub.stale_after().as_millis() as i64);
    let online = router.revoked_at.is_none() && link.is_online();
    let seen = router.last_seen_at.map_or("never".to_string(), |t| crate::time::show_ms(t, &tz));
    let since = link.since().map(|t| crate::time::since_with_age(t, now, &tz));
    RouterLine { router, online, link, seen, since }
}

/// The member's tenant's router `id`; anything else (malformed, unknown, another
/// tenant's) is the same 404.
pub(super) async fn tenant_router(hub: &Hub, member: &Member, id: &str) -> Result<Router, Response> {
    let Ok(id) = id.parse::<RouterId>() else { return Err(not_found()) };
    match hub.store().router(id).await {
        Ok(Some(router)) if router.tenant_id == member.tenant.id => Ok(router),
        Ok(_) => Err(not_found()),
        Err(error) => Err(internal(error)),
    }
}

async fn list(hub: &Hub, member: &Member, fresh: Option<&Fresh>, error: Option<&str>, status: StatusCode, headers: &HeaderMap) -> Response {
    let routers = match hub.store().list_routers(Some(member.tenant.id)).await {
        Ok(routers) => routers,
        Err(error) => return internal(error),
    };
    let lines: Vec<RouterLine> = routers.into_iter().map(|r| line(hub, member, r)).collect();
    let frame = member.who.frame();
    render(&frame, status, routers_page(&frame, &lines, fresh, error), headers)
}

pub(super) async fn routers(State(hub): State<Arc<Hub>>, member: Member, headers: HeaderMap) -> Response {
    list(&hub, &member, None, None, StatusCode::OK, &headers).await
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    name: String,
}

pub(super) async fn add(State(state): State<AppState>, Owner(member): Owner, headers: HeaderMap, Form(form): Form<AddForm>) -> Response {
    let store = state.hub.store().as_ref();
    let (router, token) = match add_router(store, member.tenant.id, &form.name).await {
        Ok(added) => added,
        Err(AddRouterError::Store(StoreError::Conflict(_))) => {
            let error = "Another of your routers has that name.";
            return list(&state.hub, &member, None, Some(error), StatusCode::CONFLICT, &headers).await;
        }
        Err(AddRouterError::Name) => {
            let error = AddRouterError::Name.to_string();
            return list(&state.hub, &member, None, Some(&error), StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
        }
        Err(AddRouterError::Store(error)) => return internal(error),
    };
    let public_url = &state.payments.config().public_url;
    let script = match PortalHost::parse(public_url) {
        Ok(portal) => match hotspot_script(store, &portal, &router, token.expose()).await {
            Ok(script) => Some(script),
            Err(error) => return internal(error),
        },
        Err(error) => {
            tracing::warn!(%error, "no hotspot install script: the public URL does not suit one");
            None
        }
    };
    state.accounts.record(Some(member.tenant.id), member.who.account.id, "router.add", &format!("{} ({})", router.name, router.id)).await;
    let fresh = Fresh {
        agent_settings: agent_settings(public_url, router.id, token.expose()),
        container_script: container_script(public_url, &router, token.expose()),
        token: token.expose().to_string(),
        router,
        script,
    };
    list(&state.hub, &member, Some(&fresh), None, StatusCode::OK, &headers).await
}

pub(super) async fn detail(
    hub: &Hub,
    member: &Member,
    router: Router,
    fresh: Option<Fresh>,
    notice: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let store = hub.store();
    let today = crate::time::start_of_today_ms(&tz);
    let (commands, events, minutes, uses) = match tokio::try_join!(
        store.list_commands(router.id, NEWEST),
        store.list_events(router.id, NEWEST),
        store.trial_minutes(router.id),
        store.trial_uses(router.id, today)
    ) {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    let now = now_ms();
    let commands = commands
        .into_iter()
        .map(|c| CommandLine {
            seq: c.seq.0,
            kind: c.command.kind(),
            age: age(now - c.created_at),
            state: c.state,
            result: c.outcome.as_ref().map(|o| without_passwords(json!(o)).to_string()).unwrap_or_default(),
            detail: without_passwords(json!(c.command)).to_string(),
        })
        .collect();
    let events = events
        .into_iter()
        .map(|e| (crate::time::show_secs(e.happened_at, &tz), serde_json::to_string(&e.event).unwrap_or_default()))
        .collect();
    let trial = TrialView { minutes, uses };
    let detail = RouterDetail { line: line(hub, member, router), commands, events, fresh, notice, trial };
    let frame = member.who.frame();
    render(&frame, StatusCode::OK, router_page(&frame, &detail), headers)
}

pub(super) async fn router(State(hub): State<Arc<Hub>>, member: Member, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match tenant_router(&hub, &member, &id).await {
        Ok(router) => detail(&hub, &member, router, None, None, &headers).await,
        Err(response) => response,
    }
}

/// `{"online": bool, "revoked": bool, "link": {"state", "since"}}`: what the "add router"
/// page waits on.
pub(super) async fn state(State(hub): State<Arc<Hub>>, member: Member, Path(id): Path<String>) -> Response {
    match tenant_router(&hub, &member, &id).await {
        Ok(router) => {
            let line = line(&hub, &member, router);
            Json(json!({ "online": line.online, "revoked": line.router.revoked_at.is_some(), "link": line.link })).into_response()
        }
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub(super) struct Confirm {
    #[serde(default)]
    confirm: String,
}

pub(super) async fn retry(
    State(hub): State<Arc<Hub>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
    Form(_): Form<Confirm>,
) -> Response {
    let router = match tenant_router(&hub, &member, &id).await {
        Ok(router) => router,
        Err(response) => return response,
    };
    let commands = match hub.store().list_commands(router.id, NEWEST).await {
        Ok(commands) => commands,
        Err(error) => return internal(error),
    };
    let Some(failed) = commands.into_iter().find(|c| c.seq.0 == seq) else { return not_found() };
    if failed.state != CommandState::Failed || router.revoked_at.is_some() {
        return (StatusCode::CONFLICT, "Only a failed command of a router in use can be retried.").into_response();
    }
    let again = match hub.enqueue(router.id, &failed.command).await {
        Ok(again) => again,
        Err(error) => return internal(error),
    };
    let what = format!("{} #{} of {} again as #{}", failed.command.kind(), seq, router.id, again.seq.0);
    accounts.record(Some(member.tenant.id), member.who.account.id, "router.retry", &what).await;
    let notice = format!("Command #{seq} queued again as #{}.", again.seq.0);
    detail(&hub, &member, router, None, Some(notice), &headers).await
}

pub(super) async fn rotate(
    State(state): State<AppState>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(_): Form<Confirm>,
) -> Response {
    let router = match tenant_router(&state.hub, &member, &id).await {
        Ok(router) => router,
        Err(response) => return response,
    };
    let token = AgentToken::generate();
    match state.hub.store().rotate_router_token(router.id, &token.hash(), now_ms()).await {
        Ok(true) => {}
        Ok(false) => return (StatusCode::CONFLICT, "This router is revoked; add it again instead.").into_response(),
        Err(error) => return internal(error),
    }
    state.accounts.record(Some(member.tenant.id), member.who.account.id, "router.rotate_token", &router.id.to_string()).await;
    let settings = agent_settings(&state.payments.config().public_url, router.id, token.expose());
    let fresh = Fresh {
        container_script: token_update_script(&state.payments.config().public_url, &router, token.expose()),
        router: router.clone(),
        token: token.expose().to_string(),
        agent_settings: settings,
        script: None,
    };
    let notice = "The old token no longer works; its agent was disconnected.".to_string();
    detail(&state.hub, &member, router, Some(fresh), Some(notice), &headers).await
}

pub(super) async fn revoke(
    State(hub): State<Arc<Hub>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Confirm>,
) -> Response {
    let router = match tenant_router(&hub, &member, &id).await {
        Ok(router) => router,
        Err(response) => return response,
    };
    if form.confirm != "yes" {
        return (StatusCode::UNPROCESSABLE_ENTITY, "Tick the box to confirm the revocation.").into_response();
    }
    if let Err(error) = hub.store().revoke_router(router.id, now_ms()).await {
        return internal(error);
    }
    accounts.record(Some(member.tenant.id), member.who.account.id, "router.revoke", &router.id.to_string()).await;
    let router = match tenant_router(&hub, &member, &id).await {
        Ok(router) => router,
        Err(response) => return response,
    };
    detail(&hub, &member, router, None, Some("Revoked: its agent is disconnected and will be refused.".into()), &headers).await
}
