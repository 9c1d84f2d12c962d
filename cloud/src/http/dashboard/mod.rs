//! The router owners' dashboard (`/dashboard/...`): sign-up and sign-in, then the pages of
//! a tenant's business. Every handler takes who is asking from the session
//! ([`session::Member`], [`session::Owner`]) and scopes every query to their tenant;
//! pages are rendered by `crate::dashboard`.
//!
//! - [`auth`]: sign up, sign in and out, forgotten password, one-time links, password change.
//! - [`overview`]: the overview and its live updates.
//! - [`transactions`]: the payments list, its CSV export and one payment's timeline;
//!   [`transaction_actions`]: recheck, settle by hand, resend to the router.

mod auth;
mod overview;
pub mod session;
mod transaction_actions;
mod transactions;

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
        .route("/dashboard/transactions", get(transactions::list))
        .route("/dashboard/transactions.csv", get(transactions::csv))
        .route("/dashboard/transactions/{id}", get(transactions::detail))
        .route("/dashboard/transactions/{id}/recheck", post(transaction_actions::recheck))
        .route("/dashboard/transactions/{id}/settle", post(transaction_actions::settle))
        .route("/dashboard/transactions/{id}/resend", post(transaction_actions::resend))
}

/// A signed-in page as a response (its script allowed by the frame's nonce).
pub fn render(frame: &Frame, status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), Some(&frame.nonce), headers)
}

/// A page without script (before signing in).
pub fn render_plain(status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), None, headers)
}
