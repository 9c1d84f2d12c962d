//! The router owners' dashboard (`/dashboard/...`): sign-up and sign-in, then the pages of
//! a tenant's business. Every handler takes who is asking from the session
//! ([`session::Member`], [`session::Owner`]) and scopes every query to their tenant;
//! pages are rendered by `crate::dashboard`.
//!
//! - [`alerts`]: alerts, and the owner's webhook and thresholds.
//! - [`auth`]: sign up, sign in and out, forgotten password, one-time links, password change.
//! - [`overview`]: the overview and its live updates.
//! - [`users`]: hotspot users and the owner's actions on them.
//! - [`platform`]: the platform operator's view of every tenant.
//! - [`portal_look`]: how the tenant's captive portal looks.
//! - [`routers`], [`plans`], [`settings`]: routers, plans, the payment provider, staff and
//!   the time zone.
//! - [`transactions`]: the payments list, its CSV export and one payment's timeline;
//!   [`voucher_sales`]: the cash sales in the same list and export;
//!   [`transaction_actions`]: recheck, settle by hand, resend to the router.
//! - [`csv_stream`]: the CSV downloads; the exports streamed a page at a time.
//! - [`vouchers`]: voucher batches: create, list, one batch, revoke, CSV, print sheet.

mod alerts;
mod auth;
mod csv_stream;
mod overview;
mod plans;
mod platform;
mod portal_look;
mod router_trial;
mod routers;
pub mod session;
pub(crate) mod settings;
mod transaction_actions;
pub(crate) mod transactions;
mod users;
pub(crate) mod voucher_sales;
mod vouchers;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use maud::Markup;

use super::AppState;
use super::html::html_response;
use crate::dashboard::Frame;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(overview::overview))
        .route("/dashboard/live", get(overview::live))
        .route("/dashboard/signup", get(auth::sign_up_page).post(auth::sign_up))
        .route("/dashboard/login", get(auth::sign_in_page).post(auth::sign_in))
        .route("/dashboard/logout", post(auth::sign_out))
        .route("/dashboard/forgot", get(auth::forgot_page).post(auth::forgot))
        .route("/dashboard/reset/{token}", get(auth::reset_page).post(auth::reset))
        .route("/dashboard/invite/{token}", get(auth::invite_page).post(auth::invite))
        .route("/dashboard/settings/password", get(auth::password_page).post(auth::change_password))
        .route("/dashboard/platform", get(platform::overview))
        .route("/dashboard/platform/tenants/{id}/suspend", post(platform::suspend))
        .route("/dashboard/platform/tenants/{id}/resume", post(platform::resume))
        .route("/dashboard/alerts", get(alerts::alerts))
        .route("/dashboard/alerts/webhook", post(alerts::set_webhook))
        .route("/dashboard/alerts/thresholds", post(alerts::set_thresholds))
        .route("/dashboard/users", get(users::list))
        .route("/dashboard/users/{id}/extend", post(users::extend))
        .route("/dashboard/users/{id}/end", post(users::end))
        .route("/dashboard/users/{id}/move", post(users::move_device))
        .route("/dashboard/routers", get(routers::routers).post(routers::add))
        .route("/dashboard/routers/{id}", get(routers::router))
        .route("/dashboard/routers/{id}/state", get(routers::state))
        .route("/dashboard/routers/{id}/commands/{seq}/retry", post(routers::retry))
        .route("/dashboard/routers/{id}/rotate", post(routers::rotate))
        .route("/dashboard/routers/{id}/revoke", post(routers::revoke))
        .route("/dashboard/routers/{id}/trial", post(router_trial::trial))
        .route("/dashboard/plans", get(plans::plans).post(plans::create))
        .route("/dashboard/plans/{id}", get(plans::plan).post(plans::edit))
        .route("/dashboard/plans/{id}/active", post(plans::set_active))
        .route("/dashboard/plans/{id}/move", post(plans::move_in_order))
        .route("/dashboard/settings", get(settings::settings))
        .route(
            "/dashboard/settings/portal",
            get(portal_look::page).post(portal_look::save).layer(axum::extract::DefaultBodyLimit::max(portal_look::MAX_BODY)),
        )
        .route("/dashboard/settings/provider", get(settings::provider_page_get).post(settings::set_provider))
        .route("/dashboard/settings/provider/check", post(settings::check_provider))
        .route("/dashboard/settings/staff", post(settings::invite))
        .route("/dashboard/settings/staff/{id}/disable", post(settings::disable))
        .route("/dashboard/settings/time-zone", post(settings::time_zone))
        .route("/dashboard/transactions", get(transactions::list))
        .route("/dashboard/transactions.csv", get(transactions::csv))
        .route("/dashboard/transactions/{id}", get(transactions::detail))
        .route("/dashboard/transactions/{id}/recheck", post(transaction_actions::recheck))
        .route("/dashboard/transactions/{id}/settle", post(transaction_actions::settle))
        .route("/dashboard/transactions/{id}/resend", post(transaction_actions::resend))
        .route("/dashboard/vouchers", get(vouchers::vouchers).post(vouchers::create))
        .route("/dashboard/vouchers/{id}", get(vouchers::batch))
        .route("/dashboard/vouchers/{id}/revoke", post(vouchers::revoke))
        .route("/dashboard/vouchers/{id}/csv", get(vouchers::download))
        .route("/dashboard/vouchers/{id}/print", get(vouchers::print))
}

/// A signed-in page as a response (its script allowed by the frame's nonce).
pub fn render(frame: &Frame, status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), Some(&frame.nonce), headers)
}

/// A page without script (before signing in).
pub fn render_plain(status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), None, headers)
}

impl axum::extract::FromRef<AppState> for std::sync::Arc<dyn crate::store::Store> {
    fn from_ref(state: &AppState) -> std::sync::Arc<dyn crate::store::Store> {
        state.hub.store().clone()
    }
}
