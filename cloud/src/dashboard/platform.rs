//! The platform operator's view: every tenant with its routers online and offline, its
//! payments of the last 30 days per provider (started, paid, KES, failure rate), and
//! suspending or resuming a tenant.

use maud::{Markup, html};

use super::{Frame, Nav, csrf_field, kes, page};
use crate::model::Tenant;
use crate::store::platform::ProviderVolume;

/// One tenant's line.
pub struct TenantLine<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// Routers online, and all its unrevoked routers.
    pub routers: (usize, usize),
    /// Its volumes per provider.
    pub volumes: Vec<&'a ProviderVolume>,
}

/// Failures among started payments, as a percentage with one decimal.
pub fn failure_rate(volume: &ProviderVolume) -> String {
    if volume.started == 0 { "-".into() } else { format!("{:.1}%", volume.failed as f64 * 100.0 / volume.started as f64) }
}

/// The page.
pub fn platform(frame: &Frame, lines: &[TenantLine<'_>], notice: Option<&str>) -> Markup {
    let routers: (usize, usize) = lines.iter().fold((0, 0), |(o, t), l| (o + l.routers.0, t + l.routers.1));
    let paid_kes: i64 = lines.iter().flat_map(|l| &l.volumes).map(|v| v.paid_kes).sum();
    page(
        "Platform",
        frame,
        Nav::Platform,
        html! {
            h1 { "Platform" }
            @if let Some(notice) = notice { div.ok-msg role="status" { (notice) } }
            div.cards {
                div.card { div.l { "Tenants" } div.n { (lines.len()) } }
                div.card { div.l { "Routers online" } div.n { (routers.0) " / " (routers.1) } }
                div.card { div.l { "Paid, 30 days" } div.n { (kes(paid_kes)) } }
            }
            h2 { "Tenants (payments of the last 30 days)" }
            div.scroll {
                table #tenants {
                    thead { tr { th { "Tenant" } th { "Routers online" } th { "Provider" } th.num { "Started" } th.num { "Paid" } th.num { "KES" } th.num { "Failing" } th { "" } } }
                    tbody {
                        @for line in lines {
                            tr {
                                td { (line.tenant.name) @if line.tenant.suspended_at.is_some() { " " span.st.bad { "suspended" } } }
                                td { (line.routers.0) " / " (line.routers.1) }
                                td colspan="5" {
                                    @for v in &line.volumes {
                                        div { (v.provider) ": " (v.started) " started, " (v.paid) " paid, " (kes(v.paid_kes)) ", " (failure_rate(v)) " failing" }
                                    }
                                    @if line.volumes.is_empty() { span.muted { "no payments" } }
                                }
                                td {
                                    form method="post" action={ "/dashboard/platform/tenants/" (line.tenant.id) (if line.tenant.suspended_at.is_some() { "/resume" } else { "/suspend" }) } {
                                        (csrf_field(&frame.csrf))
                                        @if line.tenant.suspended_at.is_some() { button.quiet type="submit" { "Resume" } } @else { button.danger type="submit" { "Suspend" } }
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
