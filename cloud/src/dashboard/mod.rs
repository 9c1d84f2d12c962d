//! The router owners' dashboard, rendered on the server with maud (HTML checked when the
//! crate compiles, every value escaped): rendering only, like `portal/`. Handlers are in
//! `http/dashboard/`; they load what a page shows and hand it to a function here.
//!
//! Every page is one self-contained response (its CSS inline, no script it cannot do
//! without, no download from elsewhere) that works at 360 px.

pub mod agent_counters;
pub mod alerts;
pub mod auth;
mod layout;
pub mod overview;
pub mod plans;
pub mod platform;
pub mod portal_look;
pub mod router_trial;
pub mod routers;
pub mod settings;
pub mod transaction;
pub mod transactions;
pub mod users;
pub mod voucher_print;
pub mod voucher_sales;
pub mod vouchers;

pub use layout::{Frame, Nav, page, plain_page};

use maud::{Markup, html};

/// The hidden field every form carries: the session's CSRF token.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// Kenya shillings, with thousands separated: `KES 1,250`.
pub fn kes(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("KES {}{out}", if amount < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shillings_are_grouped() {
        assert_eq!(kes(0), "KES 0");
        assert_eq!(kes(999), "KES 999");
        assert_eq!(kes(1250), "KES 1,250");
        assert_eq!(kes(1_234_567), "KES 1,234,567");
    }
}
