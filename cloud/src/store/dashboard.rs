//! The dashboard's reads: every one takes the tenant (from the signed-in session) and is
//! scoped to it in SQL, so no id in a URL or form can reach another tenant's rows.

use async_trait::async_trait;
use jasiyo_shared::RouterId;

use super::StoreResult;
use crate::model::{NewPlan, Payment, PaymentId, PaymentState, Plan, PlanId, PlanMove, ProviderKind, StoredCommand, TenantId};

/// Which payments a listing shows (every part optional; all given parts must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// In this state.
    pub state: Option<PaymentState>,
    /// On this router.
    pub router: Option<RouterId>,
    /// For this plan.
    pub plan: Option<PlanId>,
    /// Started at or after (Unix ms).
    pub from_ms: Option<i64>,
    /// Started before (Unix ms).
    pub to_ms: Option<i64>,
    /// The phone (`2547...`, exact) or the M-Pesa receipt (exact, upper-cased).
    pub search: Option<String>,
}

/// Where a page of a listing starts: after this payment (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentCursor {
    /// The last shown payment's start (Unix ms).
    pub created_at: i64,
    /// Its id (breaks ties).
    pub id: PaymentId,
}

/// A payment as a listing shows it.
#[derive(Clone, Debug)]
pub struct PaymentLine {
    /// The payment.
    pub payment: Payment,
    /// Its router's name.
    pub router_name: String,
    /// Its plan's name.
    pub plan_name: String,
}

/// Paid sales on one day in the tenant's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySales {
    /// The day: days since 1970-01-01 in the tenant's time zone.
    pub day: i64,
    /// How many payments were paid.
    pub count: i64,
    /// Their total in KES.
    pub kes: i64,
}

/// Count and total of a set of payments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// How many.
    pub count: i64,
    /// How many of them are paid.
    pub paid: i64,
    /// The paid ones' total in KES.
    pub paid_kes: i64,
}

/// The dashboard's tenant-scoped reads.
#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// The tenant's payments matching `filter`, newest first, starting after `after`, at
    /// most `limit` (keyset pagination over `(tenant_id, created_at, id)`).
    async fn payment_lines(
        &self,
        tenant: TenantId,
        filter: &PaymentFilter,
        after: Option<PaymentCursor>,
        limit: u32,
    ) -> StoreResult<Vec<PaymentLine>>;
    /// Count and paid total of the tenant's payments matching `filter`.
    async fn payment_totals(&self, tenant: TenantId, filter: &PaymentFilter) -> StoreResult<Totals>;
    /// One of the tenant's payments (another tenant's is `None`, as an unknown one is).
    async fn tenant_payment(&self, tenant: TenantId, id: PaymentId) -> StoreResult<Option<PaymentLine>>;
    /// The tenant's paid sales per day since `since_ms`, days counted at `utc_offset_secs`.
    async fn sales_by_day(&self, tenant: TenantId, since_ms: i64, utc_offset_secs: i64) -> StoreResult<Vec<DaySales>>;
    /// One of the tenant's plans (another tenant's is `None`, as an unknown one is).
    async fn tenant_plan(&self, tenant: TenantId, id: PlanId) -> StoreResult<Option<Plan>>;
    /// Replaces what one of the tenant's plans sells (payments keep the price they were
    /// started with); false when the tenant has no such plan. A name another of its plans
    /// has is [`super::StoreError::Conflict`].
    async fn update_plan(&self, tenant: TenantId, id: PlanId, plan: &NewPlan) -> StoreResult<bool>;
    /// Offers one of the tenant's plans on the portal, or stops offering it; false when
    /// the tenant has no such plan.
    async fn set_plan_active(&self, tenant: TenantId, id: PlanId, active: bool) -> StoreResult<bool>;
    /// Moves one of the tenant's plans in the order its portal shows them; the plan's new
    /// place (1 first), or `None` when the tenant has no such plan.
    async fn move_plan(&self, tenant: TenantId, id: PlanId, to: PlanMove) -> StoreResult<Option<u32>>;
    /// The tenant's current provider and when it was last set (Unix ms).
    async fn current_provider(&self, tenant: TenantId) -> StoreResult<Option<(ProviderKind, i64)>>;
    /// When the tenant's provider was set, and to which, newest first, at most `limit`.
    async fn provider_changes(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<(ProviderKind, i64)>>;
    /// The commands with these sequence numbers in `router`'s outbox, if the router is the
    /// tenant's (another tenant's router gives none), in sequence order.
    async fn tenant_commands(&self, tenant: TenantId, router: RouterId, seqs: &[u64]) -> StoreResult<Vec<StoredCommand>>;
}
