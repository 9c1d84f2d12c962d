//! The dashboard's operations as JSON under `/api/v1`, for scripts (issue 13, "CLI and API
//! parity"), one file per area: [`payments`], [`plans`], [`users`], [`routers`],
//! [`provider`], [`alerts`] and the portal's [`look`].
//!
//! The tenant is the operator token's: a token scoped to a tenant (`operator token create
//! --tenant T`) reaches that tenant only; a platform token names one with `?tenant=<id>`.
//! A token acts as the tenant's owner (it can do what the owner's dashboard does). Every
//! lookup is scoped to the tenant in the store's query, so another tenant's payment, plan,
//! user or router answers 404, as an unknown one does. Every change is logged and recorded
//! with the token's id ([`Operator::audit`]); secrets are never answered back, except a
//! token or secret made by the call itself, shown once.
//!
//! Errors: 400 for input that is not understood or not allowed (nothing is changed), 404
//! for what the tenant does not have, 409 for a change the thing's state does not allow.

pub mod alerts;
pub mod look;
pub mod payments;
pub mod plans;
pub mod provider;
pub mod routers;
pub mod users;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::operator::Operator;
use crate::model::Tenant;

/// The most a page may hold.
const MAX_PAGE: u32 = 500;

#[derive(Deserialize, Default)]
pub struct TenantQuery {
    /// The tenant, for a platform token.
    tenant: Option<String>,
}

impl Operator {
    /// The tenant this request acts for: the token's own, or (a platform token) the one
    /// `?tenant=` names.
    async fn tenant(&self, state: &AppState, asked: Option<&str>) -> Result<Tenant, ApiError> {
        let id = match (self.0.scope.tenant(), asked) {
            (Some(own), None) => own.to_string(),
            (Some(own), Some(asked)) if asked.trim() == own.to_string() => own.to_string(),
            (Some(_), Some(_)) => return Err(ApiError::NotFound("tenant".into())),
            (None, Some(asked)) if Uuid::parse_str(asked.trim()).is_ok() => asked.trim().to_string(),
            (None, _) => return Err(ApiError::BadRequest("a platform token names the tenant: ?tenant=<tenant id>".into())),
        };
        state.hub.store().find_tenant(&id).await?.ok_or_else(|| ApiError::NotFound("tenant".into()))
    }
}

/// A JSON body, or a 400 saying what is wrong with it.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body).map_err(|e| ApiError::BadRequest(e.body_text()))
}
