//! `POST /dashboard/routers/{id}/trial`: the owner turns the router's free trial on (with
//! minutes) or off; audited. The command reaches the router through its outbox.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::routers::{detail, internal, tenant_router};
use super::session::{Form, Owner};
use crate::http::AppState;
use crate::trial::{TrialError, set_trial};

#[derive(Deserialize)]
pub(super) struct TrialForm {
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    action: String,
}

pub(super) async fn trial(
    State(state): State<AppState>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TrialForm>,
) -> Response {
    let router = match tenant_router(&state.hub, &member, &id).await {
        Ok(router) => router,
        Err(response) => return response,
    };
    let minutes = match form.action.as_str() {
        "off" => None,
        "on" => match form.minutes.trim().parse::<u32>() {
            Ok(m) => Some(m),
            Err(_) => return (StatusCode::UNPROCESSABLE_ENTITY, "Minutes: a whole number from 1 to 60.").into_response(),
        },
        _ => return (StatusCode::UNPROCESSABLE_ENTITY, "Turn the trial on or off.").into_response(),
    };
    let seq = match set_trial(state.hub.store().as_ref(), router.id, minutes).await {
        Ok(seq) => seq,
        Err(TrialError::Minutes) => return (StatusCode::UNPROCESSABLE_ENTITY, "Minutes: a whole number from 1 to 60.").into_response(),
        Err(TrialError::NotFound) => return (StatusCode::CONFLICT, "This router is revoked.").into_response(),
        Err(TrialError::Store(error)) => return internal(error),
    };
    state.hub.wake(router.id);
    let what = format!("router {} trial {} (command #{})", router.id, minutes.map_or("off".into(), |m| format!("{m} minutes")), seq.0);
    state.accounts.record(Some(member.tenant.id), member.who.account.id, "router.trial", &what).await;
    let notice = match minutes {
        Some(m) => format!("Free trial on: {m} minutes once a day per device. Sent to the router as command #{}.", seq.0),
        None => format!("Free trial off. Sent to the router as command #{}.", seq.0),
    };
    detail(&state.hub, &member, router, None, Some(notice), &headers).await
}
