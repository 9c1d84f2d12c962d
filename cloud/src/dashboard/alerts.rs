//! The alerts page: open alerts first, then recently closed ones, times in the tenant's
//! zone; for the owner, the thresholds and the webhook forms. A webhook's signing secret is
//! shown once, when the webhook is set.

use maud::{Markup, html};

use super::{Frame, Nav, csrf_field, page};
use crate::model::Role;
use crate::store::alerts::{Alert, Thresholds};

/// An alert as listed: the alert, when it opened and (if it did) closed, as shown.
pub type AlertLine = (Alert, String, Option<String>);

/// What the alerts page shows.
#[derive(Clone, Default)]
pub struct AlertsData {
    /// Open alerts, oldest first.
    pub open: Vec<AlertLine>,
    /// Recently closed alerts, newest first.
    pub closed: Vec<AlertLine>,
    /// The tenant's thresholds.
    pub thresholds: Thresholds,
    /// The webhook URL set, if any (the owner's page only).
    pub webhook_url: Option<String>,
    /// The signing secret of a webhook just set (shown once).
    pub secret: Option<String>,
    /// A message after a change.
    pub notice: Option<String>,
    /// What was refused.
    pub error: Option<String>,
}

fn table(id: &str, lines: &[AlertLine], closed: bool) -> Markup {
    html! {
        div.scroll {
            table id=(id) {
                thead { tr { th { "Alert" } th { "What" } th { "Opened" } @if closed { th { "Closed" } } th { "Told" } } }
                tbody {
                    @for (alert, opened, closed_at) in lines {
                        tr.alert data-kind=(alert.kind) {
                            td { span.st.(if closed { "ok" } else { "bad" }) { (crate::alerts::title(&alert.kind)) } }
                            td { (alert.detail) }
                            td { (opened) }
                            @if closed { td { (closed_at.as_deref().unwrap_or("")) } }
                            td.muted { (alert.close_delivery.as_deref().filter(|_| closed).unwrap_or(&alert.open_delivery)) }
                        }
                    }
                }
            }
        }
    }
}

/// The alerts page.
pub fn alerts_page(frame: &Frame, data: &AlertsData) -> Markup {
    let owner = frame.role == Role::Owner;
    let t = &data.thresholds;
    page(
        "Alerts",
        frame,
        Nav::Alerts,
        html! {
            h1 { "Alerts" }
            @if let Some(error) = &data.error { div.err { (error) } }
            @if let Some(notice) = &data.notice { div.ok-msg { (notice) } }
            h2 { "Open (" (data.open.len()) ")" }
            @if data.open.is_empty() { p.muted #no-open { "Nothing needs your attention." } }
            @else { (table("open-alerts", &data.open, false)) }
            h2 { "Recently closed" }
            @if data.closed.is_empty() { p.muted { "None yet." } }
            @else { (table("closed-alerts", &data.closed, true)) }
            @if owner {
                h2 { "Webhook" }
                p.muted {
                    "Each alert, when it opens and closes, is also posted as JSON to this address, signed: the "
                    code { "X-Jasiyo-Signature" } " header is " code { "sha256=" } " and the hex HMAC-SHA256 of the body under your secret."
                }
                @if let Some(secret) = &data.secret {
                    div.box #webhook-secret {
                        p { "Your webhook's signing secret (shown only now; setting the webhook again makes a new one):" }
                        pre { (secret) }
                    }
                }
                form.stack.box method="post" action="/dashboard/alerts/webhook" {
                    (csrf_field(&frame.csrf))
                    label for="url" { "Webhook URL (https://...; leave empty to stop posting)" }
                    input #url name="url" value=(data.webhook_url.as_deref().unwrap_or(""));
                    p { button type="submit" { "Save webhook" } }
                }
                h2 { "Thresholds" }
                form.stack.box method="post" action="/dashboard/alerts/thresholds" {
                    (csrf_field(&frame.csrf))
                    label for="offline_minutes" { "A router is offline for more than (minutes)" }
                    input #offline_minutes name="offline_minutes" type="number" min="1" max="10080" value=(t.offline_minutes);
                    label for="quiet_hours" { "A router that usually sells has sold nothing for (hours)" }
                    input #quiet_hours name="quiet_hours" type="number" min="1" max="168" value=(t.quiet_hours);
                    label for="failures" { "Payments failed in the last 30 minutes (not the customer's doing)" }
                    input #failures name="failures" type="number" min="1" max="10000" value=(t.failures);
                    p { button type="submit" { "Save thresholds" } }
                }
            } @else {
                p.muted { "The owner sets the thresholds and where alerts are sent." }
            }
        },
    )
}
