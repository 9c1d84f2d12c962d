//! A tenant's alerts as JSON: the open ones and the recently closed ones with the settings,
//! and the owner's changes to them: the thresholds, and the webhook (its URL checked, a new
//! signing secret made, sealed at rest and answered once). The audit names the URL, never
//! the secret.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{TenantQuery, body};
use crate::alerts::deliver::check_webhook_url;
use crate::alerts::secret::new_webhook;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::operator::Operator;
use crate::store::alerts::{Alert, Thresholds};

/// How many closed alerts the list answers, as the page shows.
const CLOSED_SHOWN: u32 = 30;

fn alert(alert: Alert) -> Value {
    json!({ "id": alert.id, "kind": alert.kind, "subject": alert.subject, "detail": alert.detail, "opened_at": alert.opened_at,
        "closed_at": alert.closed_at, "open_delivery": alert.open_delivery, "close_delivery": alert.close_delivery })
}

fn thresholds_json(t: Thresholds) -> Value {
    json!({ "offline_minutes": t.offline_minutes, "quiet_hours": t.quiet_hours, "failures": t.failures })
}

/// `GET /api/v1/alerts`: `{"open": [...], "closed": [...], "thresholds": {...},
/// "webhook_url"}`, closed ones most recently closed first (at most 30); times in Unix ms.
pub async fn alerts(operator: Operator, State(state): State<AppState>, Query(query): Query<TenantQuery>) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let store = state.hub.store();
    let (open, closed, settings) = tokio::try_join!(
        store.open_alerts(Some(tenant.id)),
        store.closed_alerts(tenant.id, CLOSED_SHOWN),
        store.alert_settings(tenant.id)
    )?;
    Ok(Json(json!({
        "open": open.into_iter().map(alert).collect::<Vec<_>>(),
        "closed": closed.into_iter().map(alert).collect::<Vec<_>>(),
        "thresholds": thresholds_json(settings.thresholds),
        "webhook_url": settings.webhook.map(|w| w.url),
    })))
}

#[derive(Deserialize)]
pub struct ThresholdsBody {
    offline_minutes: i64,
    quiet_hours: i64,
    failures: i64,
}

/// `PUT /api/v1/alerts/thresholds` `{"offline_minutes", "quiet_hours", "failures"}`: when
/// alerts open (router offline this long, no sales this many hours, this many failed
/// payments in 30 minutes); the thresholds as kept.
pub async fn set_thresholds(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    asked: Result<Json<ThresholdsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let asked = body(asked)?;
    let thresholds = Thresholds::checked(asked.offline_minutes, asked.quiet_hours, asked.failures).map_err(ApiError::BadRequest)?;
    state.hub.store().set_thresholds(tenant.id, thresholds).await?;
    let t = thresholds;
    let detail = format!("offline {} min, quiet {} h, failures {}", t.offline_minutes, t.quiet_hours, t.failures);
    operator.audit(&state, "alerts.thresholds", None, &detail).await;
    Ok(Json(thresholds_json(thresholds)))
}

#[derive(Deserialize)]
pub struct WebhookBody {
    /// Where alerts are posted; null or empty: nowhere.
    url: Option<String>,
}

/// `PUT /api/v1/alerts/webhook` `{"url"}`: alerts are posted there, signed with a new
/// secret: `{"webhook_url", "secret"}`, the secret shown only now. `{"url": null}` (or
/// empty) removes the webhook: `{"webhook_url": null}`.
pub async fn set_webhook(
    operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<TenantQuery>,
    asked: Result<Json<WebhookBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let tenant = operator.tenant(&state, query.tenant.as_deref()).await?;
    let asked = body(asked)?.url.unwrap_or_default();
    let store = state.hub.store();
    if asked.trim().is_empty() {
        store.set_webhook(tenant.id, None).await?;
        operator.audit(&state, "alerts.webhook", None, "removed").await;
        return Ok(Json(json!({ "webhook_url": null })));
    }
    let url = check_webhook_url(&asked).map_err(ApiError::BadRequest)?;
    let (webhook, secret) = new_webhook(state.payments.sealer(), tenant.id, url.clone()).map_err(|e| ApiError::Internal(e.into()))?;
    store.set_webhook(tenant.id, Some(&webhook)).await?;
    operator.audit(&state, "alerts.webhook", None, &url).await;
    Ok(Json(json!({ "webhook_url": url, "secret": secret })))
}
