//! `GET /api/portal/payments/{id}/next?seen=<status>/<stage>`: the payment as soon as it is
//! no longer where the page last saw it (a long poll), so the page learns of the approval
//! and of each stage within milliseconds instead of at its next poll.
//!
//! A request wakes on any payment change in this instance and on its router's command
//! acknowledgements, and looks at the store at least every second whatever happens (changes
//! made by another cloud instance wake nothing here). It answers after [`HOLD`] at the
//! latest, or when the portal's countdown runs out, with the payment as it is.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::time::Instant;

use crate::http::AppState;
use crate::hub::HubEvent;
use crate::model::PaymentId;
use crate::payments::{PaymentView, PortalError};

/// The longest one request is held.
pub const HOLD: Duration = Duration::from_secs(8);
/// How often a held request looks at the store anyway.
const RECHECK: Duration = Duration::from_secs(1);

/// `?seen=<status>/<stage>`: where the page last saw the payment.
#[derive(Deserialize)]
pub struct NextQuery {
    seen: Option<String>,
}

/// Where a payment is, as the page compares it: `pending/waiting_for_approval`.
fn seen_key(view: &PaymentView) -> String {
    let stage = serde_json::to_value(view.stage).unwrap_or_default();
    format!("{}/{}", view.status.as_str(), stage.as_str().unwrap_or_default())
}

/// The handler.
pub async fn next(State(state): State<AppState>, Path(payment): Path<String>, Query(query): Query<NextQuery>) -> Result<Response, PortalError> {
    let not_found = || PortalError::BadRequest("no such payment".into());
    let payments = state.payments.as_ref().ok_or(PortalError::NoProvider)?;
    let id: PaymentId = payment.parse().map_err(|_| not_found())?;
    let router = payments.payment(id).await?.ok_or_else(not_found)?.router_id;
    let mut changes = payments.changes();
    let mut events = state.hub.subscribe();
    let started = Instant::now();
    loop {
        changes.borrow_and_update();
        let view = payments.view(id).await?.ok_or_else(not_found)?;
        // The countdown's end is news too: the page then says the prompt timed out.
        let countdown_left = if view.wait_secs > 0 { Duration::from_secs(view.wait_secs) } else { Duration::MAX };
        let deadline = started + HOLD.min(countdown_left);
        if query.seen.as_deref() != Some(seen_key(&view).as_str()) || Instant::now() >= deadline {
            return Ok(Json(view).into_response());
        }
        let recheck = tokio::time::sleep_until(deadline.min(Instant::now() + RECHECK));
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                _ = changes.changed() => break,
                _ = &mut recheck => break,
                event = events.recv() => match event {
                    Ok(HubEvent::Received(r, _) | HubEvent::Result(r, _) | HubEvent::Connected(r)) if r == router => break,
                    Ok(_) => continue,
                    // Lagged or closed: look at the store.
                    Err(_) => break,
                },
            }
        }
    }
}
