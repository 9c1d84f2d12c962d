//! E-mail over SMTP (lettre), to the server the operator names with `--smtp-url`:
//! `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://...:465` (TLS from the
//! start), or `smtp://host:25` (plain, for a relay on the same machine or a test server).
//! The URL carries the server's password: it is never logged.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Mail, Mailer, NotifyError};

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending as `from` (`Jasiyo <noreply@example.com>`).
    pub fn new(url: &str, from: &str) -> anyhow::Result<SmtpMailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp-url is not a usable SMTP URL ({e}); use smtp://host:port or smtps://user:pass@host:465"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|e| anyhow::anyhow!("--mail-from {from:?} is not a mailbox: {e}"))?;
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), NotifyError> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|e| NotifyError::Failed(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| NotifyError::Failed(format!("building the message: {e}")))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| NotifyError::Failed(e.to_string()))
    }
}
