//! The settings pages: the index (every member; staff changes, the time zone and the
//! provider are the owner's) and the payment provider, set through the same operation as
//! the CLI's `provider set` ([`crate::payments::set_provider`]). Every change is audited;
//! secrets are never rendered back or written to the audit.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::render;
use super::routers::{internal, not_found};
use super::session::{Form, Member, NoFields, Owner};
use crate::accounts::Accounts;
use crate::dashboard::settings::{ProviderData, SettingsData, provider_page, settings_page};
use crate::model::{AccountId, Role, TenantId};
use crate::payments::{Payments, SetProviderError};
use crate::providers::{DarajaAccount, PayHeroChannel, ProviderConfig, ProviderKind, Secret};
use crate::store::{Store, now_ms};

async fn index(store: &dyn Store, member: &Member, mut data: SettingsData, status: StatusCode, headers: &HeaderMap) -> Response {
    data.accounts = match store.tenant_accounts(member.tenant.id).await {
        Ok(accounts) => accounts,
        Err(error) => return internal(error),
    };
    if data.time_zone.is_empty() {
        data.time_zone = member.tenant.time_zone.clone();
    }
    let frame = member.who.frame();
    render(&frame, status, settings_page(&frame, &data), headers)
}

pub(super) async fn settings(State(store): State<Arc<dyn Store>>, member: Member, headers: HeaderMap) -> Response {
    index(store.as_ref(), &member, SettingsData::default(), StatusCode::OK, &headers).await
}

#[derive(Deserialize)]
pub(super) struct Invite {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

pub(super) async fn invite(
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(form): Form<Invite>,
) -> Response {
    // Audited by the service itself.
    let data = match accounts.invite_staff(&member.tenant, &member.who.account, &form.email, &form.name).await {
        Ok(link) => {
            SettingsData { invite_link: Some(link), notice: Some(format!("{} is invited.", form.email.trim())), ..Default::default() }
        }
        Err(error) => {
            let data = SettingsData { error: Some(format!("Not invited: {error}.")), ..Default::default() };
            return index(accounts.store().as_ref(), &member, data, StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
        }
    };
    index(accounts.store().as_ref(), &member, data, StatusCode::OK, &headers).await
}

pub(super) async fn disable(
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(_): Form<NoFields>,
) -> Response {
    let store = accounts.store();
    let Ok(id) = id.parse::<AccountId>() else { return not_found() };
    // Only staff of this tenant: the owner cannot lock themselves out here.
    let staff = match store.tenant_accounts(member.tenant.id).await {
        Ok(found) => found.into_iter().find(|a| a.id == id && a.role == Role::Staff),
        Err(error) => return internal(error),
    };
    let Some(staff) = staff else { return not_found() };
    match store.disable_account(member.tenant.id, id, now_ms()).await {
        Ok(true) => {
            accounts.record(Some(member.tenant.id), member.who.account.id, "staff.disable", staff.email.as_str()).await;
            Redirect::to("/dashboard/settings").into_response()
        }
        Ok(false) => not_found(),
        Err(error) => internal(error),
    }
}

#[derive(Deserialize)]
pub(super) struct TimeZone {
    #[serde(default)]
    time_zone: String,
}

pub(super) async fn time_zone(
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(form): Form<TimeZone>,
) -> Response {
    let store = accounts.store().as_ref();
    let name = form.time_zone.trim();
    if let Err(error) = crate::time::zone(name) {
        let data = SettingsData { error: Some(error.to_string()), time_zone: name.to_string(), ..Default::default() };
        return index(store, &member, data, StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
    }
    match store.set_time_zone(member.tenant.id, name).await {
        Ok(_) => {
            accounts.record(Some(member.tenant.id), member.who.account.id, "tenant.time_zone", name).await;
            let data =
                SettingsData { notice: Some(format!("Times are now shown in {name}.")), time_zone: name.to_string(), ..Default::default() };
            index(store, &member, data, StatusCode::OK, &headers).await
        }
        Err(error) => internal(error),
    }
}

async fn provider(store: &dyn Store, member: &Member, mut data: ProviderData, status: StatusCode, headers: &HeaderMap) -> Response {
    let tz = crate::time::zone_or_default(&member.tenant.time_zone);
    let (current, history) = match tokio::try_join!(store.current_provider(member.tenant.id), store.provider_changes(member.tenant.id, 20))
    {
        Ok(found) => found,
        Err(error) => return internal(error),
    };
    data.current = current.map(|(kind, at)| (kind, crate::time::show_ms(at, &tz)));
    data.history = history.into_iter().map(|(kind, at)| (kind, crate::time::show_ms(at, &tz))).collect();
    let frame = member.who.frame();
    render(&frame, status, provider_page(&frame, &data), headers)
}

pub(super) async fn provider_page_get(State(store): State<Arc<dyn Store>>, Owner(member): Owner, headers: HeaderMap) -> Response {
    provider(store.as_ref(), &member, ProviderData::default(), StatusCode::OK, &headers).await
}

/// The provider form: every provider's fields, the ones of `kind` used (`daraja_paybill`,
/// `daraja_till`, `payhero`, `paystack`). `/api/v1/provider` takes the same fields as JSON.
#[derive(Deserialize)] // Debug hides nothing here: never derive it.
pub(crate) struct ProviderForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    consumer_key: String,
    #[serde(default)]
    consumer_secret: String,
    #[serde(default)]
    short_code: String,
    #[serde(default)]
    passkey: String,
    #[serde(default)]
    till_number: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    channel_id: String,
    /// PayHero: the channel is a wallet channel (`yes` on the form, `true` in JSON).
    #[serde(default, deserialize_with = "yes")]
    payhero_wallet: bool,
    #[serde(default)]
    secret_key: String,
    /// A new webhook URL: `yes` on the form, `true` in JSON.
    #[serde(default, deserialize_with = "yes")]
    pub(crate) rotate_webhook: bool,
}

/// A tick box's `yes` (a form) or `true` (JSON).
fn yes<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tick {
        Bool(bool),
        Text(String),
    }
    Ok(match Tick::deserialize(deserializer)? {
        Tick::Bool(ticked) => ticked,
        Tick::Text(text) => text == "yes",
    })
}

/// The settings the form describes, or what is missing.
pub(crate) fn config(form: &ProviderForm) -> Result<ProviderConfig, String> {
    let needed = |value: &str, what: &str| {
        let value = value.trim();
        if value.is_empty() { Err(format!("{what} is needed.")) } else { Ok(value.to_string()) }
    };
    let secret = |value: &str, what: &str| needed(value, what).map(Secret);
    match form.kind.as_str() {
        kind @ ("daraja_paybill" | "daraja_till") => Ok(ProviderConfig::Daraja {
            consumer_key: secret(&form.consumer_key, "The consumer key")?,
            consumer_secret: secret(&form.consumer_secret, "The consumer secret")?,
            short_code: needed(&form.short_code, "The business short code")?,
            passkey: secret(&form.passkey, "The passkey")?,
            account: if kind == "daraja_till" {
                DarajaAccount::Till { till_number: needed(&form.till_number, "The till number")? }
            } else {
                DarajaAccount::Paybill
            },
            base_url: None,
        }),
        "payhero" => Ok(ProviderConfig::Payhero {
            username: secret(&form.username, "The API username")?,
            password: secret(&form.password, "The API password")?,
            channel_id: form.channel_id.trim().parse().map_err(|_| "The channel id is a number.".to_string())?,
            channel: if form.payhero_wallet { PayHeroChannel::Wallet } else { PayHeroChannel::Mpesa },
            base_url: None,
        }),
        "paystack" => Ok(ProviderConfig::Paystack { secret_key: secret(&form.secret_key, "The secret key")?, base_url: None }),
        _ => Err("Choose a provider.".into()),
    }
}

/// `config` with the base URL of the tenant's stored settings of its kind: the form has no
/// base URL, so one the operator set for this tenant (a sandbox) stays.
pub(crate) async fn keeping_base_url(
    payments: &Payments,
    tenant: TenantId,
    config: ProviderConfig,
) -> Result<ProviderConfig, SetProviderError> {
    match payments.stored_base_url(tenant, config.kind()).await {
        Ok(url) => Ok(config.with_base_url(url)),
        Err(SetProviderError::Seal(error)) => {
            // Settings this key cannot open are replaced whole, as the owner means to.
            tracing::warn!(%tenant, %error, "the provider's previous settings do not open; its base URL is not kept");
            Ok(config)
        }
        Err(error) => Err(error),
    }
}

pub(super) async fn set_provider(
    State(payments): State<Arc<Payments>>,
    State(accounts): State<Arc<Accounts>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(form): Form<ProviderForm>,
) -> Response {
    let store = payments.store().as_ref();
    let config = match config(&form) {
        Ok(config) => config,
        Err(message) => {
            let data = ProviderData { error: Some(message), ..Default::default() };
            return provider(store, &member, data, StatusCode::UNPROCESSABLE_ENTITY, &headers).await;
        }
    };
    let config = match keeping_base_url(&payments, member.tenant.id, config).await {
        Ok(config) => config,
        Err(error) => return internal(error),
    };
    let rotate = form.rotate_webhook;
    let set = match payments.set_tenant_provider(member.tenant.id, &config, rotate).await {
        Ok(set) => set,
        Err(error) => return internal(error),
    };
    let detail = format!("{}{}", set.kind.as_str(), if set.webhook_url.is_some() { ", new webhook URL" } else { "" });
    accounts.record(Some(member.tenant.id), member.who.account.id, "provider.set", &detail).await;
    let data = ProviderData {
        webhook_url: set.webhook_url.filter(|_| set.kind == ProviderKind::Paystack),
        notice: Some(format!("{} is now your payment provider.", set.kind.as_str())),
        ..Default::default()
    };
    provider(store, &member, data, StatusCode::OK, &headers).await
}

pub(super) async fn check_provider(
    State(payments): State<Arc<Payments>>,
    Owner(member): Owner,
    headers: HeaderMap,
    Form(_): Form<NoFields>,
) -> Response {
    let (notice, error) = match payments.check_provider(member.tenant.id).await {
        Ok(None) => (None, Some("No provider is set.".to_string())),
        Ok(Some((kind, None))) => {
            (Some(format!("{} has no test call that moves no money: the first payment will tell.", kind.as_str())), None)
        }
        Ok(Some((kind, Some(Ok(said))))) => (Some(format!("{} accepted the credentials: {said}.", kind.as_str())), None),
        Ok(Some((kind, Some(Err(error))))) => (None, Some(format!("{} did not accept the connection: {error}.", kind.as_str()))),
        Err(error) => return internal(error),
    };
    let data = ProviderData { notice, error, ..Default::default() };
    provider(payments.store().as_ref(), &member, data, StatusCode::OK, &headers).await
}
