//! Adding a plan to a tenant's offer: the operation behind the CLI's `plan add` (and the
//! dashboard's, to come). The rules a plan follows are the noun's own ([`NewPlan::parse`]).

use crate::model::{NewPlan, Plan, PlanError, PlanInput, TenantId};
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
