//! What an owner does to a hotspot user from the dashboard: extend it, end it now, or move
//! it to another device. Each change becomes router commands (in the outbox, delivered and
//! acknowledged like any other) and an event on the payment's timeline, written together;
//! the entitlement then follows the new command's state.

use std::time::Duration;

use jasiyo_shared::{Command, MacAddress};
use uuid::Uuid;

use super::service::Payments;
use super::settle::plan_user;
use crate::model::{Entitlement, TenantId};
use crate::store::users::UserChange;
use crate::store::{StoreError, now_ms};

/// The longest one extension may add.
pub const MAX_EXTENSION: Duration = Duration::from_secs(31 * 24 * 3600);

/// Why a change to a hotspot user was not made.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// No such user for this tenant.
    #[error("no such hotspot user")]
    NotFound,
    /// The change makes no sense as asked.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> UserError {
        match error {
            StoreError::Conflict(what) => UserError::Invalid(format!("{what} already exists")),
            other => UserError::Internal(other.into()),
        }
    }
}

impl Payments {
    /// Adds `by` to the user's access (from now if it has ended): the router gets the user
    /// again with the new expiry.
    pub async fn extend_user(&self, tenant: TenantId, id: Uuid, by: Duration) -> Result<Entitlement, UserError> {
        if by.is_zero() || by > MAX_EXTENSION {
            return Err(UserError::Invalid("an extension is between a minute and 31 days".into()));
        }
        let line = self.store.tenant_user(tenant, id).await?.ok_or(UserError::NotFound)?;
        let payment = self.store.payment(line.entitlement.payment_id).await?.ok_or(UserError::NotFound)?;
        let plan = self.store.plan(payment.plan_id).await?.ok_or(UserError::NotFound)?;
        let now = now_ms() / 1000;
        let expires_at = line.entitlement.expires_at.max(now) + by.as_secs() as i64;
        let e = &line.entitlement;
        let mut user = plan_user(&plan, &e.username, &e.password, e.device_mac, expires_at, payment.receipt.as_deref());
        // The router's uptime backstop grows with the extension.
        user.limit_uptime_secs = Some((expires_at - e.created_at / 1000).max(0) as u64);
        let words = format!("extended by {} by the owner", humantime::format_duration(by));
        let change = UserChange { expires_at, commands: &[super::settle::plan_upsert(&plan, user)], event: ("user_extended", &words) };
        self.apply_user_change(tenant, id, &change).await
    }

    /// Ends the user's access now: the router removes the user and ends its device's session.
    pub async fn end_user(&self, tenant: TenantId, id: Uuid) -> Result<Entitlement, UserError> {
        let line = self.store.tenant_user(tenant, id).await?.ok_or(UserError::NotFound)?;
        let e = &line.entitlement;
        let mut commands = vec![Command::RemoveHotspotUser { name: e.username.clone() }];
        if let Some(mac) = e.device_mac {
            commands.push(Command::EndSession { mac });
        }
        let change = UserChange {
            expires_at: (now_ms() / 1000).min(e.expires_at),
            commands: &commands,
            event: ("user_ended", "ended now by the owner"),
        };
        self.apply_user_change(tenant, id, &change).await
    }

    /// Binds the user to another device (the owner may, any time, unlike a customer's
    /// "already paid?" which allows one move away a day).
    pub async fn move_user(&self, tenant: TenantId, id: Uuid, mac: MacAddress) -> Result<Entitlement, UserError> {
        let line = self.store.tenant_user(tenant, id).await?.ok_or(UserError::NotFound)?;
        if line.entitlement.expires_at <= now_ms() / 1000 {
            return Err(UserError::Invalid("this user's access has ended; extend it first".into()));
        }
        if line.entitlement.device_mac == Some(mac) {
            return Err(UserError::Invalid("the user is already on that device".into()));
        }
        let payment = self.store.payment(line.entitlement.payment_id).await?.ok_or(UserError::NotFound)?;
        let router = line.entitlement.router_id;
        let moved = self.move_to(&payment, line.entitlement, mac, None).await.map_err(|e| UserError::Invalid(e.to_string()))?;
        self.hub.wake(router);
        tracing::info!(%tenant, user = %id, to = %mac, "the owner moved a hotspot user to another device");
        Ok(moved)
    }

    async fn apply_user_change(&self, tenant: TenantId, id: Uuid, change: &UserChange<'_>) -> Result<Entitlement, UserError> {
        let (payment, entitlement) = self.store.change_user(tenant, id, change, now_ms()).await?.ok_or(UserError::NotFound)?;
        self.hub.wake(entitlement.router_id);
        self.changed_payment(payment);
        tracing::info!(%tenant, user = %id, %payment, change = change.event.0, "hotspot user changed by the owner");
        Ok(entitlement)
    }
}
