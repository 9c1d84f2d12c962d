//! Telling people things outside the dashboard: e-mail (one-time links now; alerts too).
//! The operator configures a mail server; without one, nothing is sent and the caller says
//! so (a link can still be issued from the CLI).

mod smtp;

pub use smtp::SmtpMailer;

use async_trait::async_trait;

use crate::model::Email;

/// A message to one person.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub body: String,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No mail server is configured.
    #[error("no mail server is configured")]
    NotConfigured,
    /// The server refused or could not be reached.
    #[error("sending failed: {0}")]
    Failed(String),
}

/// Sends e-mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message.
    async fn send(&self, mail: Mail) -> Result<(), NotifyError>;
}

/// The mailer when none is configured: sends nothing.
pub struct NoMailer;

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, mail: Mail) -> Result<(), NotifyError> {
        tracing::warn!(to = %mail.to, subject = %mail.subject, "not sent: no mail server is configured (--smtp-url)");
        Err(NotifyError::NotConfigured)
    }
}
