//! Adding a plan to a tenant's offer (the CLI's `plan add` and the dashboard's), editing
//! one (the dashboard's) and moving one in the portal's order (both's). The rules a plan follows are the noun's own
//! ([`NewPlan::parse`]).

use crate::model::{NewPlan, Plan, PlanError, PlanId, PlanInput, PlanMove, TenantId};
use crate::store::{Store, StoreError, now_ms};

/// Why a plan was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddPlanError {
    /// The input breaks a plan rule (the message says which).
    #[error(transparent)]
    Invalid(#[from] PlanError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates `input` and adds it to `tenant`'s plans.
pub async fn add_plan(store: &dyn Store, tenant: TenantId, input: PlanInput) -> Result<Plan, AddPlanError> {
    let plan = NewPlan::parse(input)?;
    Ok(store.create_plan(tenant, &plan, now_ms()).await?)
}

/// Validates `input` and makes it what `tenant`'s plan `id` sells; false when `tenant` has
/// no such plan (another tenant's included).
pub async fn edit_plan(store: &dyn Store, tenant: TenantId, id: PlanId, input: PlanInput) -> Result<bool, AddPlanError> {
    let plan = NewPlan::parse(input)?;
    Ok(store.update_plan(tenant, id, &plan).await?)
}

/// Moves `tenant`'s plan `id` in the order the portal shows plans; its new place (1 first),
/// or `None` when `tenant` has no such plan (another tenant's included).
pub async fn move_plan(store: &dyn Store, tenant: TenantId, id: PlanId, to: PlanMove) -> Result<Option<u32>, StoreError> {
    let place = store.move_plan(tenant, id, to).await?;
    if let Some(place) = place {
        tracing::info!(tenant = %tenant, plan = %id, ?to, place, "plan moved");
    }
    Ok(place)
}
