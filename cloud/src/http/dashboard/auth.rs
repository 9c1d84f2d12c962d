//! Sign up, sign in and out, forgotten password, one-time links and the password change.
//! A session starts with a new token every time (rotation at sign-in); a failure shows the
//! form again with the reason and what was typed (never the password).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

use super::session::{Form, NoFields, OpenForm, SignedIn, cleared_cookie, cookie_token, session_cookie};
use super::{render, render_plain};
use crate::accounts::{AccountError, Accounts, NewSession, SignUp};
use crate::dashboard::auth as pages;
use crate::http::ClientAddr;
use crate::model::{LinkPurpose, Role};

/// Where a person lands after signing in.
fn home(role: Role) -> &'static str {
    match role {
        Role::Operator => "/dashboard/platform",
        Role::Owner | Role::Staff => "/dashboard",
    }
}

/// A redirect home carrying the new session's cookie.
fn signed_in(accounts: &Accounts, session: NewSession) -> Response {
    let mut response = Redirect::to(home(session.account.role)).into_response();
    let cookie = session_cookie(&session.token, accounts.config().secure_cookies(), accounts.config().lifetime.as_secs());
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// The status a refused form is shown again with.
fn status_of(error: &AccountError) -> StatusCode {
    match error {
        AccountError::Invalid(_) | AccountError::Weak(_) | AccountError::LinkInvalid => StatusCode::BAD_REQUEST,
        AccountError::Taken => StatusCode::CONFLICT,
        AccountError::WrongCredentials => StatusCode::UNAUTHORIZED,
        AccountError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AccountError::Internal(error) => {
            tracing::error!(error = format!("{error:#}"), "a dashboard account operation failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

fn ip(client: &ClientAddr) -> Option<String> {
    client.0.map(|ip| ip.to_string())
}

pub(super) async fn sign_up_page(headers: HeaderMap) -> Response {
    render_plain(StatusCode::OK, pages::sign_up(&pages::SignUpValues::default(), None), &headers)
}

#[derive(Deserialize)]
pub(super) struct SignUpForm {
    #[serde(default)]
    business: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn sign_up(
    State(accounts): State<Arc<Accounts>>,
    client: ClientAddr,
    headers: HeaderMap,
    OpenForm(form): OpenForm<SignUpForm>,
) -> Response {
    let values = pages::SignUpValues {
        business: form.business.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        phone: form.phone.clone(),
    };
    let request = SignUp { business: form.business, name: form.name, email: form.email, phone: form.phone, password: form.password };
    match accounts.sign_up(request, ip(&client).as_deref()).await {
        Ok(session) => signed_in(&accounts, session),
        Err(error) => render_plain(status_of(&error), pages::sign_up(&values, Some(&error.to_string())), &headers),
    }
}

pub(super) async fn sign_in_page(headers: HeaderMap) -> Response {
    render_plain(StatusCode::OK, pages::sign_in("", None, None), &headers)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn sign_in(
    State(accounts): State<Arc<Accounts>>,
    client: ClientAddr,
    headers: HeaderMap,
    OpenForm(form): OpenForm<SignInForm>,
) -> Response {
    match accounts.sign_in(&form.email, &form.password, ip(&client).as_deref()).await {
        Ok(session) => {
            // The session this browser had (if any) ends: a new one replaces it.
            if let Some(old) = cookie_token(&headers) {
                let _ = accounts.sign_out(&old).await;
            }
            signed_in(&accounts, session)
        }
        Err(error) => render_plain(status_of(&error), pages::sign_in(&form.email, Some(&error.to_string()), None), &headers),
    }
}

pub(super) async fn sign_out(State(accounts): State<Arc<Accounts>>, who: SignedIn, Form(NoFields {}): Form<NoFields>) -> Response {
    if let Err(error) = accounts.sign_out(&who.token).await {
        tracing::error!(%error, "could not end a session");
    }
    tracing::info!(account = %who.account.id, "signed out");
    let mut response = Redirect::to("/dashboard/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cleared_cookie(accounts.config().secure_cookies()));
    response
}

pub(super) async fn forgot_page(headers: HeaderMap) -> Response {
    render_plain(StatusCode::OK, pages::forgot(false, None), &headers)
}

#[derive(Deserialize)]
pub(super) struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub(super) async fn forgot(
    State(accounts): State<Arc<Accounts>>,
    client: ClientAddr,
    headers: HeaderMap,
    OpenForm(form): OpenForm<ForgotForm>,
) -> Response {
    match accounts.request_reset(&form.email, ip(&client).as_deref()).await {
        Ok(()) => render_plain(StatusCode::OK, pages::forgot(true, None), &headers),
        Err(error) => render_plain(status_of(&error), pages::forgot(false, Some(&error.to_string())), &headers),
    }
}

/// The links' tokens are 64 hex digits; anything else is refused before the store is asked.
fn plausible(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn link_page(title: &str, kind: &str, token: &str, error: Option<&str>, status: StatusCode, headers: &HeaderMap) -> Response {
    let mut response = render_plain(status, pages::choose_password(title, &format!("/dashboard/{kind}/{token}"), error), headers);
    // The token is in the path: never send it onwards in a Referer.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub(super) async fn reset_page(Path(token): Path<String>, headers: HeaderMap) -> Response {
    if !plausible(&token) {
        return render_plain(StatusCode::NOT_FOUND, pages::forgot(false, Some("This link has expired or was already used.")), &headers);
    }
    link_page("Choose a new password", "reset", &token, None, StatusCode::OK, &headers)
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn finish(accounts: &Accounts, token: &str, purpose: LinkPurpose, password: &str, headers: &HeaderMap) -> Response {
    let (title, kind) = match purpose {
        LinkPurpose::Reset => ("Choose a new password", "reset"),
        LinkPurpose::Invite => ("Welcome: choose your password", "invite"),
    };
    if !plausible(token) {
        return link_page(title, kind, "", Some(&AccountError::LinkInvalid.to_string()), StatusCode::BAD_REQUEST, headers);
    }
    match accounts.finish_link(token, purpose, password).await {
        Ok(session) => signed_in(accounts, session),
        Err(error) => link_page(title, kind, token, Some(&error.to_string()), status_of(&error), headers),
    }
}

pub(super) async fn reset(
    State(accounts): State<Arc<Accounts>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    OpenForm(form): OpenForm<PasswordForm>,
) -> Response {
    finish(&accounts, &token, LinkPurpose::Reset, &form.password, &headers).await
}

pub(super) async fn invite_page(Path(token): Path<String>, headers: HeaderMap) -> Response {
    link_page("Welcome: choose your password", "invite", if plausible(&token) { &token } else { "" }, None, StatusCode::OK, &headers)
}

pub(super) async fn invite(
    State(accounts): State<Arc<Accounts>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    OpenForm(form): OpenForm<PasswordForm>,
) -> Response {
    finish(&accounts, &token, LinkPurpose::Invite, &form.password, &headers).await
}

pub(super) async fn password_page(who: SignedIn, headers: HeaderMap) -> Response {
    let frame = who.frame();
    render(&frame, StatusCode::OK, pages::change_password(&frame, None, false), &headers)
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

pub(super) async fn change_password(
    State(accounts): State<Arc<Accounts>>,
    who: SignedIn,
    headers: HeaderMap,
    Form(form): Form<ChangeForm>,
) -> Response {
    match accounts.change_password(&who.account, &form.current, &form.new).await {
        Ok(session) => {
            let new = SignedIn { account: session.account.clone(), tenant: who.tenant.clone(), token: session.token.clone() };
            let frame = new.frame();
            let mut response = render(&frame, StatusCode::OK, pages::change_password(&frame, None, true), &headers);
            let cookie = session_cookie(&session.token, accounts.config().secure_cookies(), accounts.config().lifetime.as_secs());
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => {
            let frame = who.frame();
            render(&frame, status_of(&error), pages::change_password(&frame, Some(&error.to_string()), false), &headers)
        }
    }
}
