//! The nouns of the cloud: ids, tenants, routers and their outboxes, plans, payments,
//! entitlements, providers. Everything else depends on these; they depend on nothing in
//! the cloud (only on the protocol types in `jasiyo_shared`).

mod account;
mod command;
mod ids;
mod payment;
mod plan;
mod provider;
mod router;
mod tenant;
mod voucher;

pub use account::{Account, Email, LinkPurpose, MAX_EMAIL_LEN, NewAccount, Role};
pub use command::{CommandState, ResultRecorded, StoredCommand};
pub use ids::{AccountId, PaymentId, PlanId, TenantId, VoucherBatchId};
pub use payment::{Entitlement, NewPayment, Payment, PaymentEvent, PaymentState};
pub use plan::{MAX_PLAN_NAME_LEN, MAX_PRICE_KES, MIN_PLAN_DURATION, NewPlan, Plan, PlanError, PlanInput, PlanMove};
pub use provider::{ProviderKind, StoredProvider};
pub use router::{CLOCK_IN_STEP_MS, Link, Router, RouterEvent, describe_skew};
pub use tenant::{MAX_LOGO_BYTES, PortalLook, Tenant, logo_data_uri};
pub use voucher::{
    MAX_BATCH_CODES, MAX_CODE_LENGTH, MIN_CODE_LENGTH, VOUCHER_ALPHABET, VoucherBatch, VoucherBatchInput, VoucherCode, VoucherCounts,
    VoucherLine, VoucherState,
};
