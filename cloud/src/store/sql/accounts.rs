//! Dashboard accounts, sessions, one-time links and the actions people took; the
//! [`AccountStore`] trait is implemented here directly (every method is one query or one
//! transaction). Compiled once per backend (see `sql/mod.rs`).

use async_trait::async_trait;

use super::This;
use crate::model::{Account, AccountId, Email, LinkPurpose, NewAccount, Role, Tenant, TenantId};
use crate::store::accounts::{AccountStore, Credentials, SessionOf};
use crate::store::sql::rows::{TENANT_COLUMNS, TenantRow, qualified};
use crate::store::sql::{Backend, conflict_or, parse_uuid};
use crate::store::{StoreError, StoreResult};

/// `accounts`.
const ACCOUNT_COLUMNS: &str = "id, tenant_id, email, name, phone, role, password_hash, created_at, disabled_at";

/// A session is noted as used at most this often (a write per page view would be waste).
const TOUCH_EVERY_MS: i64 = 60_000;

/// An `accounts` row.
#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    tenant_id: Option<String>,
    email: String,
    name: String,
    phone: Option<String>,
    role: String,
    password_hash: Option<String>,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl AccountRow {
    fn into_credentials(self) -> StoreResult<Credentials> {
        let account = Account {
            id: AccountId(parse_uuid("account id", &self.id)?),
            tenant_id: self.tenant_id.as_deref().map(|t| parse_uuid("tenant id", t).map(TenantId)).transpose()?,
            email: Email::parse(&self.email).ok_or_else(|| StoreError::Corrupt(format!("account e-mail {:?}", self.email)))?,
            name: self.name,
            phone: self.phone,
            role: Role::parse(&self.role).ok_or_else(|| StoreError::Corrupt(format!("account role {:?}", self.role)))?,
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
            disabled_at: self.disabled_at,
        };
        Ok(Credentials { account, password_hash: self.password_hash })
    }
}

/// A session joined with its account and tenant.
#[derive(sqlx::FromRow)]
struct SessionRow {
    s_created_at: i64,
    s_last_seen_at: i64,
    #[sqlx(flatten)]
    account: AccountRow,
}

async fn insert_account(
    tx: &mut sqlx::Transaction<'_, super::Db>,
    account: &NewAccount,
    password_hash: Option<&str>,
    now_ms: i64,
) -> StoreResult<Account> {
    let id = AccountId::random();
    sqlx::query(
        "INSERT INTO accounts (id, tenant_id, email, name, phone, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(account.tenant_id.map(|t| t.to_string()))
    .bind(account.email.as_str())
    .bind(&account.name)
    .bind(&account.phone)
    .bind(account.role.as_str())
    .bind(password_hash)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_or(e, format!("an account for {}", account.email)))?;
    Ok(Account {
        id,
        tenant_id: account.tenant_id,
        email: account.email.clone(),
        name: account.name.clone(),
        phone: account.phone.clone(),
        role: account.role,
        has_password: password_hash.is_some(),
        created_at: now_ms,
        disabled_at: None,
    })
}

#[async_trait]
impl AccountStore for This {
    async fn sign_up(&self, tenant_name: &str, owner: &NewAccount, password_hash: &str, now_ms: i64) -> StoreResult<(Tenant, Account)> {
        let mut tx = self.writes().begin().await?;
        let tenant = super::routers::insert_tenant(&mut tx, tenant_name, now_ms).await?;
        let owner = NewAccount { tenant_id: Some(tenant.id), role: Role::Owner, ..owner.clone() };
        let account = insert_account(&mut tx, &owner, Some(password_hash), now_ms).await?;
        tx.commit().await?;
        Ok((tenant, account))
    }

    async fn create_account(&self, account: &NewAccount, password_hash: Option<&str>, now_ms: i64) -> StoreResult<Account> {
        let mut tx = self.writes().begin().await?;
        let account = insert_account(&mut tx, account, password_hash, now_ms).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        let row: Option<AccountRow> = sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(self.reads()).await?;
        row.map(AccountRow::into_credentials).transpose()
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row: Option<AccountRow> = sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(self.reads()).await?;
        row.map(|r| r.into_credentials().map(|c| c.account)).transpose()
    }

    async fn tenant_accounts(&self, tenant: TenantId) -> StoreResult<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 ORDER BY created_at, email");
        let rows: Vec<AccountRow> = sqlx::query_as(&sql).bind(tenant.to_string()).fetch_all(self.reads()).await?;
        rows.into_iter().map(|r| r.into_credentials().map(|c| c.account)).collect()
    }

    async fn set_password(&self, id: AccountId, password_hash: &str, _now_ms: i64) -> StoreResult<()> {
        let mut tx = self.writes().begin().await?;
        let done = sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn disable_account(&self, tenant: TenantId, id: AccountId, now_ms: i64) -> StoreResult<bool> {
        let mut tx = self.writes().begin().await?;
        let done = sqlx::query("UPDATE accounts SET disabled_at = $3 WHERE id = $1 AND tenant_id = $2 AND disabled_at IS NULL")
            .bind(id.to_string())
            .bind(tenant.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_session(&self, token_hash: &str, account: AccountId, now_ms: i64, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)")
            .bind(token_hash)
            .bind(account.to_string())
            .bind(now_ms)
            .bind(expires_at)
            .execute(self.writes())
            .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now_ms: i64, idle_ms: i64) -> StoreResult<Option<SessionOf>> {
        let sql = format!(
            "SELECT s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, {} FROM sessions s \
             JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND a.disabled_at IS NULL",
            qualified(ACCOUNT_COLUMNS, "a")
        );
        let row: Option<SessionRow> =
            sqlx::query_as(&sql).bind(token_hash).bind(now_ms).bind(now_ms - idle_ms).fetch_optional(self.reads()).await?;
        let Some(row) = row else { return Ok(None) };
        let (created_at, last_seen_at) = (row.s_created_at, row.s_last_seen_at);
        let account = row.account.into_credentials()?.account;
        let tenant = match account.tenant_id {
            Some(id) => {
                let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
                let row: Option<TenantRow> = sqlx::query_as(&sql).bind(id.to_string()).fetch_optional(self.reads()).await?;
                match row.map(Tenant::try_from).transpose()? {
                    Some(tenant) if tenant.suspended_at.is_none() => Some(tenant),
                    _ => return Ok(None),
                }
            }
            None => None,
        };
        if now_ms - last_seen_at > TOUCH_EVERY_MS {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now_ms)
                .execute(self.writes())
                .await?;
        }
        Ok(Some(SessionOf { account, tenant, created_at }))
    }

    async fn end_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.writes()).await?;
        Ok(())
    }

    async fn create_link(
        &self,
        token_hash: &str,
        account: AccountId,
        purpose: LinkPurpose,
        now_ms: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO account_links (token_hash, account_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(account.to_string())
            .bind(purpose.as_str())
            .bind(now_ms)
            .bind(expires_at)
            .execute(self.writes())
            .await?;
        Ok(())
    }

    async fn use_link(&self, token_hash: &str, purpose: LinkPurpose, now_ms: i64) -> StoreResult<Option<AccountId>> {
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE account_links SET used_at = $3 \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING account_id",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now_ms)
        .fetch_optional(self.writes())
        .await?;
        id.map(|id| parse_uuid("account id", &id).map(AccountId)).transpose()
    }

    async fn set_suspended(&self, tenant: TenantId, suspended: bool, now_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE tenants SET suspended_at = $2 WHERE id = $1")
            .bind(tenant.to_string())
            .bind(suspended.then_some(now_ms))
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_account_action(
        &self,
        tenant: Option<TenantId>,
        account: AccountId,
        action: &str,
        detail: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO account_actions (tenant_id, account_id, action, detail, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(tenant.map(|t| t.to_string()))
            .bind(account.to_string())
            .bind(action)
            .bind(detail)
            .bind(now_ms)
            .execute(self.writes())
            .await?;
        Ok(())
    }
}
