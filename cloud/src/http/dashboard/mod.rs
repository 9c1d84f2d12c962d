//! The router owners' dashboard (`/dashboard/...`): sign-up and sign-in, then the pages of
//! a tenant's business. Every handler takes who is asking from the session
//! ([`session::Member`], [`session::Owner`]) and scopes every query to their tenant;
//! pages are rendered by `crate::dashboard`.
//!
//! - [`auth`]: sign up, sign in and out, forgotten password, one-time links, password change.
//! - [`overview`]: the overview and its live updates.
//! - [`users`]: hotspot users and the owner's actions on them.
//! - [`platform`]: the platform operator's view of every tenant.

mod auth;
mod overview;
mod platform;
pub mod session;
mod users;

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
        .route("/dashboard/users", get(users::list))
        .route("/dashboard/users/{id}/extend", post(users::extend))
        .route("/dashboard/users/{id}/end", post(users::end))
        .route("/dashboard/users/{id}/move", post(users::move_device))
}

/// A signed-in page as a response (its script allowed by the frame's nonce).
pub fn render(frame: &Frame, status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), Some(&frame.nonce), headers)
}

/// A page without script (before signing in).
pub fn render_plain(status: StatusCode, page: Markup, headers: &HeaderMap) -> Response {
    html_response(status, page.into_string(), None, headers)
}
