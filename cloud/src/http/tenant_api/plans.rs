//! A tenant's plans as JSON: list them in the portal's order, add one, edit one (the same
//! fields as adding), offer it or stop offering it, move it in the order. Plans follow the
//! noun's rules ([`crate::model::NewPlan::parse`]); another tenant's plan id is 404.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{TenantQuery, body};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::model::{PlanId, PlanInput, PlanMove};
use crate::payments::{AddPlanError, add_plan, edit_plan, move_plan};
use crate::store::StoreError;

/// `GET /api/v1/plans`: the tenant's plans, in the order its portal shows them.
pub async fn plans(operator: Operator, State(state): State<AppState>, Query(query): Query<TenantQuery>) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    Ok(Json(json!(state.hub.store().list_plans(tenant.id).await?)))
}

/// A plan as sent to add or edit one.
#[derive(Deserialize)]
pub struct PlanBody {
    name: String,
    price_kes: u32,
    /// `1h`, `1d`, `7d`.
    duration: String,
    data_mb: Option<u64>,
    rate_limit: Option<String>,
    profile: Option<String>,
    shared_users: Option<u32>,
}

impl PlanBody {
    fn input(self) -> Result<PlanInput, ApiError> {
        let duration = humantime::parse_duration(self.duration.trim()).map_err(|e| ApiError::BadRequest(format!("duration: {e}")))?;
        Ok(PlanInput {
            name: self.name,
            price_kes: self.price_kes,
            duration,
            data_mb: self.data_mb,
            rate_limit: self.rate_limit,
            profile: self.profile,
            shared_users: self.shared_users,
        })
    }
}

fn plan_error(error: AddPlanError) -> ApiError {
    match error {
        AddPlanError::Store(StoreError::Conflict(_)) => ApiError::Conflict("another of the tenant's plans has that name".into()),
        AddPlanError::Store(error) => error.into(),
        AddPlanError::Invalid(invalid) => ApiError::BadRequest(invalid.to_string()),
    }
}

/// `POST /api/v1/plans` `{"name", "price_kes", "duration": "1h", "data_mb"?, "rate_limit"?, "shared_users"?, "profile"?}`.
pub async fn add_plan_api(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    plan: Result<Json<PlanBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let input = body(plan)?.input()?;
    let plan = add_plan(state.hub.store().as_ref(), tenant.id, input).await.map_err(plan_error)?;
    operator.audit(&state, "plan.add", None, &format!("plan {} ({})", plan.id, plan.name)).await;
    Ok((StatusCode::CREATED, Json(json!(plan))))
}

/// `PUT /api/v1/plans/{id}` with the fields of adding one: replaces what the plan sells
/// (payments keep the price they started with); the plan as now stored.
pub async fn edit_plan_api(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PlanId>,
    Query(query): Query<TenantQuery>,
    plan: Result<Json<PlanBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    store.tenant_plan(tenant.id, id).await?.ok_or_else(|| ApiError::NotFound("plan".into()))?;
    let input = body(plan)?.input()?;
    let what = format!("plan {id} now {:?}: KES {} for {} s", input.name.trim(), input.price_kes, input.duration.as_secs());
    if !edit_plan(store.as_ref(), tenant.id, id, input).await.map_err(plan_error)? {
        return Err(ApiError::NotFound("plan".into()));
    }
    operator.audit(&state, "plan.edit", None, &what).await;
    let plan = store.tenant_plan(tenant.id, id).await?.ok_or_else(|| ApiError::NotFound("plan".into()))?;
    Ok(Json(json!(plan)))
}

#[derive(Deserialize)]
pub struct ActiveBody {
    /// Offered on the portal.
    active: bool,
}

/// `POST /api/v1/plans/{id}/active` `{"active": true|false}`: offers the plan on the portal
/// or stops offering it (payments already made keep their plan): `{"id", "active"}`.
pub async fn set_plan_active(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PlanId>,
    Query(query): Query<TenantQuery>,
    active: Result<Json<ActiveBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let active = body(active)?.active;
    if !state.hub.store().set_plan_active(tenant.id, id, active).await? {
        return Err(ApiError::NotFound("plan".into()));
    }
    operator.audit(&state, if active { "plan.enable" } else { "plan.disable" }, None, &format!("plan {id}")).await;
    Ok(Json(json!({ "id": id, "active": active })))
}

#[derive(Deserialize)]
pub struct MovePlanBody {
    /// `up` or `down`.
    to: Option<String>,
    /// Or a place, 1 first.
    position: Option<u32>,
}

/// `POST /api/v1/plans/{id}/move` `{"to": "up"|"down"}` or `{"position": N}`: the plan's
/// new place in the portal's order (`{"id", "position"}`).
pub async fn move_plan_api(
    operator: Operator,
    State(state): State<AppState>,
    Path(id): Path<PlanId>,
    Query(query): Query<TenantQuery>,
    to: Result<Json<MovePlanBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let to = body(to)?;
    let to = match (to.to.as_deref(), to.position) {
        (Some("up"), None) => PlanMove::Up,
        (Some("down"), None) => PlanMove::Down,
        (None, Some(position)) if position >= 1 => PlanMove::To(position),
        _ => return Err(ApiError::BadRequest("give \"to\": \"up\" or \"down\", or a \"position\" from 1".into())),
    };
    let place = move_plan(state.hub.store().as_ref(), tenant.id, id, to).await?.ok_or_else(|| ApiError::NotFound("plan".into()))?;
    operator.audit(&state, "plan.move", None, &format!("plan {id} to place {place}")).await;
    Ok(Json(json!({ "id": id, "position": place })))
}
