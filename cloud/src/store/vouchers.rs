//! Voucher batches and their codes: creating a batch with the commands that load it onto
//! its routers, listing batches and codes, revoking, and the portal's redemption. Every
//! query is scoped to the tenant in SQL.

use async_trait::async_trait;
use jasiyo_shared::{Command, MacAddress, RouterId};

use super::StoreResult;
use crate::model::{PlanId, TenantId, VoucherBatch, VoucherBatchId, VoucherCode, VoucherCounts, VoucherLine};

/// What a code typed on a router's portal turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// Good: the device may log in with it. `first` when this was its first use.
    Valid {
        /// The plan it gives.
        plan_id: PlanId,
        /// Whether this use was its first.
        first: bool,
    },
    /// No such code loaded on this router.
    Unknown,
    /// Never used before its batch's valid-until.
    Expired,
    /// Withdrawn by the owner.
    Revoked,
    /// Already used by another device, or on another router (a code is for the first
    /// router it is used on).
    InUseElsewhere,
}

/// Voucher batches and codes.
#[async_trait]
pub trait VoucherStore: Send + Sync {
    /// Stores `batch` with `codes` and appends `commands` to their routers' outboxes, in one
    /// transaction. [`super::StoreError::Conflict`] when one of the codes exists for the
    /// tenant already (the caller draws new ones); `NotFound` when a router is missing.
    async fn create_voucher_batch(
        &self,
        batch: &VoucherBatch,
        codes: &[VoucherCode],
        commands: &[(RouterId, Command)],
        now_ms: i64,
    ) -> StoreResult<()>;

    /// The tenant's batches, newest first, with their codes counted by state at `now` (Unix s).
    async fn voucher_batches(&self, tenant: TenantId, now: i64) -> StoreResult<Vec<(VoucherBatch, VoucherCounts)>>;

    /// One of the tenant's batches.
    async fn voucher_batch(&self, tenant: TenantId, id: VoucherBatchId) -> StoreResult<Option<VoucherBatch>>;

    /// A batch of whichever tenant (the operator's command line).
    async fn voucher_batch_any(&self, id: VoucherBatchId) -> StoreResult<Option<VoucherBatch>>;

    /// A batch's codes in code order, each in its state at `now` (Unix s).
    async fn voucher_codes(&self, tenant: TenantId, id: VoucherBatchId, now: i64) -> StoreResult<Vec<VoucherLine>>;

    /// Revokes the batch's codes not revoked yet (only `code`, when given; the whole batch
    /// is then marked revoked too) and appends `removal(code)` to each of the batch's
    /// routers' outboxes for each, in one transaction. Returns the codes revoked now.
    async fn revoke_vouchers(
        &self,
        tenant: TenantId,
        id: VoucherBatchId,
        code: Option<&VoucherCode>,
        removal: &(dyn for<'c> Fn(&'c VoucherCode) -> Vec<Command> + Sync),
        now_ms: i64,
    ) -> StoreResult<Vec<VoucherCode>>;

    /// Takes up to `limit` unsold codes whose batch's valid-until is at or before `before`
    /// (Unix s) and that are still on the routers: marks them removed and appends
    /// `removal(code)` to each of their batch's routers' outboxes, in one transaction.
    /// Returns the codes and the routers given commands.
    async fn remove_expired_vouchers(
        &self,
        before: i64,
        limit: u32,
        removal: &(dyn for<'c> Fn(&'c VoucherCode) -> Vec<Command> + Sync),
        now_ms: i64,
    ) -> StoreResult<(Vec<VoucherCode>, Vec<RouterId>)>;

    /// A code typed on `router`'s portal by the device `mac`: valid when it is loaded on
    /// that router and unused (it becomes in use, by this device, now) or in use by this
    /// same device.
    async fn redeem_voucher(&self, router: RouterId, code: &VoucherCode, mac: MacAddress, now_ms: i64) -> StoreResult<Redeemed>;
}
