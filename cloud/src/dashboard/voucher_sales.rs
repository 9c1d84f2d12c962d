//! Cash (voucher) sales in Transactions (`/dashboard/transactions?kind=voucher`): each
//! code's first use as a sale, with its batch's price, kept apart from M-Pesa payments
//! (own tab, own totals, own CSV). Staff see codes masked, as they see phones.

use maud::{Markup, html};

use super::transactions::{Filters, csv_field, filter_form, kind_tabs};
use super::{Frame, Nav, kes, page};
use crate::model::Role;
use crate::store::voucher_sales::{SaleTotals, VoucherSale};

/// What the cash sales list shows.
pub struct SalesView {
    /// The filters as typed.
    pub filters: Filters,
    /// Why they were refused (the page is then shown without rows).
    pub error: Option<String>,
    /// The tenant's routers: (id, name).
    pub routers: Vec<(String, String)>,
    /// The tenant's plans: (id, name).
    pub plans: Vec<(String, String)>,
    /// The page's sales with their time in the tenant's zone.
    pub sales: Vec<(String, VoucherSale)>,
    /// Totals of the whole filtered set.
    pub totals: SaleTotals,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<String>,
}

/// A code as this person may see it: staff see only its last four characters.
pub fn code_for(role: Role, code: &str) -> String {
    if role == Role::Staff {
        let keep = code.len().saturating_sub(4);
        format!("{}{}", "•".repeat(keep.min(8)), &code[keep..])
    } else {
        code.to_string()
    }
}

/// The page cursor after `sale`.
pub fn cursor_of(sale: &VoucherSale) -> String {
    format!("{}_{}", sale.sold_at, sale.code.as_str())
}

/// The cash sales page.
pub fn list(frame: &Frame, view: &SalesView) -> Markup {
    let query = view.filters.without_cursor();
    page(
        "Transactions",
        frame,
        Nav::Transactions,
        html! {
            h1 { "Transactions" }
            (kind_tabs(&view.filters, true))
            (filter_form(&view.filters, &view.routers, &view.plans, true))
            @if let Some(error) = &view.error {
                div.err #error { (error) }
            } @else {
                div.cards #totals {
                    div.card #t-count { div.l { "Cash (voucher) sales" } div.n { (view.totals.count) } }
                    div.card #t-kes { div.l { "Cash total" } div.n { (kes(view.totals.kes)) } }
                }
                p.muted { "A voucher is counted as sold when it is first used, at its batch's price. M-Pesa totals are on the M-Pesa tab." }
                p { a href={ "/dashboard/transactions.csv?" (query) } #export { "Download as CSV" } }
                div.scroll {
                    table #sales {
                        thead { tr {
                            th { "Time" } th { "Kind" } th { "Router" } th { "Plan" } th { "Code" } th { "Device" } th.num { "Price" }
                        } }
                        tbody {
                            @for (time, sale) in &view.sales {
                                tr {
                                    td { (time) }
                                    td { "Cash (voucher)" }
                                    td { (sale.router_name.as_deref().unwrap_or("")) }
                                    td { (sale.plan_name) }
                                    td { code { (code_for(frame.role, sale.code.as_str())) } }
                                    td { code { (sale.device_mac.map(|m| m.to_string()).unwrap_or_default()) } }
                                    td.num { (sale.price_kes.map(|p| kes(i64::from(p))).unwrap_or_else(|| "—".into())) }
                                }
                            }
                            @if view.sales.is_empty() { tr { td colspan="7" .muted { "No voucher sales match." } } }
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

/// The cash sales CSV's header line.
pub const CSV_HEADER: &str = "time,kind,router,plan,code,device_mac,price_kes,batch_id\r\n";

/// One sale as a CSV line (time already in the tenant's zone).
pub fn csv_line(role: Role, time: &str, sale: &VoucherSale) -> String {
    let fields = [
        time.to_string(),
        "voucher".to_string(),
        sale.router_name.clone().unwrap_or_default(),
        sale.plan_name.clone(),
        code_for(role, sale.code.as_str()),
        sale.device_mac.map(|m| m.to_string()).unwrap_or_default(),
        sale.price_kes.map(|p| p.to_string()).unwrap_or_default(),
        sale.batch_id.to_string(),
    ];
    let mut out = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_see_the_last_four_characters_of_a_code() {
        assert_eq!(code_for(Role::Staff, "KBABCDEFGH"), "••••••EFGH");
        assert_eq!(code_for(Role::Owner, "KBABCDEFGH"), "KBABCDEFGH");
    }
}
