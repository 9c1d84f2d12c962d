//! Voucher sales: a code's first use is its sale (the owner sold the card for cash before
//! the customer typed it), so sales are read from the codes themselves, not stored twice.
//! They are listed and totalled apart from M-Pesa payments: the money was taken at the
//! counter, and the price is the batch's "for the record" price, if it has one.

use async_trait::async_trait;
use jasiyo_shared::{MacAddress, RouterId};
use serde::Serialize;

use super::StoreResult;
use super::dashboard::PaymentFilter;
use crate::model::{PlanId, TenantId, VoucherBatchId, VoucherCode};

/// Which sales a listing shows (every part optional; all given parts must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaleFilter {
    /// First used on this router.
    pub router: Option<RouterId>,
    /// Codes of this plan.
    pub plan: Option<PlanId>,
    /// Sold at or after (Unix ms).
    pub from_ms: Option<i64>,
    /// Sold before (Unix ms).
    pub to_ms: Option<i64>,
    /// This code (exact, upper case).
    pub code: Option<String>,
}

impl SaleFilter {
    /// The sales matching what a transactions filter asks of payments: the same router,
    /// plan and days; its search (a phone or a receipt) is read as a code. `None` when the
    /// filter asks for a payment state other than paid: no sale is in one.
    pub fn of_payments(filter: &PaymentFilter) -> Option<SaleFilter> {
        if filter.state.is_some_and(|s| s != crate::model::PaymentState::Paid) {
            return None;
        }
        Some(SaleFilter {
            router: filter.router,
            plan: filter.plan,
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            code: filter.search.clone(),
        })
    }
}

/// Where a page of sales starts: after this one (newest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleCursor {
    /// The last shown sale's time (Unix ms).
    pub sold_at: i64,
    /// Its code (breaks ties).
    pub code: String,
}

/// One voucher sold: a code's first use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoucherSale {
    /// The code (shown masked to staff).
    pub code: VoucherCode,
    /// Its batch.
    pub batch_id: VoucherBatchId,
    /// The plan it gave.
    pub plan_name: String,
    /// Where it was first used (unknown for a code used before usage reports carried it).
    pub router_id: Option<RouterId>,
    /// That router's name.
    pub router_name: Option<String>,
    /// The device it logged in (known when it came through the portal).
    pub device_mac: Option<MacAddress>,
    /// The batch's price for the record (KES), if it has one.
    pub price_kes: Option<u32>,
    /// When it was first used (Unix ms).
    pub sold_at: i64,
}

/// Count and total of a set of sales.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SaleTotals {
    /// How many codes were sold.
    pub count: i64,
    /// Their prices' total (KES; a batch without a price counts nothing).
    pub kes: i64,
}

/// The tenant's voucher sales.
#[async_trait]
pub trait VoucherSaleStore: Send + Sync {
    /// The tenant's sales matching `filter`, newest first, starting after `after`, at most
    /// `limit` (keyset pagination over `(first_used_at, code)`).
    async fn voucher_sales(
        &self,
        tenant: TenantId,
        filter: &SaleFilter,
        after: Option<&SaleCursor>,
        limit: u32,
    ) -> StoreResult<Vec<VoucherSale>>;

    /// Count and total of the tenant's sales matching `filter`.
    async fn voucher_sale_totals(&self, tenant: TenantId, filter: &SaleFilter) -> StoreResult<SaleTotals>;
}
