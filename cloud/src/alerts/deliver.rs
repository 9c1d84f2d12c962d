//! Telling an alert's tenant that it opened or closed: an e-mail to each of its owners
//! (through the [`Mailer`](crate::notify::Mailer)) and, when the tenant set one, a JSON
//! POST to its webhook signed with HMAC-SHA256 over the raw body under the tenant's secret
//! ([`SIGNATURE_HEADER`]: `sha256=<hex>`). Each function here is one try; the durable
//! delivery loop (`outbox.rs`) decides when to try, how often, and records what happened.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Alerts, title};
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

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918,
/// unique-local), link-local (cloud metadata services live there), shared (CGNAT),
/// unspecified, multicast or documentation.
pub fn public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(std::net::IpAddr::V4(v4));
            }
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// The address to post `url` to: its host resolved once, refused when an address is not
/// public (unless allowed), and pinned for the request, so a name cannot resolve to a
/// public address when checked and to an internal one when used.
async fn resolve_webhook(url: &str, allow_private: bool) -> Result<(String, std::net::SocketAddr), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_string())?;
    let host = parsed.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = parsed.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("{host} not resolved: {e}"))?.collect();
    let first = *addrs.first().ok_or_else(|| format!("{host} has no address"))?;
    if !allow_private && addrs.iter().any(|a| !public_address(a.ip())) {
        return Err(format!("{host} resolves to an address that is not public; refused"));
    }
    Ok((host, first))
}

/// What one try of a delivery came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tried {
    /// Finished: told, or nothing to tell (no webhook set, no owner), or refused for a
    /// reason another try cannot change (an internal address, a secret that does not open).
    Done(String),
    /// Failed in a way a later try may not (a server down, an answer other than 2xx).
    Failed(String),
}

impl Alerts {
    /// One try at mailing the alert's change to each of its tenant's owners.
    pub(super) async fn mail_owners(&self, alert: &Alert, closing: bool) -> Tried {
        let tenant_id = alert.tenant_id.to_string();
        let (tenant, owners) = match tokio::try_join!(self.store.find_tenant(&tenant_id), self.store.tenant_accounts(alert.tenant_id)) {
            Ok((Some(tenant), accounts)) => {
                (tenant, accounts.into_iter().filter(|a| a.role == Role::Owner && a.disabled_at.is_none()).collect::<Vec<_>>())
            }
            Ok((None, _)) => return Tried::Done("mail: no such tenant".into()),
            Err(error) => return Tried::Failed(format!("mail: failed ({error})")),
        };
        if owners.is_empty() {
            return Tried::Done("mail: no owner to tell".into());
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
            if let Err(error) = self.mailer.send(mail).await {
                failed.push(format!("{}: {error}", owner.email));
            }
        }
        if failed.is_empty() {
            Tried::Done(format!("mail: sent to {} owner(s)", owners.len()))
        } else {
            Tried::Failed(format!("mail: failed ({})", failed.join("; ")))
        }
    }

    /// One try at posting the alert's change to its tenant's webhook, signed.
    pub(super) async fn post_webhook(&self, alert: &Alert, closing: bool) -> Tried {
        let webhook = match self.store.alert_settings(alert.tenant_id).await {
            Ok(settings) => settings.webhook,
            Err(error) => return Tried::Failed(format!("webhook: failed ({error})")),
        };
        let Some(Webhook { url, sealed_secret }) = webhook else { return Tried::Done("webhook: none set".into()) };
        let secret = match super::secret::open_secret(&self.sealer, alert.tenant_id, &sealed_secret) {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(tenant = %alert.tenant_id, %error, "the alert webhook's secret does not open (another sealing key?)");
                return Tried::Done("webhook: failed (its secret does not open under this sealing key; set the webhook again)".into());
            }
        };
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
        let client = match resolve_webhook(&url, self.config.allow_private_webhooks).await {
            Ok((host, addr)) => match reqwest::Client::builder()
                .timeout(self.config.webhook_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .resolve(&host, addr)
                .build()
            {
                Ok(client) => client,
                Err(error) => return Tried::Failed(format!("webhook: failed ({error})")),
            },
            Err(error) => {
                tracing::warn!(tenant = %alert.tenant_id, %error, "an alert webhook was not posted");
                return Tried::Done(format!("webhook: refused ({error})"));
            }
        };
        let request = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .header("X-Jasiyo-Event", event)
            .header("X-Jasiyo-Delivery", format!("{}-{}", alert.id, if closing { "closed" } else { "opened" }))
            .body(body);
        match request.send().await {
            Ok(response) if response.status().is_success() => Tried::Done("webhook: sent".into()),
            Ok(response) => Tried::Failed(format!("webhook: failed (answered {})", response.status())),
            Err(error) => Tried::Failed(format!("webhook: failed (not reached: {error})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.88.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public_address(private.parse().unwrap()), "{private}");
        }
        for public in ["41.90.64.1", "8.8.8.8", "2c0f:fe38::1"] {
            assert!(public_address(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_webhook_to_an_internal_address_is_refused() {
        let refused = resolve_webhook("https://127.0.0.1:6379/", false).await.unwrap_err();
        assert!(refused.contains("not public"), "{refused}");
        assert!(resolve_webhook("https://localhost/", false).await.is_err());
        assert_eq!(resolve_webhook("http://127.0.0.1:9/", true).await.unwrap().1, "127.0.0.1:9".parse().unwrap());
    }
}
