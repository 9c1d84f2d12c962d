//! The portal settings (owner only): read the form (multipart, for the logo), check its
//! CSRF token, check every field, then keep the look and the business name.

use std::sync::Arc;

use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use super::session::{Owner, cookie_token, cross_site};
use crate::accounts::{Accounts, csrf_ok};
use crate::dashboard::portal_look::{LookView, portal_look};
use crate::model::{MAX_LOGO_BYTES, PortalLook, logo_data_uri};
use crate::store::StoreError;

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn page(
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let notice = q.notice.as_deref().and_then(|n| n.split_once(':')).map(|(kind, text)| (kind == "ok", text.to_string()));
    show(&accounts, &member, notice, StatusCode::OK, &headers).await
}

async fn show(
    accounts: &Accounts,
    member: &super::session::Member,
    notice: Option<(bool, String)>,
    status: StatusCode,
    headers: &HeaderMap,
) -> Response {
    let store = accounts.store();
    let (look, routers) = match tokio::try_join!(store.portal_look(member.tenant.id), store.list_routers(Some(member.tenant.id))) {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "the portal settings page failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let routers: Vec<(String, String)> =
        routers.into_iter().filter(|r| r.revoked_at.is_none()).map(|r| (r.id.to_string(), r.name)).collect();
    let frame = member.who.frame();
    let view = LookView { business: &member.tenant.name, look: &look, routers: &routers, notice };
    render(&frame, status, portal_look(&frame, &view), headers)
}

/// The form's fields as sent.
#[derive(Default)]
struct Sent {
    csrf: String,
    business: String,
    look: PortalLook,
    logo: Option<Vec<u8>>,
    remove_logo: bool,
}

/// The longest text field read.
const MAX_FIELD: usize = 1024;

async fn read(mut form: Multipart) -> Result<Sent, String> {
    let mut sent = Sent::default();
    while let Some(field) = form.next_field().await.map_err(|e| format!("The form could not be read: {e}"))? {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(|_| "The logo is too large: at most 24 KB.".to_string())?;
        if name == "logo" {
            if !bytes.is_empty() {
                sent.logo = Some(bytes.to_vec());
            }
            continue;
        }
        if bytes.len() > MAX_FIELD {
            return Err(format!("{name}: too long."));
        }
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| format!("{name}: not text."))?.trim().to_string();
        let given = (!text.is_empty()).then(|| text.clone());
        match name.as_str() {
            "csrf" => sent.csrf = text,
            "business" => sent.business = text,
            "welcome" => sent.look.welcome = given,
            "support_phone" => sent.look.support_phone = given,
            "color" => sent.look.color = given.map(|c| c.to_ascii_lowercase()),
            "language" => sent.look.language = given,
            "remove_logo" => sent.remove_logo = true,
            _ => {}
        }
    }
    Ok(sent)
}

/// The largest form body accepted: the logo and the text fields.
pub const MAX_BODY: usize = MAX_LOGO_BYTES + 16 * 1024;

pub(super) async fn save(State(accounts): State<Arc<Accounts>>, Owner(member): Owner, headers: HeaderMap, form: Multipart) -> Response {
    let sent = match read(form).await {
        Ok(sent) => sent,
        Err(error) => return show(&accounts, &member, Some((false, error)), StatusCode::BAD_REQUEST, &headers).await,
    };
    let token = cookie_token(&headers);
    if cross_site(&headers) || !token.as_deref().is_some_and(|t| csrf_ok(t, &sent.csrf)) {
        tracing::warn!("a portal settings form without the session's CSRF token was refused");
        return (StatusCode::FORBIDDEN, "This form expired or did not come from this site. Go back, reload the page and try again.")
            .into_response();
    }
    let store = accounts.store();
    let tenant = member.tenant.id;
    let mut look = sent.look;
    look.logo = match (sent.logo, sent.remove_logo) {
        (Some(bytes), _) => match logo_data_uri(&bytes) {
            Ok(uri) => Some(uri),
            Err(error) => return show(&accounts, &member, Some((false, error)), StatusCode::BAD_REQUEST, &headers).await,
        },
        (None, true) => None,
        (None, false) => match store.portal_look(tenant).await {
            Ok(old) => old.logo,
            Err(error) => {
                tracing::error!(%error, "reading the portal look failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        },
    };
    if let Err(error) = look.check() {
        return show(&accounts, &member, Some((false, error)), StatusCode::BAD_REQUEST, &headers).await;
    }
    let business = sent.business.trim();
    if business.is_empty() || business.chars().count() > 80 || business.chars().any(char::is_control) {
        return show(&accounts, &member, Some((false, "Business name: 1 to 80 characters.".into())), StatusCode::BAD_REQUEST, &headers)
            .await;
    }
    if business != member.tenant.name {
        match store.rename_tenant(tenant, business).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                let taken = "Business name: another business has that name.".to_string();
                return show(&accounts, &member, Some((false, taken)), StatusCode::CONFLICT, &headers).await;
            }
            Err(error) => {
                tracing::error!(%error, "renaming a tenant failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        }
    }
    if let Err(error) = store.set_portal_look(tenant, &look).await {
        tracing::error!(%error, "saving the portal look failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    }
    accounts
        .record(Some(tenant), member.who.account.id, "portal_look", &format!("business {business:?}, logo {}", look.logo.is_some()))
        .await;
    Redirect::to("/dashboard/settings/portal?notice=ok:Saved.%20Your%20portal%20shows%20it%20now.").into_response()
}
