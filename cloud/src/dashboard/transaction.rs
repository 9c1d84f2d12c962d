//! One payment (`/dashboard/transactions/{id}`): what it was, its whole timeline in the
//! tenant's zone (the money side from its timeline events, the router side from the
//! outbox commands that carry its hotspot user), and the actions on it: ask the provider
//! now, settle by hand (owner only), resend to the router.

use maud::{Markup, html};

use super::overview::state_badge;
use super::transactions::phone_for;
use super::{Frame, Nav, csrf_field, kes, page};
use crate::model::{CommandState, PaymentEvent, PaymentState, Role, StoredCommand};
use crate::store::dashboard::PaymentLine;
use jasiyo_shared::Outcome;

/// Which side of the path an entry is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The payment and its provider.
    Money,
    /// The router (the outbox and the agent).
    Router,
}

/// One line of the merged timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Unix ms.
    pub at: i64,
    /// Which side.
    pub side: Side,
    /// What happened, in a few words.
    pub what: String,
    /// The details (the provider's or the router's words).
    pub detail: String,
}

fn command_name(command: &StoredCommand) -> String {
    let what = match command.command.kind() {
        "upsert_hotspot_user" => "create the hotspot user",
        "upsert_hotspot_user_in_profile" => "create the hotspot user in its plan's profile",
        "login_device" => "log the device in",
        other => other,
    };
    format!("command #{} ({what})", command.seq.0)
}

/// The payment's events and its commands' steps in one list, oldest first (stable: a
/// payment event comes before a command step at the same millisecond).
pub fn timeline(events: &[PaymentEvent], commands: &[StoredCommand]) -> Vec<Entry> {
    let mut entries: Vec<Entry> =
        events.iter().map(|e| Entry { at: e.at, side: Side::Money, what: e.kind.replace('_', " "), detail: e.detail.clone() }).collect();
    for c in commands {
        let name = command_name(c);
        let mut step = |at: Option<i64>, what: &str, detail: String| {
            if let Some(at) = at {
                entries.push(Entry { at, side: Side::Router, what: what.into(), detail });
            }
        };
        step(Some(c.created_at), "command enqueued", name.clone());
        step(c.delivered_at, "delivered to the agent", name.clone());
        step(c.received_at, "received by the agent", name.clone());
        match &c.outcome {
            Some(Outcome::Applied { note }) => step(
                c.finished_at,
                "applied on the router",
                format!("{name}{}", note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()),
            ),
            Some(Outcome::Failed { message }) => step(c.finished_at, "router error", format!("{name}: {message}")),
            None if c.state == CommandState::Failed => step(c.finished_at, "router error", name.clone()),
            None => {}
        }
    }
    entries.sort_by_key(|e| (e.at, e.side == Side::Router));
    entries
}

/// What an action left to say on the page (a fixed set: nothing from the URL is shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Asked the provider; its answer is on the timeline.
    Rechecked,
    /// Settled by hand.
    Settled,
    /// Sent to the router again.
    Resent,
    /// It is paid already.
    AlreadyPaid,
    /// No provider reference to ask about.
    NoReference,
    /// The provider did not answer.
    ProviderDown,
    /// The receipt or reason was not acceptable.
    BadSettle,
    /// Not paid: nothing to send.
    NotPaid,
    /// The router has it already.
    AlreadyApplied,
    /// The plan ended.
    Expired,
    /// Something failed on our side.
    Failed,
}

const NOTICES: [(Notice, &str, bool, &str); 11] = [
    (Notice::Rechecked, "rechecked", true, "The provider was asked; its answer is on the timeline."),
    (Notice::Settled, "settled", true, "Recorded as paid; the plan is on its way to the router."),
    (Notice::Resent, "resent", true, "The hotspot user was sent to the router again."),
    (Notice::AlreadyPaid, "already_paid", false, "This payment is already paid."),
    (
        Notice::NoReference,
        "no_reference",
        false,
        "The provider cannot be asked about this payment (it never answered the request). Check the M-Pesa statement and settle it by hand.",
    ),
    (Notice::ProviderDown, "provider_down", false, "The provider did not answer. Try again in a minute."),
    (Notice::BadSettle, "bad_settle", false, "A receipt is 4 to 20 letters and digits as on the M-Pesa message, and a reason is needed."),
    (Notice::NotPaid, "not_paid", false, "Only a paid payment has a hotspot user to send."),
    (Notice::AlreadyApplied, "already_applied", false, "The router already has this payment's hotspot user."),
    (Notice::Expired, "expired", false, "This payment's plan has ended."),
    (Notice::Failed, "failed", false, "Something went wrong on our side; nothing was changed. Try again."),
];

impl Notice {
    /// Its code in the page's URL.
    pub fn code(self) -> &'static str {
        NOTICES.iter().find(|n| n.0 == self).map_or("failed", |n| n.1)
    }

    /// Reads a code.
    pub fn parse(code: &str) -> Option<Notice> {
        NOTICES.iter().find(|n| n.1 == code).map(|n| n.0)
    }

    fn shown(self) -> (bool, &'static str) {
        NOTICES.iter().find(|n| n.0 == self).map_or((false, ""), |n| (n.2, n.3))
    }
}

/// What the detail page shows.
pub struct DetailView {
    /// The payment with its router's and plan's names.
    pub line: PaymentLine,
    /// Its start, in the tenant's zone.
    pub started: String,
    /// The merged timeline, each entry's time shown in the tenant's zone.
    pub timeline: Vec<(String, Entry)>,
    /// The hotspot user it bought and until when.
    pub user: Option<(String, String)>,
    /// What the last action left to say.
    pub notice: Option<Notice>,
}

/// A timeline detail as this person may see it: the payment's phone (written as stored,
/// or locally as `07...`) masked for staff, as everywhere else.
pub fn hide_phone(role: Role, msisdn: &str, detail: &str) -> String {
    if role != Role::Staff || msisdn.len() < 4 {
        return detail.to_string();
    }
    let local = format!("0{}", &msisdn[3..]);
    detail.replace(msisdn, &phone_for(role, msisdn)).replace(&local, &phone_for(role, msisdn))
}

/// The detail page.
pub fn detail(frame: &Frame, view: &DetailView) -> Markup {
    let p = &view.line.payment;
    let action = |what: &str| format!("/dashboard/transactions/{}/{what}", p.id);
    page(
        "Payment",
        frame,
        Nav::Transactions,
        html! {
            p { a href="/dashboard/transactions" { "← Transactions" } }
            h1 { (kes(i64::from(p.amount_kes))) " from " (phone_for(frame.role, &p.msisdn)) " " (state_badge(p.state)) }
            @if let Some(notice) = view.notice {
                @let (ok, text) = notice.shown();
                div class=(if ok { "ok-msg" } else { "err" }) #notice { (text) }
            }
            div.box #facts {
                table { tbody {
                    tr { th { "Started" } td { (view.started) } }
                    tr { th { "Router" } td { (view.line.router_name) } }
                    tr { th { "Plan" } td { (view.line.plan_name) } }
                    tr { th { "Provider" } td { (p.provider.as_str()) } }
                    tr { th { "M-Pesa receipt" } td { code { (p.receipt.as_deref().unwrap_or("—")) } } }
                    @if let Some(reason) = &p.reason { tr { th { "Reason" } td { (reason) } } }
                    @if let Some((user, until)) = &view.user { tr { th { "Hotspot user" } td { code { (user) } " until " (until) } } }
                    tr { th { "Payment id" } td { code { (p.id) } } }
                } }
            }
            h2 { "Timeline" }
            div.scroll {
                table #timeline {
                    thead { tr { th { "Time" } th { "Side" } th { "What" } th { "Details" } } }
                    tbody {
                        @for (time, e) in &view.timeline {
                            tr {
                                td { (time) }
                                td { @if e.side == Side::Router { "router" } @else { "payment" } }
                                td { (e.what) }
                                td { (hide_phone(frame.role, &p.msisdn, &e.detail)) }
                            }
                        }
                    }
                }
            }
            h2 { "Actions" }
            div.box.row {
                @if p.state != PaymentState::Paid {
                    form method="post" action=(action("recheck")) {
                        (csrf_field(&frame.csrf))
                        button type="submit" #recheck { "Ask the provider now" }
                    }
                }
                @if p.state == PaymentState::Paid {
                    form method="post" action=(action("resend")) {
                        (csrf_field(&frame.csrf))
                        button.quiet type="submit" #resend { "Resend to router" }
                    }
                }
            }
            @if frame.role == Role::Owner && p.state != PaymentState::Paid {
                h2 { "Settle by hand" }
                form.box.stack method="post" action=(action("settle")) #settle {
                    (csrf_field(&frame.csrf))
                    p.muted { "Only after checking the M-Pesa statement: the customer gets their plan, and your reason stays on this payment's record." }
                    label for="receipt" { "M-Pesa receipt" }
                    input #receipt name="receipt" required maxlength="20";
                    label for="reason" { "Reason" }
                    input #reason name="reason" required maxlength="200";
                    p { button.danger type="submit" { "Record as paid" } }
                }
            }
        },
    )
}

/// The page for an unknown payment (or another tenant's: the same answer).
pub fn not_found(frame: &Frame) -> Markup {
    page(
        "Not found",
        frame,
        Nav::Transactions,
        html! {
            h1 { "No such payment" }
            p { "There is no payment with this id in your business. " a href="/dashboard/transactions" { "See all transactions" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_never_read_the_phone_in_a_timeline() {
        let detail = "20 KES from 254712345678 via daraja (0712345678)";
        assert_eq!(hide_phone(Role::Staff, "254712345678", detail), "20 KES from •••••••••678 via daraja (•••••••••678)");
        assert_eq!(hide_phone(Role::Owner, "254712345678", detail), detail);
    }
}
