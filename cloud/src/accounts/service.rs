//! The accounts service (see the module's documentation).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::passwords::{self, WeakPassword};
use crate::model::{Account, AccountId, Email, LinkPurpose, NewAccount, Role, Tenant, TenantId};
use crate::notify::{Mail, Mailer, NotifyError};
use crate::payments::phone::Msisdn;
use crate::store::accounts::SessionOf;
use crate::store::counters::CounterHit;
use crate::store::{Store, StoreError, now_ms};
use crate::token::{AgentToken, hash_token};

/// How sessions and links behave, and how many attempts are allowed.
#[derive(Clone, Debug)]
pub struct AccountsConfig {
    /// The cloud's public address (links in e-mails start with it).
    pub public_url: String,
    /// A session ends after this long, whatever happens.
    pub lifetime: Duration,
    /// A session ends once unused this long.
    pub idle: Duration,
    /// A password-reset link works this long.
    pub reset_link_for: Duration,
    /// An invitation works this long.
    pub invite_link_for: Duration,
    /// Sign-in attempts per account per [`Self::attempt_window`].
    pub attempts_per_account: i64,
    /// Sign-in and sign-up attempts per client address per [`Self::attempt_window`].
    pub attempts_per_address: i64,
    /// The window attempts are counted in.
    pub attempt_window: Duration,
}

impl AccountsConfig {
    /// The defaults: 30-day sessions ending after 12 idle hours, 1-hour reset links,
    /// 7-day invitations, 10 sign-ins per account and 50 per address each 15 minutes.
    pub fn new(public_url: impl Into<String>) -> AccountsConfig {
        AccountsConfig {
            public_url: public_url.into(),
            lifetime: Duration::from_secs(30 * 24 * 3600),
            idle: Duration::from_secs(12 * 3600),
            reset_link_for: Duration::from_secs(3600),
            invite_link_for: Duration::from_secs(7 * 24 * 3600),
            attempts_per_account: 10,
            attempts_per_address: 50,
            attempt_window: Duration::from_secs(15 * 60),
        }
    }

    /// Whether cookies must be marked `Secure` (the cloud is reached over https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// A new business signing up.
#[derive(Clone)]
pub struct SignUp {
    /// The business (the tenant's name, shown on its portal).
    pub business: String,
    /// The owner's name.
    pub name: String,
    /// The owner's e-mail address (as typed).
    pub email: String,
    /// The owner's phone (as typed).
    pub phone: String,
    /// The password chosen.
    pub password: String,
}

/// A session just made: its token goes into the cookie, once. `Debug` hides it.
pub struct NewSession {
    /// The cookie's value.
    pub token: String,
    /// Who signed in.
    pub account: Account,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession").field("token", &"***").field("account", &self.account.id).finish()
    }
}

/// Why an accounts operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is wrong; the text says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The password is too weak.
    #[error(transparent)]
    Weak(#[from] WeakPassword),
    /// The business name or e-mail address is taken.
    #[error("that business name or e-mail address is already registered")]
    Taken,
    /// Wrong e-mail address or password (which one is not said).
    #[error("wrong e-mail address or password")]
    WrongCredentials,
    /// Too many attempts; try again later.
    #[error("too many attempts; wait a few minutes and try again")]
    RateLimited,
    /// The link is unknown, used or expired.
    #[error("this link has expired or was already used")]
    LinkInvalid,
    /// Something broke.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> AccountError {
        match error {
            StoreError::Conflict(_) => AccountError::Taken,
            other => AccountError::Internal(other.into()),
        }
    }
}

/// The accounts service.
pub struct Accounts {
    store: Arc<dyn Store>,
    config: AccountsConfig,
    mailer: Arc<dyn Mailer>,
}

/// The longest business or person name accepted.
const MAX_NAME_CHARS: usize = 80;

fn check_name(what: &str, text: &str) -> Result<String, AccountError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NAME_CHARS || text.chars().any(char::is_control) {
        return Err(AccountError::Invalid(format!("{what}: 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(text.to_string())
}

impl Accounts {
    /// The service over `store`, sending mail through `mailer`.
    pub fn new(store: Arc<dyn Store>, config: AccountsConfig, mailer: Arc<dyn Mailer>) -> Arc<Accounts> {
        Arc::new(Accounts { store, config, mailer })
    }

    /// How it is configured.
    pub fn config(&self) -> &AccountsConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Creates a tenant and its owner, signed in.
    pub async fn sign_up(&self, form: SignUp, client_ip: Option<&str>) -> Result<NewSession, AccountError> {
        let business = check_name("business name", &form.business)?;
        let name = check_name("your name", &form.name)?;
        let email = Email::parse(&form.email).ok_or_else(|| AccountError::Invalid("e-mail address: not a valid address".into()))?;
        let phone = Msisdn::parse(&form.phone).map_err(|e| AccountError::Invalid(format!("phone: {e}")))?;
        passwords::check_new(&form.password)?;
        self.spend_attempts(None, client_ip).await?;
        let hash = passwords::hash(&form.password).await?;
        let owner = NewAccount { tenant_id: None, email, name, phone: Some(phone.as_str().to_string()), role: Role::Owner };
        let (tenant, account) = self.store.sign_up(&business, &owner, &hash, now_ms()).await?;
        tracing::info!(tenant = %tenant.id, account = %account.id, "a new business signed up");
        self.start_session(account).await
    }

    /// Signs in with an e-mail address and password.
    pub async fn sign_in(&self, email: &str, password: &str, client_ip: Option<&str>) -> Result<NewSession, AccountError> {
        let email = Email::parse(email);
        self.spend_attempts(email.as_ref(), client_ip).await?;
        let credentials = match &email {
            Some(email) => self.store.credentials(email).await?,
            None => None,
        };
        let (account, hash) = match credentials {
            Some(c) => (Some(c.account), c.password_hash),
            None => (None, None),
        };
        let matches = passwords::verify(password, hash.as_deref()).await;
        let Some(account) = account.filter(|a| matches && a.disabled_at.is_none()) else {
            tracing::warn!(client_ip, "a sign-in with a wrong e-mail address or password");
            return Err(AccountError::WrongCredentials);
        };
        if let Some(tenant) = account.tenant_id
            && self.tenant(tenant).await?.is_some_and(|t| t.suspended_at.is_some())
        {
            tracing::warn!(account = %account.id, %tenant, "a sign-in to a suspended tenant");
            return Err(AccountError::WrongCredentials);
        }
        tracing::info!(account = %account.id, "signed in");
        self.start_session(account).await
    }

    /// The live session with this cookie token.
    pub async fn session(&self, token: &str) -> Result<Option<SessionOf>, AccountError> {
        let idle = self.config.idle.as_millis() as i64;
        Ok(self.store.session(&hash_token(token), now_ms(), idle).await?)
    }

    /// Ends the session with this cookie token.
    pub async fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        Ok(self.store.end_session(&hash_token(token)).await?)
    }

    /// Changes the password (the current one is asked again); every session of the account
    /// ends and a new one is returned.
    pub async fn change_password(&self, account: &Account, current: &str, new: &str) -> Result<NewSession, AccountError> {
        passwords::check_new(new)?;
        self.spend_attempts(Some(&account.email), None).await?;
        let stored = self.store.credentials(&account.email).await?.and_then(|c| c.password_hash);
        if !passwords::verify(current, stored.as_deref()).await {
            return Err(AccountError::WrongCredentials);
        }
        self.store.set_password(account.id, &passwords::hash(new).await?, now_ms()).await?;
        tracing::info!(account = %account.id, "password changed; its other sessions ended");
        self.start_session(account.clone()).await
    }

    /// Sends a password-reset link to the address if it has an account (and says nothing
    /// either way).
    pub async fn request_reset(&self, email: &str, client_ip: Option<&str>) -> Result<(), AccountError> {
        let Some(email) = Email::parse(email) else { return Ok(()) };
        self.spend_attempts(Some(&email), client_ip).await?;
        let Some(link) = self.reset_link(&email).await? else { return Ok(()) };
        let body = format!(
            "Someone (we hope you) asked to reset your Jasiyo password.\n\nOpen this link within an hour to choose a new one:\n{link}\n\nIf it was not you, ignore this message; your password stays as it is."
        );
        self.mail(&email, "Reset your Jasiyo password", body).await;
        Ok(())
    }

    /// A password-reset link for the account with this address (`None`: no such account).
    /// The operator's CLI prints it; [`Self::request_reset`] mails it.
    pub async fn reset_link(&self, email: &Email) -> Result<Option<String>, AccountError> {
        let Some(credentials) = self.store.credentials(email).await? else { return Ok(None) };
        let link = self.new_link(credentials.account.id, LinkPurpose::Reset, self.config.reset_link_for).await?;
        Ok(Some(link))
    }

    /// Invites a staff member to `tenant` by e-mail: makes the account (no password yet)
    /// and returns the invitation link, also mailed when a mail server is configured.
    pub async fn invite_staff(&self, tenant: &Tenant, by: &Account, email: &str, name: &str) -> Result<String, AccountError> {
        let email = Email::parse(email).ok_or_else(|| AccountError::Invalid("e-mail address: not a valid address".into()))?;
        let name = check_name("name", name)?;
        let staff = NewAccount { tenant_id: Some(tenant.id), email: email.clone(), name, phone: None, role: Role::Staff };
        let (_, link) = self.invite(&staff).await?;
        self.record(Some(tenant.id), by.id, "invite_staff", &format!("invited {email}")).await;
        let body = format!(
            "{} invited you to help run {} on Jasiyo.\n\nOpen this link within 7 days to choose your password:\n{link}\n",
            by.name, tenant.name
        );
        self.mail(&email, &format!("Join {} on Jasiyo", tenant.name), body).await;
        Ok(link)
    }

    /// Makes an account without a password and returns the one-time link (valid for
    /// [`AccountsConfig::invite_link_for`]) its person opens to choose one. Sends nothing.
    pub async fn invite(&self, account: &NewAccount) -> Result<(Account, String), AccountError> {
        let account = self.store.create_account(account, None, now_ms()).await?;
        let link = self.new_link(account.id, LinkPurpose::Invite, self.config.invite_link_for).await?;
        Ok((account, link))
    }

    /// Uses a one-time link to set a password: the account is signed in (every other
    /// session of it ended).
    pub async fn finish_link(&self, token: &str, purpose: LinkPurpose, new_password: &str) -> Result<NewSession, AccountError> {
        passwords::check_new(new_password)?;
        let hash = passwords::hash(new_password).await?;
        let Some(id) = self.store.use_link(&hash_token(token), purpose, now_ms()).await? else {
            return Err(AccountError::LinkInvalid);
        };
        self.store.set_password(id, &hash, now_ms()).await?;
        let account = self.store.account(id).await?.ok_or(AccountError::LinkInvalid)?;
        tracing::info!(account = %id, purpose = purpose.as_str(), "password set through a one-time link");
        self.start_session(account).await
    }

    /// Creates an operator account (the CLI).
    pub async fn create_operator(&self, email: &str, name: &str, password: &str) -> Result<Account, AccountError> {
        let email = Email::parse(email).ok_or_else(|| AccountError::Invalid("e-mail address: not a valid address".into()))?;
        passwords::check_new(password)?;
        let operator = NewAccount { tenant_id: None, email, name: check_name("name", name)?, phone: None, role: Role::Operator };
        Ok(self.store.create_account(&operator, Some(&passwords::hash(password).await?), now_ms()).await?)
    }

    /// Records something a person changed (and logs it); `detail` holds no secret.
    pub async fn record(&self, tenant: Option<TenantId>, account: AccountId, action: &str, detail: &str) {
        tracing::info!(tenant = ?tenant, %account, action, detail, "dashboard change");
        if let Err(error) = self.store.record_account_action(tenant, account, action, detail, now_ms()).await {
            tracing::error!(%error, action, "could not record a dashboard change");
        }
    }

    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>, AccountError> {
        Ok(self.store.find_tenant(&id.to_string()).await?)
    }

    async fn start_session(&self, account: Account) -> Result<NewSession, AccountError> {
        let token = AgentToken::generate();
        let now = now_ms();
        self.store.create_session(&token.hash(), account.id, now, now + self.config.lifetime.as_millis() as i64).await?;
        Ok(NewSession { token: token.expose().to_string(), account })
    }

    async fn new_link(&self, account: AccountId, purpose: LinkPurpose, valid_for: Duration) -> Result<String, AccountError> {
        let token = AgentToken::generate();
        let now = now_ms();
        self.store.create_link(&token.hash(), account, purpose, now, now + valid_for.as_millis() as i64).await?;
        let path = match purpose {
            LinkPurpose::Reset => "reset",
            LinkPurpose::Invite => "invite",
        };
        Ok(format!("{}/dashboard/{path}/{}", self.config.public_url.trim_end_matches('/'), token.expose()))
    }

    async fn mail(&self, to: &Email, subject: &str, body: String) {
        match self.mailer.send(Mail { to: to.clone(), subject: subject.to_string(), body }).await {
            Ok(()) => tracing::info!(%to, subject, "mail sent"),
            Err(NotifyError::NotConfigured) => {}
            Err(error) => tracing::error!(%to, subject, %error, "mail not sent"),
        }
    }

    /// Counts an attempt for the account (its address) and the client address in the
    /// shared counters; refuses once either is over its limit.
    async fn spend_attempts(&self, email: Option<&Email>, client_ip: Option<&str>) -> Result<(), AccountError> {
        let now = now_ms();
        let window = (self.config.attempt_window.as_millis() as i64).max(1);
        let start = now - now.rem_euclid(window);
        let mut hits = Vec::new();
        let mut limits = Vec::new();
        if let Some(email) = email {
            hits.push(CounterHit { key: format!("sa:{}", hash_token(email.as_str())), window_start: start, expires_at: start + window });
            limits.push(self.config.attempts_per_account);
        }
        if let Some(ip) = client_ip {
            hits.push(CounterHit { key: format!("si:{ip}"), window_start: start, expires_at: start + window });
            limits.push(self.config.attempts_per_address);
        }
        if hits.is_empty() {
            return Ok(());
        }
        let counts = self.store.bump_counters(&hits).await?;
        if counts.iter().zip(&limits).any(|(count, limit)| count > limit) {
            tracing::warn!(client_ip, "sign-in attempts over the limit");
            return Err(AccountError::RateLimited);
        }
        Ok(())
    }
}
