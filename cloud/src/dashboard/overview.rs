//! The overview: today's and this month's sales, 30 days of sales as an inline SVG chart,
//! routers online and offline, and the last payments; it follows changes live (a small
//! script asks `/dashboard/live` and reloads when something changed; without script, the
//! page is simply current when loaded).

use maud::{Markup, PreEscaped, html};

use super::{Frame, Nav, kes, page};
use crate::store::dashboard::{DaySales, PaymentLine};
use crate::store::voucher_sales::SaleTotals;

/// What the overview shows.
#[derive(Clone, Debug, Default)]
pub struct OverviewData {
    /// Paid today: count and KES.
    pub today: (i64, i64),
    /// Paid this month: count and KES.
    pub month: (i64, i64),
    /// Cash (voucher) sales today and this month, apart from M-Pesa.
    pub cash: (SaleTotals, SaleTotals),
    /// The last 30 days, oldest first, each day present (zero when nothing sold), labelled.
    pub days: Vec<(String, DaySales)>,
    /// Routers online, offline.
    pub routers: (usize, usize),
    /// Open alerts.
    pub open_alerts: usize,
    /// The newest payments.
    pub recent: Vec<(String, PaymentLine)>,
    /// The change counter the live updates compare against.
    pub version: u64,
}

/// A state's label and colour class.
pub fn state_badge(state: crate::model::PaymentState) -> Markup {
    use crate::model::PaymentState::*;
    let (label, class) = match state {
        Paid => ("paid", "ok"),
        Initiated | Pending => ("waiting", "wait"),
        Cancelled => ("cancelled", "bad"),
        TimedOut => ("timed out", "bad"),
        Failed => ("failed", "bad"),
    };
    html! { span class={ "st " (class) } { (label) } }
}

/// A phone shown to staff: all but the last three digits hidden.
pub fn masked_phone(msisdn: &str) -> String {
    let keep = msisdn.len().saturating_sub(3);
    format!("{}{}", "•".repeat(keep.min(9)), &msisdn[keep..])
}

/// The chart: one bar a day, sized by KES, with the total as each bar's tooltip.
pub fn sales_chart(days: &[(String, DaySales)]) -> Markup {
    let (width, height, gap) = (600.0_f64, 140.0_f64, 2.0_f64);
    let top = days.iter().map(|(_, d)| d.kes).max().unwrap_or(0).max(1) as f64;
    let bar = if days.is_empty() { 0.0 } else { width / days.len() as f64 };
    html! {
        svg viewBox={ "0 0 " (width) " " (height + 18.0) } role="img" aria-label="Sales per day, last 30 days" {
            @for (i, (label, day)) in days.iter().enumerate() {
                @let h = (day.kes as f64 / top * height).max(if day.kes > 0 { 2.0 } else { 0.0 });
                rect x=(format!("{:.1}", i as f64 * bar + gap / 2.0)) y=(format!("{:.1}", height - h)) width=(format!("{:.1}", (bar - gap).max(1.0))) height=(format!("{:.1}", h)) fill="#0b6bcb" {
                    title { (label) ": " (kes(day.kes)) " (" (day.count) ")" }
                }
            }
            // Closed explicitly: inside SVG, `<line>` is not void, and the labels after an
            // unclosed one would be its children, never drawn.
            line x1="0" y1=(height) x2=(width) y2=(height) stroke="#b8c2cc" {}
            @if let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) {
                text x="0" y=(height + 14.0) font-size="11" fill="#5a6775" { (first) }
                text x=(width) y=(height + 14.0) font-size="11" fill="#5a6775" text-anchor="end" { (last) }
            }
        }
    }
}

/// "1 payment", "3 payments".
fn payments(count: i64) -> String {
    format!("{count} payment{}", if count == 1 { "" } else { "s" })
}

/// The overview page.
pub fn overview(frame: &Frame, data: &OverviewData) -> Markup {
    let staff = frame.role == crate::model::Role::Staff;
    page(
        "Overview",
        frame,
        Nav::Overview,
        html! {
            h1 { "Overview" }
            div.cards {
                div.card #today { div.l { "Today" } div.n { (kes(data.today.1)) } div.l { (payments(data.today.0)) } }
                div.card #month { div.l { "This month" } div.n { (kes(data.month.1)) } div.l { (payments(data.month.0)) } }
                div.card #cash {
                    div.l { "Cash (voucher) today" }
                    div.n { (kes(data.cash.0.kes)) }
                    div.l { (data.cash.0.count) " sold; this month " (kes(data.cash.1.kes)) " (" (data.cash.1.count) ")" }
                }
                div.card #routers {
                    div.l { "Routers" }
                    div.n { (data.routers.0) " online" }
                    div.l { @if data.routers.1 > 0 { span.st.bad { (data.routers.1) " offline" } } @else { "none offline" } }
                }
                div.card #alerts { div.l { "Open alerts" } div.n { (data.open_alerts) } div.l { a href="/dashboard/alerts" { "See alerts" } } }
            }
            h2 { "Sales, last 30 days" }
            div.box { (sales_chart(&data.days)) }
            h2 { "Latest payments" }
            div.scroll {
                table #recent {
                    thead { tr { th { "Time" } th { "Router" } th { "Plan" } th { "Phone" } th.num { "Amount" } th { "State" } } }
                    tbody {
                        @for (time, line) in &data.recent {
                            tr {
                                td { a href={ "/dashboard/transactions/" (line.payment.id) } { (time) } }
                                td { (line.router_name) }
                                td { (line.plan_name) }
                                td { @if staff { (masked_phone(&line.payment.msisdn)) } @else { (line.payment.msisdn) } }
                                td.num { (kes(i64::from(line.payment.amount_kes))) }
                                td { (state_badge(line.payment.state)) }
                            }
                        }
                        @if data.recent.is_empty() { tr { td colspan="6" .muted { "No payments yet." } } }
                    }
                }
            }
            (live_script(data.version, &frame.nonce))
        },
    )
}

/// Reloads the page when `/dashboard/live?since=<version>` says something changed (a held
/// long poll: it answers at once on a change, or after a while with nothing). The version
/// travels as a string: a 64-bit number loses its low digits in JavaScript, and a `since`
/// that never matches makes the poll answer at once, again and again.
pub fn live_script(version: u64, nonce: &str) -> Markup {
    html! {
        script nonce=(nonce) {
            (PreEscaped(format!(
                "(function(){{var v='{version}';function poll(){{fetch('/dashboard/live?since='+v,{{credentials:'same-origin'}}).then(function(r){{return r.ok?r.json():null}}).then(function(j){{if(j&&j.version!==v){{location.reload();return}}setTimeout(poll,j?0:5000)}}).catch(function(){{setTimeout(poll,5000)}})}}poll()}})();"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_see_the_last_three_digits() {
        assert_eq!(masked_phone("254712345678"), "•••••••••678");
        assert_eq!(masked_phone("12"), "12");
    }

    #[test]
    fn the_chart_axis_is_closed_before_its_labels() {
        let day = |day, kes| DaySales { day, count: 1, kes };
        let svg = sales_chart(&[("1 Dec".into(), day(1, 20)), ("2 Dec".into(), day(2, 0))]).into_string();
        let axis_end = svg.find("</line>").expect("the axis line is closed");
        assert!(axis_end < svg.find("<text").unwrap(), "{svg}");
    }

    #[test]
    fn one_payment_is_not_plural() {
        assert_eq!((payments(0).as_str(), payments(1).as_str(), payments(2).as_str()), ("0 payments", "1 payment", "2 payments"));
    }
}
