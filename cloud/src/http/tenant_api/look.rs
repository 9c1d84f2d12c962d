//! How a tenant's captive portal looks, as JSON: the business name and the text settings
//! (welcome line, support phone, colour, language), each checked before anything is kept.
//! The logo is uploaded on the dashboard only (a file upload, not JSON); setting the text
//! keeps it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{TenantQuery, body};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::model::PortalLook;
use crate::store::StoreError;

fn look_json(business: &str, look: &PortalLook) -> Value {
    json!({ "business": business, "welcome": look.welcome, "support_phone": look.support_phone, "color": look.color,
        "language": look.language, "logo": look.logo.is_some() })
}

/// `GET /api/v1/portal-look`: `{"business", "welcome", "support_phone", "color",
/// "language", "logo": bool}` (whether a logo is set).
pub async fn look(operator: Operator, State(state): State<AppState>, Query(query): Query<TenantQuery>) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let look = state.hub.store().portal_look(tenant.id).await?;
    Ok(Json(look_json(&tenant.name, &look)))
}

#[derive(Deserialize)]
pub struct LookBody {
    /// The business name (1 to 80 characters, unique).
    business: String,
    welcome: Option<String>,
    support_phone: Option<String>,
    /// `#rrggbb`.
    color: Option<String>,
    /// `en` or `sw`.
    language: Option<String>,
}

/// `PUT /api/v1/portal-look` `{"business", "welcome"?, "support_phone"?, "color"?,
/// "language"?}`: a field left out or empty is cleared (the logo stays); the look as kept.
/// 409 when another business has the name.
pub async fn set_look(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    asked: Result<Json<LookBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let asked = body(asked)?;
    let text = |field: Option<String>| field.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let store = state.hub.store();
    let look = PortalLook {
        welcome: text(asked.welcome),
        support_phone: text(asked.support_phone),
        color: text(asked.color).map(|c| c.to_ascii_lowercase()),
        language: text(asked.language),
        logo: store.portal_look(tenant.id).await?.logo,
    };
    look.check().map_err(ApiError::BadRequest)?;
    let business = asked.business.trim();
    if business.is_empty() || business.chars().count() > 80 || business.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("Business name: 1 to 80 characters.".into()));
    }
    if business != tenant.name {
        match store.rename_tenant(tenant.id, business).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Err(ApiError::Conflict("Business name: another business has that name.".into())),
            Err(error) => return Err(error.into()),
        }
    }
    store.set_portal_look(tenant.id, &look).await?;
    operator.audit(&state, "portal_look", None, &format!("business {business:?}, logo {}", look.logo.is_some())).await;
    Ok(Json(look_json(business, &look)))
}
