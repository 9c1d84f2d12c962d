//! Who is asking: the session cookie, the extractors that turn it into a signed-in person
//! (any, tenant member, owner), and the CSRF check on every state-changing form.
//!
//! - The cookie (`jasiyo_session`) is HttpOnly, SameSite=Lax, scoped to `/dashboard`, and
//!   `Secure` when the cloud's public URL is https; its value is the session's token, of
//!   which the store keeps only a hash.
//! - Every signed-in form carries the session's CSRF token (derived from the session
//!   token, see [`crate::accounts::csrf_token`]); a POST without the right one is refused
//!   with 403 and changes nothing. Forms before signing in have no session to bind to:
//!   they are refused when the browser says they came from another site (`Origin`,
//!   `Sec-Fetch-Site`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::accounts::{csrf_ok, csrf_token};
use crate::dashboard::Frame;
use crate::http::AppState;
use crate::model::{Account, Role, Tenant};

/// The session cookie's name.
pub const COOKIE: &str = "jasiyo_session";

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, secure: bool, max_age_secs: u64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"))
        .expect("a token is ASCII")
}

/// The `Set-Cookie` value that ends it.
pub fn cleared_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Lax; Max-Age=0{secure}")).expect("ASCII")
}

/// The session token in the request's cookies.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty() && value.len() <= 128)
        .map(|(_, value)| value.to_string())
}

/// Whether the browser says the request came from another site.
pub fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site") | Some("same-site")) {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        _ => false,
    }
}

/// A signed-in person (any role).
pub struct SignedIn {
    /// Their account.
    pub account: Account,
    /// Their tenant (`None`: an operator).
    pub tenant: Option<Tenant>,
    /// The session token (to end it, and to check CSRF tokens against).
    pub token: String,
}

impl SignedIn {
    /// The frame of their pages.
    pub fn frame(&self) -> Frame {
        Frame {
            business: self.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "Platform".into()),
            person: self.account.name.clone(),
            role: self.account.role,
            csrf: csrf_token(&self.token),
            nonce: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, rand::random::<[u8; 16]>()),
        }
    }
}

/// The refusal a page gives someone not signed in: to the sign-in page.
fn to_sign_in() -> Response {
    Redirect::to("/dashboard/login").into_response()
}

/// A page refused to this role.
pub fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "You do not have access to this page.").into_response()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie_token(&parts.headers) else { return Err(to_sign_in()) };
        match state.accounts.session(&token).await {
            Ok(Some(session)) => Ok(SignedIn { account: session.account, tenant: session.tenant, token }),
            Ok(None) => Err(to_sign_in()),
            Err(error) => {
                tracing::error!(%error, "could not read a session");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
            }
        }
    }
}

/// A signed-in member of a tenant (owner or staff), with the tenant every query is scoped to.
pub struct Member {
    /// Who.
    pub who: SignedIn,
    /// Their tenant.
    pub tenant: Tenant,
}

impl Member {
    /// Whether they are the owner.
    pub fn is_owner(&self) -> bool {
        self.who.account.role == Role::Owner
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        match who.tenant.clone() {
            Some(tenant) => Ok(Member { who, tenant }),
            None => Err(Redirect::to("/dashboard/platform").into_response()),
        }
    }
}

/// A tenant's owner (staff are refused with 403).
pub struct Owner(pub Member);

impl FromRequestParts<AppState> for Owner {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let member = Member::from_request_parts(parts, state).await?;
        if !member.is_owner() {
            tracing::warn!(account = %member.who.account.id, path = %parts.uri.path(), "a staff member was refused an owner's page");
            return Err(forbidden());
        }
        Ok(Owner(member))
    }
}

/// A platform operator (everyone else is refused with 403).
pub struct Operator(pub SignedIn);

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        if who.account.role != Role::Operator {
            tracing::warn!(account = %who.account.id, path = %parts.uri.path(), "a non-operator was refused the platform view");
            return Err(forbidden());
        }
        Ok(Operator(who))
    }
}

/// A form posted by a signed-in person, its CSRF token checked: `Form<F>` where `F` is
/// the form's own fields (the `csrf` field is read separately).
pub struct Form<F>(pub F);

/// A form with nothing but its CSRF token (a button: sign out, retry, suspend).
#[derive(serde::Deserialize)]
pub struct NoFields {}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The largest dashboard form accepted (the logo upload has its own limit).
const MAX_FORM_BYTES: usize = 64 * 1024;

impl<F: DeserializeOwned + Send> FromRequest<AppState> for Form<F> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, Response> {
        let token = cookie_token(request.headers());
        let cross = cross_site(request.headers());
        let bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response())?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: String::new() });
        if cross || !token.as_deref().is_some_and(|token| csrf_ok(token, &field.csrf)) {
            tracing::warn!(cross_site = cross, "a dashboard form without the session's CSRF token was refused");
            return Err((
                StatusCode::FORBIDDEN,
                "This form expired or did not come from this site. Go back, reload the page and try again.",
            )
                .into_response());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|error| (StatusCode::BAD_REQUEST, format!("bad form: {error}")).into_response())
    }
}

/// A form posted before signing in, refused when it came from another site.
pub struct OpenForm<F>(pub F);

impl<F: DeserializeOwned + Send> FromRequest<AppState> for OpenForm<F> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, Response> {
        if cross_site(request.headers()) {
            tracing::warn!("a sign-in form from another site was refused");
            return Err((StatusCode::FORBIDDEN, "This form did not come from this site.").into_response());
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response())?;
        serde_urlencoded::from_bytes(&bytes)
            .map(OpenForm)
            .map_err(|error| (StatusCode::BAD_REQUEST, format!("bad form: {error}")).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(cookie_token(&headers(&[("cookie", "a=1; jasiyo_session=abc; b=2")])).as_deref(), Some("abc"));
        assert_eq!(cookie_token(&headers(&[("cookie", "jasiyo_session=")])), None);
        assert_eq!(cookie_token(&headers(&[])), None);
    }

    #[test]
    fn other_sites_are_told_apart() {
        assert!(!cross_site(&headers(&[("host", "cloud.example"), ("origin", "https://cloud.example")])));
        assert!(cross_site(&headers(&[("host", "cloud.example"), ("origin", "https://evil.example")])));
        assert!(cross_site(&headers(&[("origin", "null")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!cross_site(&headers(&[])));
    }

    #[test]
    fn cookies_are_http_only_and_secure_over_https() {
        let cookie = session_cookie("t", true, 60);
        let text = cookie.to_str().unwrap();
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Secure"), "{text}");
        assert!(!session_cookie("t", false, 60).to_str().unwrap().contains("Secure"));
    }
}
