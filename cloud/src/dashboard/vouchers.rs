//! The vouchers pages: the form to create a batch and the list of batches with their codes
//! counted by state; one batch with each code's state, first login, device and data used,
//! revoke, CSV and print links (with or without QR codes).

use maud::{Markup, html};

use super::{Frame, Nav, csrf_field, kes, page};
use crate::model::{Plan, Role, Router, VoucherBatch, VoucherCounts, VoucherLine};
use crate::vouchers::short;

/// A batch as the list shows it.
pub struct BatchRow<'a> {
    /// The batch.
    pub batch: &'a VoucherBatch,
    /// Its plan's name.
    pub plan: String,
    /// Its codes by state.
    pub counts: VoucherCounts,
    /// When it was created, in the tenant's zone.
    pub created: String,
}

/// What the vouchers page shows.
pub struct VouchersPage<'a> {
    /// The batches, newest first.
    pub batches: &'a [BatchRow<'a>],
    /// The tenant's plans (for the form).
    pub plans: &'a [Plan],
    /// The tenant's routers (for the form).
    pub routers: &'a [Router],
    /// What went wrong with the form, if anything.
    pub error: Option<&'a str>,
}

/// The list and the form.
pub fn vouchers_page(frame: &Frame, view: &VouchersPage<'_>) -> Markup {
    let owner = frame.role == Role::Owner;
    page(
        "Vouchers",
        frame,
        Nav::Vouchers,
        html! {
            h1 { "Vouchers" }
            p.muted { "Printed codes you sell for cash. Each batch is loaded onto your routers ahead of time, so codes work even while the internet link is down. A code's time starts at its first login." }
            @if let Some(error) = view.error { div.err role="alert" { (error) } }
            @let sold: u32 = view.batches.iter().map(|r| r.counts.in_use).sum();
            @let cash: i64 = view.batches.iter().map(|r| i64::from(r.counts.in_use) * i64::from(r.batch.price_kes.unwrap_or(0))).sum();
            div.cards {
                div.card { div.n #cash { (kes(cash)) } div.l { "Cash from vouchers used (kept apart from M-Pesa)" } }
                div.card { div.n #sold { (sold) } div.l { "Vouchers used" } }
            }
            @if owner { (create_form(frame, view)) }
            h2 { "Batches" }
            div.scroll {
                table #batches {
                    thead { tr { th { "Batch" } th { "Created" } th { "Plan" } th.num { "Codes" } th.num { "Sold (in use)" } th.num { "Unused" } th.num { "Expired" } th.num { "Revoked" } } }
                    tbody {
                        @for row in view.batches {
                            tr {
                                td { a href={ "/dashboard/vouchers/" (row.batch.id) } { code { (short(row.batch.id)) } } }
                                td { (row.created) }
                                td { (row.plan) }
                                td.num { (row.batch.count) }
                                td.num { (row.counts.in_use) }
                                td.num { (row.counts.unused) }
                                td.num { (row.counts.expired) }
                                td.num { (row.counts.revoked) }
                            }
                        }
                        @if view.batches.is_empty() { tr { td colspan="8" .muted { "No voucher batches yet." } } }
                    }
                }
            }
        },
    )
}

fn create_form(frame: &Frame, view: &VouchersPage<'_>) -> Markup {
    html! {
        form.stack.box #create method="post" action="/dashboard/vouchers" {
            (csrf_field(&frame.csrf))
            h2 { "New batch" }
            label for="plan" { "Plan" }
            select #plan name="plan" required {
                @for plan in view.plans { option value=(plan.id) { (plan.name) " (KES " (plan.price_kes) ")" } }
            }
            label for="count" { "How many codes (up to 5,000)" }
            input #count name="count" required inputmode="numeric" value="100";
            label for="length" { "Characters per code (7 to 16)" }
            input #length name="length" inputmode="numeric" value="8";
            label for="prefix" { "Prefix (optional, up to 6 letters and digits)" }
            input #prefix name="prefix" maxlength="6";
            label for="price" { "Price you sell each for, KES (optional, for your records)" }
            input #price name="price" inputmode="numeric";
            label for="valid_until" { "Unsold codes stop working after (optional)" }
            input #valid_until name="valid_until" type="date";
            fieldset {
                legend { "Load onto" }
                @for router in view.routers.iter().filter(|r| r.revoked_at.is_none()) {
                    label style="font-weight:normal" { input type="checkbox" name="router" value=(router.id) checked style="width:auto"; " " (router.name) }
                }
            }
            p { button type="submit" { "Create and load" } }
        }
    }
}

/// What one batch's page shows.
pub struct BatchPage<'a> {
    /// The batch.
    pub batch: &'a VoucherBatch,
    /// Its plan's name.
    pub plan: &'a str,
    /// The names of the routers it is loaded on.
    pub routers: &'a [String],
    /// Its codes, each with its first use written in the tenant's zone and the name of the
    /// second router it was used on, if any.
    pub codes: &'a [(VoucherLine, String, Option<String>)],
    /// Its codes by state.
    pub counts: VoucherCounts,
    /// A notice (an action done), if any.
    pub notice: Option<&'a str>,
}

/// One batch.
pub fn batch_page(frame: &Frame, view: &BatchPage<'_>) -> Markup {
    let owner = frame.role == Role::Owner;
    let id = view.batch.id;
    let c = view.counts;
    page(
        "Voucher batch",
        frame,
        Nav::Vouchers,
        html! {
            h1 { "Voucher batch " code { (short(id)) } }
            @if let Some(notice) = view.notice { div.ok-msg role="status" { (notice) } }
            p { (view.plan) " · " (view.batch.count) " codes · on " (view.routers.join(", "))
                @if let Some(price) = view.batch.price_kes { " · sold for KES " (price) " each" } }
            div.cards {
                div.card { div.n #in_use { (c.in_use) } div.l { "Sold (in use)" } }
                div.card { div.n #unused { (c.unused) } div.l { "Unused" } }
                div.card { div.n #expired { (c.expired) } div.l { "Expired" } }
                div.card { div.n #revoked { (c.revoked) } div.l { "Revoked" } }
            }
            p.row {
                a.btn href={ "/dashboard/vouchers/" (id) "/print" } { "Print cards (A4)" }
                a.btn #print_qr href={ "/dashboard/vouchers/" (id) "/print?qr=1" } { "Print cards with QR codes" }
                a.btn href={ "/dashboard/vouchers/" (id) "/csv" } { "Download CSV" }
                @if owner && view.batch.revoked_at.is_none() {
                    form method="post" action={ "/dashboard/vouchers/" (id) "/revoke" } {
                        (csrf_field(&frame.csrf))
                        button.danger type="submit" { "Revoke the whole batch" }
                    }
                }
            }
            div.scroll {
                table #codes {
                    thead { tr { th { "Code" } th { "State" } th { "First login" } th { "Device" } th { "Data used" } @if owner { th { "" } } } }
                    tbody {
                        @for (line, used, second) in view.codes {
                            tr {
                                td { code { (line.code.grouped()) } }
                                td {
                                    span.st { (line.state.as_str().replace('_', " ")) }
                                    @if let Some(second) = second {
                                        " " span.second { "also used on " (second) " at once: ended there" }
                                    }
                                }
                                td { (used) }
                                td { code { (line.device_mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into())) } }
                                td.used { (line.usage.map(|u| u.describe()).unwrap_or_else(|| "-".into())) }
                                @if owner {
                                    td {
                                        @if line.state != crate::model::VoucherState::Revoked {
                                            form method="post" action={ "/dashboard/vouchers/" (id) "/revoke" } {
                                                (csrf_field(&frame.csrf))
                                                input type="hidden" name="code" value=(line.code.as_str());
                                                button.quiet type="submit" { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
