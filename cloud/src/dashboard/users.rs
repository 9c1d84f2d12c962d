//! Hotspot users: every paid plan's user with its device, phone, plan, times, the data it
//! used (when its router reports it) and its state on the router, and the owner's actions on each (extend, end now, move to a device).

use maud::{Markup, html};

use super::overview::masked_phone;
use super::{Frame, Nav, csrf_field, page};
use crate::model::CommandState;
use crate::store::users::UserLine;

/// A user's state on the router, in words and colour.
pub fn router_state(line: &UserLine, now_secs: i64) -> (&'static str, &'static str) {
    let removing = line.command_kind.as_deref() == Some("remove_hotspot_user");
    match (removing, line.command) {
        (true, Some(CommandState::Applied)) => ("removed", ""),
        (_, Some(CommandState::Failed)) => ("failed", "bad"),
        (true, _) => ("pending", "wait"),
        _ if line.entitlement.expires_at <= now_secs => ("expired", ""),
        (false, Some(CommandState::Queued | CommandState::Delivered | CommandState::Received)) => ("pending", "wait"),
        (false, _) => ("applied", "ok"),
    }
}

/// What the users page shows.
pub struct UsersPage<'a> {
    /// The users, each with its created and expiry times already written in the tenant's zone.
    pub users: &'a [(UserLine, String, String)],
    /// Now, Unix seconds.
    pub now_secs: i64,
    /// The filter as typed: search text and whether expired users are shown.
    pub search: &'a str,
    /// Whether ended users are listed too.
    pub all: bool,
    /// The link to the next page, if any.
    pub older: Option<String>,
    /// A notice (an action done) or an error.
    pub notice: Option<(bool, String)>,
}

/// The page.
pub fn users(frame: &Frame, view: &UsersPage<'_>) -> Markup {
    let staff = frame.role == crate::model::Role::Staff;
    page(
        "Hotspot users",
        frame,
        Nav::Users,
        html! {
            h1 { "Hotspot users" }
            @if let Some((ok, text)) = &view.notice { div class=(if *ok { "ok-msg" } else { "err" }) role="status" { (text) } }
            form.row method="get" action="/dashboard/users" {
                input name="q" value=(view.search) placeholder="User, phone or device MAC" aria-label="Search";
                label { input type="checkbox" name="all" value="1" checked[view.all] style="width:auto"; " include ended" }
                button type="submit" { "Show" }
            }
            div.scroll {
                table #users {
                    thead { tr { th { "User" } th { "Plan" } th { "Router" } th { "Device" } th { "Phone" } th { "Bought" } th { "Ends" } th { "Data used" } th { "On the router" } th { "Actions" } } }
                    tbody {
                        @for (line, created, expires) in view.users {
                            @let (state, class) = router_state(line, view.now_secs);
                            @let id = line.entitlement.id;
                            tr {
                                td { code { (line.entitlement.username) } br; a.muted href={ "/dashboard/transactions/" (line.entitlement.payment_id) } { "payment" } }
                                td { (line.plan_name) }
                                td { (line.router_name) }
                                td { code { (line.entitlement.device_mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into())) } }
                                td { @if staff { (masked_phone(&line.msisdn)) } @else { (line.msisdn) } }
                                td { (created) }
                                td { (expires) }
                                td.data { (line.usage.map_or_else(|| "-".to_string(), |u| u.describe())) }
                                td { span class={ "st " (class) } { (state) } }
                                td {
                                    form.row method="post" action={ "/dashboard/users/" (id) "/extend" } {
                                        (csrf_field(&frame.csrf))
                                        select name="by" aria-label="Extend by" style="width:auto" {
                                            option value="1h" { "1 hour" } option value="1d" { "1 day" } option value="7d" { "7 days" }
                                        }
                                        button.quiet type="submit" { "Extend" }
                                    }
                                    @if state != "removed" && state != "expired" {
                                        form method="post" action={ "/dashboard/users/" (id) "/end" } {
                                            (csrf_field(&frame.csrf))
                                            button.danger type="submit" { "End now" }
                                        }
                                        form.row method="post" action={ "/dashboard/users/" (id) "/move" } {
                                            (csrf_field(&frame.csrf))
                                            input name="mac" placeholder="AA:BB:CC:DD:EE:FF" aria-label="New device MAC" style="width:11rem";
                                            button.quiet type="submit" { "Move" }
                                        }
                                    }
                                }
                            }
                        }
                        @if view.users.is_empty() { tr { td colspan="10" .muted { "No hotspot users." } } }
                    }
                }
            }
            @if let Some(older) = &view.older { p { a href=(older) { "Older users →" } } }
        },
    )
}
