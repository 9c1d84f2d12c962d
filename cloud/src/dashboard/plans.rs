//! The plans pages (the owner's): the list in the portal's order with up/down buttons and
//! enable/disable, the form to create or edit one, and a preview of what customers see on
//! the portal (the active plans in that order, drawn with the portal's own markup and CSS;
//! the portal itself draws them with its own script).

use std::time::Duration;

use maud::{Markup, PreEscaped, html};

use super::{Frame, Nav, csrf_field, kes, page};
use crate::model::Plan;
use crate::portal::plan_card;

/// A plan's duration as an owner types it: `1h`, `1day`, `30m`.
pub fn duration_text(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

/// What a plan form holds (the values typed, kept when the form is refused).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct PlanFields {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Price in KES.
    #[serde(default)]
    pub price_kes: String,
    /// Duration (`1h`, `1d`).
    #[serde(default)]
    pub duration: String,
    /// Data allowance in MB (empty: unlimited).
    #[serde(default)]
    pub data_mb: String,
    /// Rate limit (`2M/5M`).
    #[serde(default)]
    pub rate_limit: String,
    /// RouterOS user profile.
    #[serde(default)]
    pub profile: String,
    /// Devices per login (empty: one).
    #[serde(default)]
    pub shared_users: String,
}

impl PlanFields {
    /// The fields of an existing plan.
    pub fn of(plan: &Plan) -> PlanFields {
        PlanFields {
            name: plan.name.clone(),
            price_kes: plan.price_kes.to_string(),
            duration: duration_text(plan.duration_secs),
            data_mb: plan.data_mb.map(|m| m.to_string()).unwrap_or_default(),
            rate_limit: plan.rate_limit.clone().unwrap_or_default(),
            profile: plan.profile.clone().unwrap_or_default(),
            shared_users: plan.shared_users.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

/// The form, posting to `action`.
fn plan_form(frame: &Frame, action: &str, fields: &PlanFields, button: &str) -> Markup {
    html! {
        form.stack.box method="post" action=(action) {
            (csrf_field(&frame.csrf))
            label for="name" { "Name (shown to customers)" }
            input #name name="name" required maxlength="40" value=(fields.name) placeholder="1 hour";
            label for="price_kes" { "Price (KES)" }
            input #price_kes name="price_kes" required inputmode="numeric" value=(fields.price_kes) placeholder="20";
            label for="duration" { "Duration" }
            input #duration name="duration" required value=(fields.duration) placeholder="1h, 1day, 30m";
            label for="data_mb" { "Data allowance in MB (empty: unlimited)" }
            input #data_mb name="data_mb" inputmode="numeric" value=(fields.data_mb);
            label for="rate_limit" { "Speed limit, upload/download (e.g. 2M/5M; empty: no limit)" }
            input #rate_limit name="rate_limit" value=(fields.rate_limit);
            label for="shared_users" { "Devices per login (empty: 1)" }
            input #shared_users name="shared_users" inputmode="numeric" value=(fields.shared_users);
            label for="profile" { "Your own RouterOS user profile (optional; its settings then apply instead of the two above)" }
            input #profile name="profile" value=(fields.profile);
            p { button type="submit" { (button) } }
        }
    }
}

/// What the portal shows of these plans: the active ones in the owner's order, drawn with
/// the portal's own markup and CSS rules for its plan buttons (its script draws the same).
fn preview(plans: &[Plan]) -> Markup {
    html! {
        style { (PreEscaped(plan_card::css("#preview"))) }
        div.box #preview style="max-width:480px" {
            @for (i, plan) in plans.iter().filter(|p| p.active).enumerate() {
                label.plan for={ "preview-" (i) } {
                    input type="radio" name="preview" id={ "preview-" (i) } value=(plan.id);
                    span.price { "KES " (plan.price_kes) }
                    span.pname { (plan.name) }
                    span.pdet { (plan_card::details(plan)) }
                }
            }
            @if !plans.iter().any(|p| p.active) { p.muted { "No plan is on sale: the portal has nothing to offer." } }
        }
    }
}

/// The "up" and "down" buttons of the plan at `index` of `count` (forms, so they work
/// without JavaScript).
fn order_buttons(frame: &Frame, plan: &Plan, index: usize, count: usize) -> Markup {
    html! {
        @for (to, label, title, shown) in [("up", "\u{2191}", "Earlier on the portal", index > 0), ("down", "\u{2193}", "Later on the portal", index + 1 < count)] {
            @if shown {
                form style="display:inline" method="post" action={ "/dashboard/plans/" (plan.id) "/move" } {
                    (csrf_field(&frame.csrf))
                    input type="hidden" name="to" value=(to);
                    button.quiet type="submit" title=(title) aria-label={ (title) ": " (plan.name) } { (label) }
                }
            }
        }
    }
}

/// The plans page: list, create form, preview.
pub fn plans_page(frame: &Frame, plans: &[Plan], fields: &PlanFields, error: Option<&str>) -> Markup {
    page(
        "Plans",
        frame,
        Nav::Plans,
        html! {
            h1 { "Plans" }
            @if let Some(error) = error { div.err { (error) } }
            div.scroll {
                table #plans {
                    thead { tr { th { "Order" } th { "Name" } th.num { "Price" } th { "Duration" } th { "Data" } th { "Speed" } th { "Devices" } th { "Profile" } th { "On sale" } th {} } }
                    tbody {
                        @for (index, plan) in plans.iter().enumerate() {
                            tr {
                                td.order { (order_buttons(frame, plan, index, plans.len())) }
                                td { a href={ "/dashboard/plans/" (plan.id) } { (plan.name) } }
                                td.num { (kes(i64::from(plan.price_kes))) }
                                td { (duration_text(plan.duration_secs)) }
                                td { (plan.data_mb.map_or("unlimited".to_string(), |m| format!("{m} MB"))) }
                                td { (plan.rate_limit.as_deref().unwrap_or("-")) }
                                td { (plan.shared_users.unwrap_or(1)) }
                                td { (plan.profile.clone().or_else(|| plan.managed_profile().map(|p| p.name)).unwrap_or_else(|| "default".into())) }
                                td { @if plan.active { span.st.ok { "on sale" } } @else { span.st { "disabled" } } }
                                td {
                                    form method="post" action={ "/dashboard/plans/" (plan.id) "/active" } {
                                        (csrf_field(&frame.csrf))
                                        input type="hidden" name="active" value=(if plan.active { "no" } else { "yes" });
                                        button.quiet type="submit" { @if plan.active { "Disable" } @else { "Enable" } }
                                    }
                                }
                            }
                        }
                        @if plans.is_empty() { tr { td colspan="9" .muted { "No plans yet." } } }
                    }
                }
            }
            h2 { "New plan" }
            (plan_form(frame, "/dashboard/plans", fields, "Create plan"))
            h2 { "What customers see on the portal" }
            (preview(plans))
        },
    )
}

/// One plan's edit page.
pub fn plan_page(frame: &Frame, plan: &Plan, fields: &PlanFields, error: Option<&str>) -> Markup {
    page(
        &plan.name,
        frame,
        Nav::Plans,
        html! {
            h1 { "Plan " (plan.name) }
            p { a href="/dashboard/plans" { "All plans" } }
            @if let Some(error) = error { div.err { (error) } }
            p.muted { "Payments already started keep the price they were started with." }
            (plan_form(frame, &format!("/dashboard/plans/{}", plan.id), fields, "Save"))
        },
    )
}
