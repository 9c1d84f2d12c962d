//! The transactions list (`/dashboard/transactions`): every payment of the tenant with its
//! filters and search as a plain GET form (no script needed), totals of the filtered set,
//! "Older" keyset paging, and the CSV export's rows. The detail page is in
//! [`super::transaction`].

use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::overview::{masked_phone, state_badge};
use super::{Frame, Nav, kes, page};
use crate::model::{PaymentState, Role};
use crate::store::dashboard::{PaymentLine, Totals};
use crate::store::voucher_sales::SaleTotals;

/// Every state, in the order the filter offers them.
pub const STATES: [PaymentState; 6] = [
    PaymentState::Paid,
    PaymentState::Pending,
    PaymentState::Initiated,
    PaymentState::Cancelled,
    PaymentState::TimedOut,
    PaymentState::Failed,
];

/// The list's query string as typed (every field optional; empty means "any"): read by
/// the handler, given back to refill the form and to build the paging and export links.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    /// A state's stored name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A router id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// A plan id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// First day, `YYYY-MM-DD` in the tenant's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last day (included), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// A phone in any usual form, or an M-Pesa receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// The cursor: `<created_at>_<id>` of the last payment shown (`<sold_at>_<code>` of
    /// the last voucher sale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Which kind of transaction: M-Pesa payments (empty) or `voucher` (cash sales).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Filters {
    /// The query string of these filters without the cursor, empty values left out.
    pub fn without_cursor(&self) -> String {
        let keep = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let clean = Filters {
            state: keep(&self.state),
            router: keep(&self.router),
            plan: keep(&self.plan),
            from: keep(&self.from),
            to: keep(&self.to),
            q: keep(&self.q),
            before: None,
            kind: keep(&self.kind),
        };
        serde_urlencoded::to_string(&clean).unwrap_or_default()
    }

    /// The query string of the next page, starting after `cursor`.
    pub fn with_cursor(&self, cursor: &str) -> String {
        let base = self.without_cursor();
        let sep = if base.is_empty() { "" } else { "&" };
        format!("{base}{sep}before={}", cursor)
    }
}

/// What the list shows.
pub struct ListView {
    /// The filters as typed.
    pub filters: Filters,
    /// Why they were refused (the page is then shown without rows).
    pub error: Option<String>,
    /// The tenant's routers and plans: (id, name).
    pub routers: Vec<(String, String)>,
    /// The tenant's plans: (id, name).
    pub plans: Vec<(String, String)>,
    /// The page's payments with their time in the tenant's zone.
    pub lines: Vec<(String, PaymentLine)>,
    /// Totals of the whole filtered set.
    pub totals: Totals,
    /// Cash (voucher) sales with the same router, plan and days, kept apart from M-Pesa.
    pub vouchers: SaleTotals,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<String>,
}

/// The phone as this person may see it.
pub fn phone_for(role: Role, msisdn: &str) -> String {
    if role == Role::Staff { masked_phone(msisdn) } else { msisdn.to_string() }
}

fn select(name: &str, label: &str, chosen: Option<&str>, options: &[(String, String)]) -> Markup {
    html! {
        label { (label) br;
            select name=(name) {
                option value="" { "Any" }
                @for (value, text) in options {
                    option value=(value) selected[chosen == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

/// The two kinds, as tabs above the filters: M-Pesa payments and cash (voucher) sales.
pub fn kind_tabs(filters: &Filters, voucher: bool) -> Markup {
    let mpesa = Filters { kind: None, before: None, state: None, ..filters.clone() }.without_cursor();
    let cash = Filters { kind: Some(VOUCHER_KIND.into()), before: None, state: None, ..filters.clone() }.without_cursor();
    html! {
        p.row #kinds {
            a.btn.ghost[voucher] #kind-mpesa href={ "/dashboard/transactions" @if !mpesa.is_empty() { "?" (mpesa) } } { "M-Pesa" }
            a.btn.ghost[!voucher] #kind-voucher href={ "/dashboard/transactions?" (cash) } { "Cash (voucher)" }
        }
    }
}

/// The `kind` of cash sales by voucher.
pub const VOUCHER_KIND: &str = "voucher";

/// The filter form; `voucher`: the cash sales' (no payment state).
pub fn filter_form(view_filters: &Filters, routers: &[(String, String)], plans: &[(String, String)], voucher: bool) -> Markup {
    let f = view_filters;
    let states: Vec<(String, String)> = STATES.iter().map(|s| (s.as_str().to_string(), s.as_str().replace('_', " "))).collect();
    html! {
        form.box.row method="get" action="/dashboard/transactions" #filters {
            @if voucher {
                input type="hidden" name="kind" value=(VOUCHER_KIND);
            } @else {
                (select("state", "State", f.state.as_deref(), &states))
            }
            (select("router", "Router", f.router.as_deref(), routers))
            (select("plan", "Plan", f.plan.as_deref(), plans))
            label { "From" br; input type="date" name="from" value=[f.from.as_deref()]; }
            label { "To" br; input type="date" name="to" value=[f.to.as_deref()]; }
            @if voucher {
                label { "Voucher code" br; input type="search" name="q" value=[f.q.as_deref()] placeholder="ABCD-EFGH"; }
            } @else {
                label { "Phone or M-Pesa code" br; input type="search" name="q" value=[f.q.as_deref()] placeholder="0712 345 678"; }
            }
            button type="submit" { "Show" }
            a href="/dashboard/transactions" { "Clear" }
        }
    }
}

/// The transactions page.
pub fn list(frame: &Frame, view: &ListView) -> Markup {
    let query = view.filters.without_cursor();
    let export = if query.is_empty() { "/dashboard/transactions.csv".to_string() } else { format!("/dashboard/transactions.csv?{query}") };
    page(
        "Transactions",
        frame,
        Nav::Transactions,
        html! {
            h1 { "Transactions" }
            (kind_tabs(&view.filters, false))
            (filter_form(&view.filters, &view.routers, &view.plans, false))
            @if let Some(error) = &view.error {
                div.err #error { (error) }
            } @else {
                div.cards #totals {
                    div.card #t-count { div.l { "Payments" } div.n { (view.totals.count) } }
                    div.card #t-paid { div.l { "Paid" } div.n { (view.totals.paid) } }
                    div.card #t-kes { div.l { "Paid total" } div.n { (kes(view.totals.paid_kes)) } }
                    div.card #t-cash {
                        div.l { "Cash (voucher), apart" }
                        div.n { (kes(view.vouchers.kes)) }
                        div.l { a href={ "/dashboard/transactions?" (kind_tabs_query(&view.filters)) } { (view.vouchers.count) " sold" } }
                    }
                }
                p { a href=(export) #export { "Download as CSV" } }
                div.scroll {
                    table #payments {
                        thead { tr {
                            th { "Time" } th { "Router" } th { "Plan" } th { "Phone" } th.num { "Amount" }
                            th { "Provider" } th { "M-Pesa receipt" } th { "State" } th { "Reason" }
                        } }
                        tbody {
                            @for (time, line) in &view.lines {
                                @let p = &line.payment;
                                tr {
                                    td { a href={ "/dashboard/transactions/" (p.id) } { (time) } }
                                    td { (line.router_name) }
                                    td { (line.plan_name) }
                                    td { (phone_for(frame.role, &p.msisdn)) }
                                    td.num { (kes(i64::from(p.amount_kes))) }
                                    td { (p.provider.as_str()) }
                                    td { code { (p.receipt.as_deref().unwrap_or("")) } }
                                    td { (state_badge(p.state)) }
                                    td.muted { (p.reason.as_deref().unwrap_or("")) }
                                }
                            }
                            @if view.lines.is_empty() { tr { td colspan="9" .muted { "No payments match." } } }
                        }
                    }
                }
                @if let Some(cursor) = &view.older {
                    p { a.btn #older href={ "/dashboard/transactions?" (view.filters.with_cursor(cursor)) } { "Older" } }
                }
            }
        },
    )
}

fn kind_tabs_query(filters: &Filters) -> String {
    Filters { kind: Some(VOUCHER_KIND.into()), before: None, state: None, ..filters.clone() }.without_cursor()
}

/// The CSV export's header line.
pub const CSV_HEADER: &str = "time,router,plan,phone,amount_kes,provider,receipt,state,reason,payment_id\r\n";

/// One CSV field: quoted when it holds a separator, quote or line break; a leading
/// `=`, `+`, `-`, `@` (or tab, carriage return) is neutralised with a `'` so a spreadsheet
/// never reads it as a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// One payment as a CSV line (time already in the tenant's zone).
pub fn csv_line(role: Role, time: &str, line: &PaymentLine) -> String {
    let p = &line.payment;
    let fields = [
        time.to_string(),
        line.router_name.clone(),
        line.plan_name.clone(),
        phone_for(role, &p.msisdn),
        p.amount_kes.to_string(),
        p.provider.as_str().to_string(),
        p.receipt.clone().unwrap_or_default(),
        p.state.as_str().to_string(),
        p.reason.clone().unwrap_or_default(),
        p.id.to_string(),
    ];
    let mut out = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_escaped_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("+254"), "'+254");
        assert_eq!(csv_field("-3"), "'-3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
    }

    #[test]
    fn paging_links_keep_the_filters_but_not_empty_ones() {
        let f = Filters { state: Some("paid".into()), q: Some(String::new()), before: Some("1_x".into()), ..Filters::default() };
        assert_eq!(f.without_cursor(), "state=paid");
        assert_eq!(f.with_cursor("5_abc"), "state=paid&before=5_abc");
        assert_eq!(Filters::default().with_cursor("5_abc"), "before=5_abc");
    }
}
