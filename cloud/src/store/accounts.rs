//! What the dashboard keeps about people: accounts, their sessions and one-time links, and
//! what they changed. Password hashes and tokens are kept as hashes only, and the password
//! hash leaves the store through [`AccountStore::credentials`] alone.

use async_trait::async_trait;

use super::StoreResult;
use crate::model::{Account, AccountId, Email, LinkPurpose, NewAccount, Tenant, TenantId};

/// An account and its password hash (argon2id PHC string), for signing in.
pub struct Credentials {
    /// The account.
    pub account: Account,
    /// Its password hash; `None` until an invitation is accepted.
    pub password_hash: Option<String>,
}

/// A live session: whose it is.
#[derive(Clone, Debug)]
pub struct SessionOf {
    /// The account signed in.
    pub account: Account,
    /// Its tenant (`None` for an operator).
    pub tenant: Option<Tenant>,
    /// When the session began (Unix ms).
    pub created_at: i64,
}

/// The accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates a tenant named `tenant_name` and its owner's account (with `password_hash`),
    /// in one transaction: a taken name or e-mail address makes neither.
    async fn sign_up(&self, tenant_name: &str, owner: &NewAccount, password_hash: &str, now_ms: i64) -> StoreResult<(Tenant, Account)>;
    /// Creates an account (staff, an operator; an owner for an existing tenant) with a
    /// password hash, or none (an invitation).
    async fn create_account(&self, account: &NewAccount, password_hash: Option<&str>, now_ms: i64) -> StoreResult<Account>;
    /// The account with this e-mail address and its password hash.
    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>>;
    /// One account.
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// A tenant's accounts, oldest first.
    async fn tenant_accounts(&self, tenant: TenantId) -> StoreResult<Vec<Account>>;
    /// Sets an account's password hash and ends every session it has.
    async fn set_password(&self, id: AccountId, password_hash: &str, now_ms: i64) -> StoreResult<()>;
    /// Disables an account of `tenant` (its sessions end); false if there is no such account.
    async fn disable_account(&self, tenant: TenantId, id: AccountId, now_ms: i64) -> StoreResult<bool>;

    /// Keeps a session by the hash of its token.
    async fn create_session(&self, token_hash: &str, account: AccountId, now_ms: i64, expires_at: i64) -> StoreResult<()>;
    /// The session with this token hash if it is live at `now_ms`: not expired, not idle
    /// longer than `idle_ms`, its account enabled and its tenant not suspended. Notes it as
    /// used when it was last noted more than a minute ago.
    async fn session(&self, token_hash: &str, now_ms: i64, idle_ms: i64) -> StoreResult<Option<SessionOf>>;
    /// Ends a session.
    async fn end_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Keeps a one-time link for the account by the hash of its token.
    async fn create_link(
        &self,
        token_hash: &str,
        account: AccountId,
        purpose: LinkPurpose,
        now_ms: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Uses a one-time link: the account it was for, if the link exists with this purpose,
    /// is unused and unexpired; it cannot be used again.
    async fn use_link(&self, token_hash: &str, purpose: LinkPurpose, now_ms: i64) -> StoreResult<Option<AccountId>>;

    /// Suspends a tenant (`true`) or lifts its suspension; false if there is no such tenant.
    async fn set_suspended(&self, tenant: TenantId, suspended: bool, now_ms: i64) -> StoreResult<bool>;
    /// Records something a person changed (`detail` holds no secret).
    async fn record_account_action(
        &self,
        tenant: Option<TenantId>,
        account: AccountId,
        action: &str,
        detail: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
}
