//! The settings pages: the index (password, provider, staff, time zone) and the payment
//! provider's page. Secrets are write-only: a provider's credentials are never rendered
//! back, only which provider is set and since when.

use maud::{Markup, html};

use super::{Frame, Nav, csrf_field, page};
use crate::model::{Account, ProviderKind, Role};

/// What the settings index shows.
#[derive(Clone, Debug, Default)]
pub struct SettingsData {
    /// The tenant's people.
    pub accounts: Vec<Account>,
    /// The tenant's time zone.
    pub time_zone: String,
    /// An invitation link just made (shown once).
    pub invite_link: Option<String>,
    /// A message after a change.
    pub notice: Option<String>,
    /// What was refused.
    pub error: Option<String>,
}

/// The settings index.
pub fn settings_page(frame: &Frame, data: &SettingsData) -> Markup {
    let owner = frame.role == Role::Owner;
    page(
        "Settings",
        frame,
        Nav::Settings,
        html! {
            h1 { "Settings" }
            @if let Some(error) = &data.error { div.err { (error) } }
            @if let Some(notice) = &data.notice { div.ok-msg { (notice) } }
            ul {
                li { a href="/dashboard/settings/password" { "Change your password" } }
                @if owner { li { a href="/dashboard/settings/provider" { "Payment provider" } } }
                @if owner { li { a href="/dashboard/settings/portal" { "Portal: name, colours, logo" } } }
            }
            h2 { "People" }
            @if let Some(link) = &data.invite_link {
                div.box #invite-link {
                    p { "Send this link to the person you invited (it is shown only now, and works for 7 days):" }
                    pre { (link) }
                }
            }
            div.scroll {
                table #people {
                    thead { tr { th { "Name" } th { "E-mail" } th { "Role" } th { "State" } @if owner { th {} } } }
                    tbody {
                        @for a in &data.accounts {
                            tr {
                                td { (a.name) }
                                td { (a.email.as_str()) }
                                td { (a.role.as_str()) }
                                td {
                                    @if a.disabled_at.is_some() { span.st.bad { "disabled" } }
                                    @else if !a.has_password { span.st.wait { "invited" } }
                                    @else { span.st.ok { "active" } }
                                }
                                @if owner {
                                    td { @if a.role == Role::Staff && a.disabled_at.is_none() {
                                        form method="post" action={ "/dashboard/settings/staff/" (a.id) "/disable" } {
                                            (csrf_field(&frame.csrf)) button.quiet type="submit" { "Disable" }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                }
            }
            @if owner {
                h2 { "Invite staff" }
                p.muted { "Staff see routers, payments and hotspot users; they cannot change plans, the provider or routers." }
                form.stack.box method="post" action="/dashboard/settings/staff" {
                    (csrf_field(&frame.csrf))
                    label for="name" { "Name" }
                    input #name name="name" required maxlength="80";
                    label for="email" { "E-mail" }
                    input #email name="email" type="email" required;
                    p { button type="submit" { "Invite" } }
                }
                h2 { "Time zone" }
                form.stack.box method="post" action="/dashboard/settings/time-zone" {
                    (csrf_field(&frame.csrf))
                    label for="time_zone" { "Times are shown in (IANA name, e.g. Africa/Nairobi)" }
                    input #time_zone name="time_zone" required value=(data.time_zone);
                    p { button type="submit" { "Save" } }
                }
            } @else {
                p.muted { "Times are shown in " (data.time_zone) "." }
            }
        },
    )
}

/// What the provider page shows.
#[derive(Clone, Debug, Default)]
pub struct ProviderData {
    /// The current provider and when it was set (in the tenant's time zone).
    pub current: Option<(ProviderKind, String)>,
    /// Earlier settings, newest first: which provider, and when (in the tenant's time zone).
    pub history: Vec<(ProviderKind, String)>,
    /// The webhook URL to register, when one was just made (shown once).
    pub webhook_url: Option<String>,
    /// A message after a change.
    pub notice: Option<String>,
    /// What was refused.
    pub error: Option<String>,
}

fn field(name: &str, label: &str, secret: bool) -> Markup {
    html! {
        label for=(name) { (label) }
        @if secret { input id=(name) name=(name) type="password" autocomplete="off"; }
        @else { input id=(name) name=(name) autocomplete="off"; }
    }
}

/// The provider page: what is set, and the form to set one (every secret typed again).
pub fn provider_page(frame: &Frame, data: &ProviderData) -> Markup {
    page(
        "Payment provider",
        frame,
        Nav::Settings,
        html! {
            h1 { "Payment provider" }
            p { a href="/dashboard/settings" { "All settings" } }
            @if let Some(error) = &data.error { div.err { (error) } }
            @if let Some(notice) = &data.notice { div.ok-msg { (notice) } }
            div.box #current {
                @match &data.current {
                    Some((kind, when)) => {
                        p { "Payments go through " b { (kind.as_str()) } ", set on " (when) "." }
                        p.muted { "Its credentials are stored encrypted and are never shown again." }
                        form method="post" action="/dashboard/settings/provider/check" {
                            (csrf_field(&frame.csrf)) button.quiet type="submit" { "Test connection" }
                        }
                    }
                    None => { p { "No provider is set: the portal cannot take payments yet." } }
                }
            }
            @if !data.history.is_empty() {
                div.box #history {
                    h2 { "History" }
                    ul {
                        @for (kind, when) in &data.history { li { (when) ": " b { (kind.as_str()) } " set" } }
                    }
                }
            }
            @if let Some(url) = &data.webhook_url {
                div.box #webhook {
                    p { "Set this webhook URL on the Paystack dashboard (shown only now):" }
                    pre { (url) }
                }
            }
            h2 { "Set the provider" }
            form.stack.box method="post" action="/dashboard/settings/provider" {
                (csrf_field(&frame.csrf))
                label for="kind" { "Provider" }
                select #kind name="kind" {
                    option value="daraja_paybill" { "M-Pesa Daraja: Paybill" }
                    option value="daraja_till" { "M-Pesa Daraja: Till (Buy Goods)" }
                    option value="payhero" { "PayHero" }
                    option value="paystack" { "Paystack" }
                }
                fieldset {
                    legend { "Daraja" }
                    (field("consumer_key", "Consumer key", true))
                    (field("consumer_secret", "Consumer secret", true))
                    (field("short_code", "Business short code", false))
                    (field("passkey", "Passkey", true))
                    (field("till_number", "Till number (Till only)", false))
                }
                fieldset {
                    legend { "PayHero" }
                    (field("username", "API username", true))
                    (field("password", "API password", true))
                    (field("channel_id", "Channel id", false))
                    label { input type="checkbox" name="payhero_wallet" value="yes" style="width:auto"; " A PayHero wallet channel (not an M-Pesa paybill or till)" }
                }
                fieldset {
                    legend { "Paystack" }
                    (field("secret_key", "Secret key", true))
                }
                label { input type="checkbox" name="rotate_webhook" value="yes" style="width:auto"; " Make a new webhook URL (the old one stops working)" }
                p { button type="submit" { "Save provider" } }
            }
            p.muted { "Daraja and PayHero receive their callback address with every payment; only Paystack's webhook URL is entered on its dashboard." }
        },
    )
}
