//! The alerts page (every member) and the owner's changes to where alerts go and when they
//! open: the webhook (its URL checked, a new signing secret made, sealed at rest and shown
//! once) and the
//! thresholds. Every query is scoped to the member's tenant; every change is audited
//! (the URL, never the secret).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::render;
use super::routers::internal;
use super::session::{Form, Member, Owner};
use crate::accounts::Accounts;
use crate::alerts::deliver::check_webhook_url;
use crate::alerts::secret::new_webhook;
use crate::dashboard::alerts::{AlertLine, AlertsData, alerts_page};
use crate::payments::Payments;
use crate::store::Store;
use crate::store::alerts::{Alert, Thresholds};

/// How many closed alerts the page lists.
const CLOSED_SHOWN: u32 = 30;

async fn show(store: &dyn Store, member: &Member, mut data: AlertsData, status: StatusCode, headers: &HeaderMap) -> Response {
    let tenant = member.tenant.id;
    let (open, closed, settings) =
        match tokio::try_join!(store.open_alerts(Some(tenant)), store.closed_alerts(tenant, CLOSED_SHOWN), store.alert_settings(tenant)) {
            Ok(found) => found,
            Err(error) => return internal(error),
        };
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let line = |alert: Alert| -> AlertLine {
        let opened = crate::time::show_ms(alert.opened_at, &tz);
        let closed = alert.closed_at.map(|at| crate::time::show_ms(at, &tz));
        (alert, opened, closed)
    };
    data.open = open.into_iter().map(line).collect();
    data.closed = closed.into_iter().map(line).collect();
    data.thresholds = settings.thresholds;
    data.webhook_url = settings.webhook.map(|w| w.url);
    let frame = member.who.frame();
    render(&frame, status, alerts_page(&frame, &data), headers)
}

pub(super) async fn alerts(State(store): State<Arc<dyn Store>>, member: Member, headers: HeaderMap) -> Response {
    show(store.as_ref(), &member, AlertsData::default(), StatusCode::OK, &headers).await
}

#[derive(Deserialize)]
pub(super) struct WebhookForm {
    #[serde(default)]
    url: String,
}

pub(super) async fn set_webhook(
    State(accounts): State<Arc<Accounts>>,
    State(payments): State<Arc<Payments>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(form): Form<WebhookForm>,
) -> Response {
    let store = accounts.store().as_ref();
    let tenant = member.tenant.id;
    if form.url.trim().is_empty() {
        if let Err(error) = store.set_webhook(tenant, None).await {
            return internal(error);
        }
        accounts.record(Some(tenant), member.who.account.id, "alerts.webhook", "removed").await;
        let data = AlertsData { notice: Some("Alerts are no longer posted to a webhook.".into()), ..Default::default() };
        return show(store, &member, data, StatusCode::OK, &headers).await;
    }
    let url = match check_webhook_url(&form.url) {
        Ok(url) => url,
        Err(message) => {
            let data = AlertsData { error: Some(message), ..Default::default() };
            return show(store, &member, data, StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
        }
    };
    let (webhook, secret) = match new_webhook(payments.sealer(), tenant, url.clone()) {
        Ok(made) => made,
        Err(error) => return internal(error),
    };
    if let Err(error) = store.set_webhook(tenant, Some(&webhook)).await {
        return internal(error);
    }
    accounts.record(Some(tenant), member.who.account.id, "alerts.webhook", &url).await;
    let data = AlertsData { secret: Some(secret), notice: Some(format!("Alerts will be posted to {url}.")), ..Default::default() };
    show(store, &member, data, StatusCode::OK, &headers).await
}

#[derive(Deserialize)]
pub(super) struct ThresholdsForm {
    #[serde(default)]
    offline_minutes: String,
    #[serde(default)]
    quiet_hours: String,
    #[serde(default)]
    failures: String,
}

/// The thresholds the form describes, or what is wrong.
fn thresholds(form: &ThresholdsForm) -> Result<Thresholds, String> {
    // Out of range parses as 0, which the check refuses with the range.
    let number = |text: &str| text.trim().parse::<i64>().unwrap_or(0);
    Thresholds::checked(number(&form.offline_minutes), number(&form.quiet_hours), number(&form.failures))
}

pub(super) async fn set_thresholds(
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(form): Form<ThresholdsForm>,
) -> Response {
    let store = accounts.store().as_ref();
    let thresholds = match thresholds(&form) {
        Ok(thresholds) => thresholds,
        Err(message) => {
            let data = AlertsData { error: Some(message), ..Default::default() };
            return show(store, &member, data, StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
        }
    };
    if let Err(error) = store.set_thresholds(member.tenant.id, thresholds).await {
        return internal(error);
    }
    let detail =
        format!("offline {} min, quiet {} h, failures {}", thresholds.offline_minutes, thresholds.quiet_hours, thresholds.failures);
    accounts.record(Some(member.tenant.id), member.who.account.id, "alerts.thresholds", &detail).await;
    let data = AlertsData { notice: Some("Thresholds saved.".into()), ..Default::default() };
    show(store, &member, data, StatusCode::OK, &headers).await
}
