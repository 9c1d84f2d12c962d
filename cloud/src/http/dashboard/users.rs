//! The hotspot users page and its actions (extend, end now, move to a device): owner and
//! staff alike; every lookup and change is scoped to the session's tenant, so another
//! tenant's user id is "no such hotspot user" like an unknown one.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::render;
use super::session::{Form, Member, NoFields};
use crate::accounts::Accounts;
use crate::dashboard::users::{UsersPage, users as users_page};
use crate::payments::Payments;
use crate::payments::phone::Msisdn;
use crate::payments::users::UserError;
use crate::store::now_ms;
use crate::store::users::UserFilter;

/// Users per page.
const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub(super) struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    all: Option<String>,
    /// `<created_at>_<id>` of the last user shown.
    #[serde(default)]
    before: Option<String>,
    /// The notice of an action just done (`ok:` or `err:` then words).
    #[serde(default)]
    notice: Option<String>,
}

fn cursor(text: &str) -> Option<(i64, Uuid)> {
    let (at, id) = text.split_once('_')?;
    Some((at.parse().ok()?, Uuid::parse_str(id).ok()?))
}

pub(super) async fn list(
    State(payments): State<Arc<Payments>>,
    member: Member,
    headers: HeaderMap,
    Query(query): Query<UsersQuery>,
) -> Response {
    let search = query.q.trim();
    let search = (!search.is_empty()).then(|| Msisdn::parse(search).map(|m| m.as_str().to_string()).unwrap_or_else(|_| search.to_string()));
    let all = query.all.is_some();
    let now_secs = now_ms() / 1000;
    let filter = UserFilter { router: None, active_at: (!all).then_some(now_secs), search };
    let after = query.before.as_deref().and_then(cursor);
    let lines = match payments.store().tenant_users(member.tenant.id, &filter, after, PAGE).await {
        Ok(lines) => lines,
        Err(error) => {
            tracing::error!(%error, "listing hotspot users failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let older = (lines.len() == PAGE as usize).then(|| {
        let last = &lines[lines.len() - 1].entitlement;
        let mut params = vec![("q", query.q.clone()), ("before", format!("{}_{}", last.created_at, last.id))];
        if all {
            params.push(("all", "1".into()));
        }
        format!("/dashboard/users?{}", serde_urlencoded::to_string(params).unwrap_or_default())
    });
    let users: Vec<_> = lines
        .into_iter()
        .map(|line| {
            let created = crate::time::show_ms(line.entitlement.created_at, &tz);
            let expires = crate::time::show_secs(line.entitlement.expires_at, &tz);
            (line, created, expires)
        })
        .collect();
    let notice = query.notice.as_deref().and_then(|n| n.split_once(':')).map(|(kind, text)| (kind == "ok", text.to_string()));
    let frame = member.who.frame();
    let view = UsersPage { users: &users, now_secs, search: &query.q, all, older, notice };
    render(&frame, StatusCode::OK, users_page(&frame, &view), &headers)
}

/// Back to the list with what happened.
fn back(result: Result<String, UserError>) -> Response {
    let notice = match result {
        Ok(done) => format!("ok:{done}"),
        Err(UserError::Internal(error)) => {
            tracing::error!(error = format!("{error:#}"), "a hotspot user change failed");
            "err:something went wrong; try again".to_string()
        }
        Err(error) => format!("err:{error}"),
    };
    let query = serde_urlencoded::to_string([("all", "1"), ("notice", notice.as_str())]).unwrap_or_default();
    Redirect::to(&format!("/dashboard/users?{query}")).into_response()
}

#[derive(Deserialize)]
pub(super) struct ExtendForm {
    #[serde(default)]
    by: String,
}

pub(super) async fn extend(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    member: Member,
    Path(id): Path<Uuid>,
    Form(form): Form<ExtendForm>,
) -> Response {
    let Ok(by) = humantime::parse_duration(form.by.trim()) else { return back(Err(UserError::Invalid("extend by 1h, 1d or 7d".into()))) };
    let result = payments.extend_user(member.tenant.id, id, by).await;
    if result.is_ok() {
        accounts.record(Some(member.tenant.id), member.who.account.id, "extend_user", &format!("user {id} by {}", form.by.trim())).await;
    }
    back(result.map(|e| format!("{} extended by {}", e.username, form.by.trim())))
}

pub(super) async fn end(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    member: Member,
    Path(id): Path<Uuid>,
    Form(_): Form<NoFields>,
) -> Response {
    let result = payments.end_user(member.tenant.id, id).await;
    if result.is_ok() {
        accounts.record(Some(member.tenant.id), member.who.account.id, "end_user", &format!("user {id}")).await;
    }
    back(result.map(|e| format!("{} is being removed from the router", e.username)))
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    mac: String,
}

pub(super) async fn move_device(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    member: Member,
    Path(id): Path<Uuid>,
    Form(form): Form<MoveForm>,
) -> Response {
    let Ok(mac) = form.mac.trim().parse() else { return back(Err(UserError::Invalid("a device MAC looks like AA:BB:CC:DD:EE:FF".into()))) };
    let result = payments.move_user(member.tenant.id, id, mac).await;
    if result.is_ok() {
        accounts.record(Some(member.tenant.id), member.who.account.id, "move_user", &format!("user {id} to {mac}")).await;
    }
    back(result.map(|e| format!("{} moves to {mac}", e.username)))
}
