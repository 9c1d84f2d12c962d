//! The plans pages (the owner's; staff get 403): list, create, edit, enable/disable, and
//! moving one earlier or later in the portal's order.
//! Plans follow the noun's rules ([`crate::model::NewPlan::parse`]); every query is scoped
//! to the owner's tenant, so another tenant's plan id is "not found"; every change is
//! audited.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use super::routers::{internal, not_found};
use super::session::{Form, Member, Owner};
use crate::accounts::Accounts;
use crate::dashboard::plans::{PlanFields, plan_page, plans_page};
use crate::model::{Plan, PlanId, PlanInput, PlanMove};
use crate::payments::{AddPlanError, add_plan, edit_plan, move_plan};
use crate::store::{Store, StoreError};

/// The owner's input as a plan to validate, or what is wrong with it.
fn input(fields: &PlanFields) -> Result<PlanInput, String> {
    let price_kes = fields.price_kes.trim().parse::<u32>().map_err(|_| "The price is a whole number of shillings.".to_string())?;
    let duration = humantime::parse_duration(fields.duration.trim())
        .map_err(|_| "The duration is a length of time such as 30m, 1h or 1day.".to_string())?;
    let data_mb = match fields.data_mb.trim() {
        "" => None,
        mb => Some(mb.parse::<u64>().map_err(|_| "The data allowance is a whole number of MB, or empty.".to_string())?),
    };
    let optional = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
    Ok(PlanInput {
        name: fields.name.clone(),
        price_kes,
        duration,
        data_mb,
        rate_limit: optional(&fields.rate_limit),
        profile: optional(&fields.profile),
        shared_users: match fields.shared_users.trim() {
            "" => None,
            n => Some(n.parse::<u32>().map_err(|_| "Devices per login is a whole number, or empty.".to_string())?),
        },
    })
}

/// Why a plan was refused, for the owner; `None`: an internal error.
fn refusal(error: AddPlanError) -> Result<String, StoreError> {
    match error {
        AddPlanError::Invalid(invalid) => Ok(format!("{}.", capitalised(&invalid.to_string()))),
        AddPlanError::Store(StoreError::Conflict(_)) => Ok("Another of your plans has that name.".into()),
        AddPlanError::Store(error) => Err(error),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

async fn list(
    store: &dyn Store,
    member: &Member,
    fields: &PlanFields,
    error: Option<&str>,
    status: StatusCode,
    headers: &HeaderMap,
) -> Response {
    let plans = match store.list_plans(member.tenant.id).await {
        Ok(plans) => plans,
        Err(error) => return internal(error),
    };
    let frame = member.who.frame();
    render(&frame, status, plans_page(&frame, &plans, fields, error), headers)
}

async fn tenant_plan(store: &dyn Store, member: &Member, id: &str) -> Result<Plan, Response> {
    let Ok(id) = id.parse::<PlanId>() else { return Err(not_found()) };
    match store.tenant_plan(member.tenant.id, id).await {
        Ok(Some(plan)) => Ok(plan),
        Ok(None) => Err(not_found()),
        Err(error) => Err(internal(error)),
    }
}

pub(super) async fn plans(State(store): State<Arc<dyn Store>>, Owner(member): Owner, headers: HeaderMap) -> Response {
    list(store.as_ref(), &member, &PlanFields::default(), None, StatusCode::OK, &headers).await
}

pub(super) async fn create(
    State(store): State<Arc<dyn Store>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(fields): Form<PlanFields>,
) -> Response {
    let result = match input(&fields) {
        Ok(input) => add_plan(store.as_ref(), member.tenant.id, input).await.map_err(refusal),
        Err(message) => Err(Ok(message)),
    };
    match result {
        Ok(plan) => {
            let what = format!("{} ({}): KES {} for {} s", plan.name, plan.id, plan.price_kes, plan.duration_secs);
            accounts.record(Some(member.tenant.id), member.who.account.id, "plan.create", &what).await;
            Redirect::to("/dashboard/plans").into_response()
        }
        Err(Ok(message)) => list(store.as_ref(), &member, &fields, Some(&message), StatusCode::UNPROCESSABLE_ENTITY, &headers).await,
        Err(Err(error)) => internal(error),
    }
}

pub(super) async fn plan(
    State(store): State<Arc<dyn Store>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match tenant_plan(store.as_ref(), &member, &id).await {
        Ok(plan) => {
            let frame = member.who.frame();
            render(&frame, StatusCode::OK, plan_page(&frame, &plan, &PlanFields::of(&plan), None), &headers)
        }
        Err(response) => response,
    }
}

pub(super) async fn edit(
    State(store): State<Arc<dyn Store>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<PlanFields>,
) -> Response {
    let plan = match tenant_plan(store.as_ref(), &member, &id).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let result = match input(&fields) {
        Ok(input) => edit_plan(store.as_ref(), member.tenant.id, plan.id, input).await.map_err(refusal),
        Err(message) => Err(Ok(message)),
    };
    match result {
        Ok(true) => {
            let what = format!(
                "{} ({}) now {:?}: KES {} for {}",
                plan.name,
                plan.id,
                fields.name.trim(),
                fields.price_kes.trim(),
                fields.duration.trim()
            );
            accounts.record(Some(member.tenant.id), member.who.account.id, "plan.edit", &what).await;
            Redirect::to("/dashboard/plans").into_response()
        }
        Ok(false) => not_found(),
        Err(Ok(message)) => {
            let frame = member.who.frame();
            render(&frame, StatusCode::UNPROCESSABLE_ENTITY, plan_page(&frame, &plan, &fields, Some(&message)), &headers)
        }
        Err(Err(error)) => internal(error),
    }
}

#[derive(Deserialize)]
pub(super) struct Active {
    #[serde(default)]
    active: String,
}

pub(super) async fn set_active(
    State(store): State<Arc<dyn Store>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<Active>,
) -> Response {
    let Ok(id) = id.parse::<PlanId>() else { return not_found() };
    let active = form.active == "yes";
    match store.set_plan_active(member.tenant.id, id, active).await {
        Ok(true) => {
            let action = if active { "plan.enable" } else { "plan.disable" };
            accounts.record(Some(member.tenant.id), member.who.account.id, action, &id.to_string()).await;
            Redirect::to("/dashboard/plans").into_response()
        }
        Ok(false) => not_found(),
        Err(error) => internal(error),
    }
}

#[derive(Deserialize)]
pub(super) struct Move {
    #[serde(default)]
    to: String,
}

/// `POST /dashboard/plans/{id}/move` with `to=up|down`: one place earlier or later on the
/// portal. Another tenant's plan is "not found", as an unknown one is.
pub(super) async fn move_in_order(
    State(store): State<Arc<dyn Store>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<Move>,
) -> Response {
    let Ok(id) = id.parse::<PlanId>() else { return not_found() };
    let to = match form.to.as_str() {
        "up" => PlanMove::Up,
        "down" => PlanMove::Down,
        other => {
            tracing::warn!(to = other, "a plan move that is neither up nor down");
            return (StatusCode::UNPROCESSABLE_ENTITY, "Move a plan up or down.").into_response();
        }
    };
    match move_plan(store.as_ref(), member.tenant.id, id, to).await {
        Ok(Some(place)) => {
            accounts.record(Some(member.tenant.id), member.who.account.id, "plan.move", &format!("{id} to place {place}")).await;
            Redirect::to("/dashboard/plans").into_response()
        }
        Ok(None) => not_found(),
        Err(error) => internal(error),
    }
}
