//! Telling an alert's tenant that it opened or closed: an e-mail to each of its owners
//! (through the [`Mailer`](crate::notify::Mailer)) and, when the tenant set one, a JSON
//! POST to its webhook signed with HMAC-SHA256 over the raw body under the tenant's secret
//! ([`SIGNATURE_HEADER`]: `sha256=<hex>`). Each is tried a few times with a doubling
//! backoff; what happened is written on the alert row, failures are logged, and nothing
//! here holds up the evaluation (the evaluator spawns it).

use std::future::Future;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Alerts, Change, title};
use crate::model::Role;
use crate::notify::Mail;
use crate::store::alerts::{Alert, Webhook};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Jasiyo-Signature";

/// The signature header's value for `body` under `secret`: `sha256=<hex of HMAC-SHA256>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a webhook URL an owner typed: http(s) with a host, https unless the host is a
/// loopback address (a receiver on the same machine, as in tests). The URL, trimmed.
pub fn check_webhook_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let url = reqwest::Url::parse(text).map_err(|_| "The webhook URL is not a URL.".to_string())?;
    let host = url.host_str().ok_or_else(|| "The webhook URL needs a host.".to_string())?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(text.to_string()),
        "http" if loopback => Ok(text.to_string()),
        "http" => Err("The webhook URL must use https.".into()),
        _ => Err("The webhook URL must be an https:// address.".into()),
    }
}

/// Tries `attempt` up to `attempts` times, waiting `backoff`, then twice that, between.
async fn with_retries<F, Fut>(attempts: u32, mut backoff: std::time::Duration, mut attempt: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut tried = 0;
    loop {
        tried += 1;
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(error) if tried >= attempts.max(1) => return Err(format!("{error} (after {tried} attempts)")),
            Err(error) => {
                tracing::debug!(%error, tried, "alert delivery failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
}

impl Alerts {
    /// Tells the alert's tenant of `change` by e-mail and webhook, retrying each a few
    /// times, and records how it went on the alert.
    pub async fn deliver(&self, change: &Change) {
        let alert = change.alert();
        let closing = matches!(change, Change::Closed(_));
        let (mail, hook) = tokio::join!(self.mail_owners(alert, closing), self.post_webhook(alert, closing));
        let state = format!("{mail}; {hook}");
        if state.contains("failed") {
            tracing::warn!(alert = %alert.id, tenant = %alert.tenant_id, %state, "alert not fully delivered");
        }
        if let Err(error) = self.store.record_delivery(alert.id, closing, &state).await {
            tracing::warn!(alert = %alert.id, %error, "could not record the alert's delivery");
        }
    }

    async fn mail_owners(&self, alert: &Alert, closing: bool) -> String {
        let tenant_id = alert.tenant_id.to_string();
        let (tenant, owners) = match tokio::try_join!(self.store.find_tenant(&tenant_id), self.store.tenant_accounts(alert.tenant_id)) {
            Ok((Some(tenant), accounts)) => {
                (tenant, accounts.into_iter().filter(|a| a.role == Role::Owner && a.disabled_at.is_none()).collect::<Vec<_>>())
            }
            Ok((None, _)) => return "mail: no such tenant".into(),
            Err(error) => return format!("mail: failed ({error})"),
        };
        if owners.is_empty() {
            return "mail: no owner to tell".into();
        }
        let tz = crate::time::zone_or_default(&tenant.time_zone);
        let subject = if closing {
            format!("[{}] Resolved: {}", tenant.name, title(&alert.kind))
        } else {
            format!("[{}] Alert: {}", tenant.name, title(&alert.kind))
        };
        let mut body = format!("{}\n\nOpened: {}\n", alert.detail, crate::time::show_ms(alert.opened_at, &tz));
        if let Some(closed) = alert.closed_at {
            body.push_str(&format!("Resolved: {} (the condition cleared)\n", crate::time::show_ms(closed, &tz)));
        }
        body.push_str(&format!("\nSee your alerts: {}/dashboard/alerts\n", self.public_url.trim_end_matches('/')));
        let mut failed = Vec::new();
        for owner in &owners {
            let mail = Mail { to: owner.email.clone(), subject: subject.clone(), body: body.clone() };
            let sent = with_retries(self.config.attempts, self.config.backoff, || {
                let mail = mail.clone();
                async move { self.mailer.send(mail).await.map_err(|e| e.to_string()) }
            })
            .await;
            if let Err(error) = sent {
                failed.push(format!("{}: {error}", owner.email));
            }
        }
        if failed.is_empty() { format!("mail: sent to {} owner(s)", owners.len()) } else { format!("mail: failed ({})", failed.join("; ")) }
    }

    async fn post_webhook(&self, alert: &Alert, closing: bool) -> String {
        let webhook = match self.store.alert_settings(alert.tenant_id).await {
            Ok(settings) => settings.webhook,
            Err(error) => return format!("webhook: failed ({error})"),
        };
        let Some(Webhook { url, secret }) = webhook else { return "webhook: none set".into() };
        let event = if closing { "alert.closed" } else { "alert.opened" };
        let body = serde_json::to_vec(&serde_json::json!({
            "event": event,
            "sent_at": crate::store::now_ms(),
            "alert": {
                "id": alert.id,
                "tenant_id": alert.tenant_id.to_string(),
                "kind": alert.kind,
                "title": title(&alert.kind),
                "subject": alert.subject,
                "detail": alert.detail,
                "opened_at": alert.opened_at,
                "closed_at": alert.closed_at,
            },
        }))
        .expect("JSON values serialise");
        let signature = sign(&secret, &body);
        let posted = with_retries(self.config.attempts, self.config.backoff, || {
            let request = self
                .client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .header("X-Jasiyo-Event", event)
                .header("X-Jasiyo-Delivery", format!("{}-{}", alert.id, if closing { "closed" } else { "opened" }))
                .body(body.clone());
            async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) => Err(format!("answered {}", response.status())),
                    Err(error) => Err(format!("not reached: {error}")),
                }
            }
        })
        .await;
        match posted {
            Ok(()) => "webhook: sent".into(),
            Err(error) => format!("webhook: failed ({error})"),
        }
    }
}
