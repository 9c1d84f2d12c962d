//! A tenant's payment provider as JSON: set it (the dashboard form's fields; the secrets
//! are sealed at rest and never answered back), its switch history, and "test connection"
//! (a call that moves no money).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::{TenantQuery, body};
use crate::http::AppState;
use crate::http::dashboard::settings::{ProviderForm, config, keeping_base_url};
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::providers::ProviderKind;

/// How many switches the history answers at most.
const HISTORY: u32 = 100;

/// `PUT /api/v1/provider` `{"kind": "daraja_paybill"|"daraja_till"|"payhero"|"paystack",
/// ...its fields..., "rotate_webhook"?: bool}` (Daraja: `consumer_key`, `consumer_secret`,
/// `short_code`, `passkey`, and `till_number` for a till; PayHero: `username`, `password`,
/// `channel_id`; Paystack: `secret_key`): `{"provider", "webhook_url"}`. The webhook URL
/// (it carries the callback token) is given only when a new one was made for Paystack, whose
/// owners paste it on Paystack's dashboard; otherwise null. A base URL the operator set for
/// the tenant stays.
pub async fn set_provider(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    form: Result<Json<ProviderForm>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let form = body(form)?;
    let wanted = config(&form).map_err(ApiError::BadRequest)?;
    let wanted = keeping_base_url(&state.payments, tenant.id, wanted).await.map_err(|e| ApiError::Internal(e.into()))?;
    let set =
        state.payments.set_tenant_provider(tenant.id, &wanted, form.rotate_webhook).await.map_err(|e| ApiError::Internal(e.into()))?;
    let detail = format!("{}{}", set.kind.as_str(), if set.webhook_url.is_some() { ", new webhook URL" } else { "" });
    operator.audit(&state, "provider.set", None, &detail).await;
    let webhook_url = set.webhook_url.filter(|_| set.kind == ProviderKind::Paystack);
    Ok(Json(json!({ "provider": set.kind.as_str(), "webhook_url": webhook_url })))
}

/// `GET /api/v1/provider`: the current provider and every switch, newest first:
/// `{"current": {"provider", "at"} | null, "changes": [{"provider", "at"}]}` (`at`: Unix ms).
pub async fn provider(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    let (current, changes) = tokio::try_join!(store.current_provider(tenant.id), store.provider_changes(tenant.id, HISTORY))?;
    let change = |(kind, at): (ProviderKind, i64)| json!({ "provider": kind.as_str(), "at": at });
    Ok(Json(json!({ "current": current.map(change), "changes": changes.into_iter().map(change).collect::<Vec<_>>() })))
}

/// `POST /api/v1/provider/check`: the provider's "test connection" (a call that moves no
/// money): `{"provider", "ok", "said"}`, `said` being what the provider answered or why it
/// refused; 404 without a provider.
pub async fn check_provider(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let checked = state.payments.check_provider(tenant.id).await.map_err(|e| ApiError::Internal(e.into()))?;
    let Some((kind, answer)) = checked else { return Err(ApiError::NotFound("provider".into())) };
    let (ok, said) = match answer {
        None => (Value::Null, json!("this provider has no test call that moves no money: the first payment will tell")),
        Some(Ok(said)) => (json!(true), json!(said)),
        Some(Err(error)) => (json!(false), json!(error.to_string())),
    };
    tracing::info!(token = operator.0.id.as_str(), tenant = %tenant.id, provider = kind.as_str(), ok = %ok, "provider checked");
    Ok(Json(json!({ "provider": kind.as_str(), "ok": ok, "said": said })))
}
