//! Payments, their timelines, and the entitlements (hotspot users) paid ones buy.

use std::net::Ipv4Addr;

use jasiyo_shared::{MacAddress, RouterId};
use serde::Serialize;
use uuid::Uuid;

use super::{PaymentId, PlanId, ProviderKind, TenantId};

/// Where a payment is. A string never stands for a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Recorded, push not yet accepted by the provider.
    Initiated,
    /// The prompt is on the customer's phone.
    Pending,
    /// Paid and provisioned.
    Paid,
    /// The customer cancelled.
    Cancelled,
    /// No answer in time (or the provider never gave a final word before the cut-off).
    TimedOut,
    /// Failed for another reason (see the payment's reason).
    Failed,
}

impl PaymentState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Initiated => "initiated",
            PaymentState::Pending => "pending",
            PaymentState::Paid => "paid",
            PaymentState::Cancelled => "cancelled",
            PaymentState::TimedOut => "timed_out",
            PaymentState::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<PaymentState> {
        Some(match text {
            "initiated" => PaymentState::Initiated,
            "pending" => PaymentState::Pending,
            "paid" => PaymentState::Paid,
            "cancelled" => PaymentState::Cancelled,
            "timed_out" => PaymentState::TimedOut,
            "failed" => PaymentState::Failed,
            _ => return None,
        })
    }

    /// Still waiting for the provider's final word.
    pub fn is_open(self) -> bool {
        matches!(self, PaymentState::Initiated | PaymentState::Pending)
    }
}

/// One payment attempt.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Its id.
    pub id: PaymentId,
    /// The router owner.
    pub tenant_id: TenantId,
    /// The router the customer is on.
    pub router_id: RouterId,
    /// What is being bought.
    pub plan_id: PlanId,
    /// Through whom.
    pub provider: ProviderKind,
    /// Price at the time, from the plan.
    pub amount_kes: u32,
    /// The paying phone, `2547...`.
    pub msisdn: String,
    /// The customer's device.
    pub device_mac: Option<MacAddress>,
    /// Its address on the hotspot.
    pub device_ip: Option<Ipv4Addr>,
    /// The address the portal request came from (for rate limits).
    #[serde(skip)]
    pub client_ip: Option<String>,
    /// The portal's idempotency key.
    #[serde(skip)]
    pub idempotency_key: String,
    /// The provider's reference, once the push was accepted.
    pub provider_ref: Option<String>,
    /// A second provider reference (PayHero's CheckoutRequestID).
    pub secondary_ref: Option<String>,
    /// Where it is.
    pub state: PaymentState,
    /// Why it failed, for people.
    pub reason: Option<String>,
    /// The M-Pesa receipt number, once paid.
    pub receipt: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Unix ms.
    pub paid_at: Option<i64>,
    /// When reconciliation asks the provider next (Unix ms).
    #[serde(skip)]
    pub next_check_at: Option<i64>,
    /// How many times it has asked.
    #[serde(skip)]
    pub checks: u32,
}

/// A payment to record.
// Debug hides its secrets: crate::redact.
#[derive(Clone)]
pub struct NewPayment {
    /// Its id, chosen before it is stored (its prompt slots are claimed under it first).
    pub id: PaymentId,
    /// The router owner.
    pub tenant_id: TenantId,
    /// The router.
    pub router_id: RouterId,
    /// The plan.
    pub plan_id: PlanId,
    /// The provider.
    pub provider: ProviderKind,
    /// Amount from the plan.
    pub amount_kes: u32,
    /// Normalised phone.
    pub msisdn: String,
    /// Device MAC.
    pub device_mac: Option<MacAddress>,
    /// Device IP.
    pub device_ip: Option<Ipv4Addr>,
    /// Caller's IP.
    pub client_ip: Option<String>,
    /// Portal idempotency key.
    pub idempotency_key: String,
    /// SHA-256 of the callback token in this payment's callback URL.
    pub callback_token_hash: String,
    /// When reconciliation first asks about it, set at insert: a payment whose process died
    /// before the provider's answer was written is still swept up and settled.
    pub first_check_at: i64,
}

/// What a paid payment bought.
// Debug hides its secrets: crate::redact.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// Its id.
    pub id: Uuid,
    /// The payment.
    pub payment_id: PaymentId,
    /// The router.
    pub router_id: RouterId,
    /// Hotspot login name.
    pub username: String,
    /// Hotspot password.
    pub password: String,
    /// The device it was bought on.
    pub device_mac: Option<MacAddress>,
    /// When it ends (Unix seconds).
    pub expires_at: i64,
    /// The command that creates the user on the router.
    pub command_seq: u64,
    /// The command that logs the device in, if one was sent.
    pub login_seq: Option<u64>,
    /// When "Already paid?" last moved it to a device other than the paying one (Unix ms).
    pub moved_away_at: Option<i64>,
    /// Unix ms.
    pub created_at: i64,
}

/// One entry of a payment's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentEvent {
    /// Unix ms.
    pub at: i64,
    /// What happened (`initiated`, `prompt_sent`, `callback`, `query`, `paid`, ...).
    pub kind: String,
    /// Details.
    pub detail: String,
}
