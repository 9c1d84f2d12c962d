//! The payments half of the store: plans, provider settings, payments, their timelines and
//! entitlements, and the shared Daraja token cache.

use async_trait::async_trait;
use jasiyo_shared::{Command, MacAddress, RouterId};
use uuid::Uuid;

use super::StoreResult;
use crate::model::{CommandState, ProviderKind, TenantId};
use crate::model::{Entitlement, NewPayment, NewPlan, Payment, PaymentEvent, PaymentId, PaymentState, Plan, PlanId, StoredProvider};

/// What a paid payment provisions, written with the state change in one transaction.
// Debug hides its secrets: crate::redact.
#[derive(Clone)]
pub struct Provision {
    /// Hotspot user name.
    pub username: String,
    /// Hotspot password.
    pub password: String,
    /// Absolute expiry (Unix seconds).
    pub expires_at: i64,
    /// The command creating the user.
    pub upsert: Command,
    /// The command logging the device in, when the portal gave its MAC and IP.
    pub login: Option<Command>,
}

impl Provision {
    /// The entitlement this provision became, once its commands have sequence numbers.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entitlement(
        &self,
        id: Uuid,
        payment_id: PaymentId,
        router_id: RouterId,
        device_mac: Option<MacAddress>,
        command_seq: u64,
        login_seq: Option<u64>,
        created_at: i64,
    ) -> Entitlement {
        Entitlement {
            id,
            payment_id,
            router_id,
            username: self.username.clone(),
            password: self.password.clone(),
            device_mac,
            expires_at: self.expires_at,
            command_seq,
            login_seq,
            moved_away_at: None,
            created_at,
        }
    }
}

/// The router commands that move an entitlement to another device (the customer's phone
/// came back with a new, randomised MAC), written with the move in one transaction.
#[derive(Clone, Debug)]
pub struct DeviceMove {
    /// Ends the old device's session, when there was one on another MAC.
    pub end_old: Option<Command>,
    /// The hotspot user, now bound to the new device.
    pub upsert: Command,
    /// Logs the new device in.
    pub login: Option<Command>,
}

/// A provider's word as its payment's timeline records it: `callback` or `query`, with the
/// provider's code and text. Written in the transaction that acts on it.
#[derive(Clone, Copy, Debug)]
pub struct Heard<'a> {
    /// Where it came from.
    pub source: &'a str,
    /// What it said.
    pub detail: &'a str,
}

/// A payment with what the portal shows of its progress, read in one query.
#[derive(Clone, Debug)]
pub struct PaymentProgress {
    /// The payment.
    pub payment: Payment,
    /// What it bought, once paid.
    pub entitlement: Option<Entitlement>,
    /// Where the command creating the user is.
    pub command: Option<CommandState>,
}

/// What the portal asks about before starting a payment.
#[derive(Clone, Copy, Debug)]
pub struct PortalQuery<'a> {
    /// The router.
    pub router: RouterId,
    /// The plan chosen (`None`: not a plan id at all).
    pub plan: Option<PlanId>,
    /// The portal's idempotency key.
    pub idempotency_key: &'a str,
    /// The phone, normalised.
    pub msisdn: &'a str,
    /// The device's MAC, normalised.
    pub mac: Option<&'a str>,
    /// Payments created before this are no longer in flight.
    pub in_flight_since_ms: i64,
}

/// What starting a payment on a router needs, read in one query.
#[derive(Clone, Debug)]
pub struct PortalContext {
    /// The router's owner.
    pub tenant_id: TenantId,
    /// The router's name (the prompt's account reference).
    pub router_name: String,
    /// Whether the router was revoked.
    pub revoked: bool,
    /// The plan asked for, when it is the owner's.
    pub plan: Option<Plan>,
    /// The owner's provider settings.
    pub provider: Option<StoredProvider>,
    /// The payment this idempotency key already started on this router.
    pub existing: Option<PaymentId>,
    /// The newest payment in flight for this phone, or for this device on this router.
    pub in_flight: Option<PaymentId>,
}

/// What settling a callback needs, read in one query.
#[derive(Clone, Debug)]
pub struct CallbackContext {
    /// The payment the callback URL belongs to.
    pub payment: Payment,
    /// Its plan.
    pub plan: Plan,
    /// The settings of the provider it was started with (current or kept).
    pub provider: Option<StoredProvider>,
}

/// What [`PaymentStore::mark_paid`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaidOutcome {
    /// The payment is now paid and this entitlement was created (commands enqueued).
    Provisioned(Entitlement),
    /// It was already paid; nothing changed.
    AlreadyPaid,
}

/// Persistence for the money path. Every method is one transaction.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Creates a plan.
    async fn create_plan(&self, tenant: TenantId, plan: &NewPlan, now_ms: i64) -> StoreResult<Plan>;
    /// A tenant's plans, in the order its portal shows them (the owner's).
    async fn list_plans(&self, tenant: TenantId) -> StoreResult<Vec<Plan>>;
    /// One plan.
    async fn plan(&self, id: PlanId) -> StoreResult<Option<Plan>>;

    /// Sets the tenant's (one) provider, replacing any other (whose settings are kept for its
    /// payments still in flight, see [`PaymentStore::provider_settings`]). Without a
    /// `callback_token_hash`, the webhook token the tenant already has for `kind` is kept
    /// ([`super::StoreError::Conflict`] when there is none).
    async fn set_provider(
        &self,
        tenant: TenantId,
        kind: ProviderKind,
        sealed: &str,
        callback_token_hash: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// The tenant's settings for `kind`: the current ones, or those kept when the tenant
    /// switched to another provider (for payments still in flight on `kind`).
    async fn provider_settings(&self, tenant: TenantId, kind: ProviderKind) -> StoreResult<Option<StoredProvider>>;
    /// The provider settings, current or kept, whose webhook token has this hash.
    async fn provider_by_callback_token(&self, token_hash: &str) -> StoreResult<Option<StoredProvider>>;
    /// Every provider setting, current or kept, still sealed without associated data
    /// (before it was bound to its tenant and kind).
    async fn legacy_sealed_providers(&self) -> StoreResult<Vec<StoredProvider>>;
    /// Replaces the sealed settings `old` of `tenant`'s `kind` (current and kept) by `new`;
    /// how many rows changed (none when another writer changed them first).
    async fn reseal_provider(&self, tenant: TenantId, kind: ProviderKind, old: &str, new: &str) -> StoreResult<u64>;

    /// Claims the prompt slots `holders` (`phone:<msisdn>`, `mac:<mac>`) on `router` for the
    /// payment about to be created, until `until_ms`, in one statement: true when every one
    /// was free (its payment final, or gone, or the claim expired). A slot held by another
    /// payment's open prompt is left alone, and then the result is false.
    async fn claim_prompt(&self, router: RouterId, holders: &[String], payment: PaymentId, now_ms: i64, until_ms: i64)
    -> StoreResult<bool>;
    /// Lets go of the device's prompt slot (`mac:<mac>`) on `router` if `payment` holds it
    /// (the customer started again on that device): the device may then start another
    /// payment; the phone's slot stays held. True when the slot was released.
    async fn release_device_claim(&self, router: RouterId, holder: &str, payment: PaymentId) -> StoreResult<bool>;
    /// Records a new payment (state `initiated`). A repeated idempotency key for the router
    /// is [`super::StoreError::Conflict`].
    async fn create_payment(&self, payment: &NewPayment, now_ms: i64) -> StoreResult<Payment>;
    /// One payment.
    async fn payment(&self, id: PaymentId) -> StoreResult<Option<Payment>>;
    /// The payment a portal idempotency key already created.
    async fn payment_by_idempotency(&self, router: RouterId, key: &str) -> StoreResult<Option<Payment>>;
    /// The payment whose callback URL carries the token with this hash.
    async fn payment_by_callback_token(&self, token_hash: &str) -> StoreResult<Option<Payment>>;
    /// A payment with its entitlement and the state of the command creating the user.
    async fn payment_progress(&self, id: PaymentId) -> StoreResult<Option<PaymentProgress>>;
    /// The router (even revoked), the plan if it is the router owner's, the owner's provider
    /// settings, the payment the idempotency key already started and any payment in flight
    /// on this router for the phone or device (a quick refusal; [`Self::claim_prompt`] is
    /// what holds); `None` when there is no such router.
    async fn portal_context(&self, query: PortalQuery<'_>) -> StoreResult<Option<PortalContext>>;
    /// The payment whose callback URL carries the token with this hash, with its plan and the
    /// settings of its provider (current or kept).
    async fn callback_context(&self, token_hash: &str) -> StoreResult<Option<CallbackContext>>;
    /// The payment with this provider reference.
    async fn payment_by_provider_ref(&self, provider: ProviderKind, provider_ref: &str) -> StoreResult<Option<Payment>>;
    /// A router's payments, newest first.
    async fn list_payments(&self, router: RouterId, limit: u32) -> StoreResult<Vec<Payment>>;

    /// The provider accepted the push: `pending`, with its reference.
    async fn mark_prompt_sent(
        &self,
        id: PaymentId,
        provider_ref: &str,
        secondary_ref: Option<&str>,
        next_check_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// A final failure, unless the payment is already final. Returns whether it changed.
    /// `heard` (what the provider said) goes on the timeline either way.
    async fn mark_failed(
        &self,
        id: PaymentId,
        state: PaymentState,
        reason: &str,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Paid: state, receipt, entitlement and router commands, all in one transaction.
    /// Honoured whatever the state was unless already paid (money moved); `heard` goes on
    /// the timeline either way. A receipt already recorded on other payments does not stop
    /// it: the new payment's timeline says so (`receipt_shared`, with how many others),
    /// as do those of the first few of the tenant's other payments with it
    /// (`sql::FLAGGED_OTHERS`), for the owner to review.
    async fn mark_paid(
        &self,
        id: PaymentId,
        receipt: Option<&str>,
        provision: &Provision,
        heard: Option<Heard<'_>>,
        now_ms: i64,
    ) -> StoreResult<PaidOutcome>;
    /// When reconciliation should ask the provider next (`None`: never).
    async fn schedule_check(&self, id: PaymentId, next_check_ms: Option<i64>, checks: u32) -> StoreResult<()>;
    /// Claims up to `limit` payments whose check is due (oldest payments first): their next
    /// check moves to `lease_until_ms`, so another instance does not ask about them too, and
    /// one whose checker died is asked about again after the lease. The checker then sets
    /// the real next check with [`Self::schedule_check`].
    async fn claim_due_payments(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<Payment>>;
    /// Brings the next check of every open payment created since `since_ms` forward to
    /// `now_ms` (a cloud starting up: callbacks sent while it was down were lost, and the
    /// customers are still waiting). Returns how many.
    async fn hasten_checks(&self, since_ms: i64, now_ms: i64) -> StoreResult<u64>;
    /// Records the provider's reference that a callback brought for a payment that has none
    /// (its push's answer was never written): `provider_ref` and/or `secondary_ref`, and the
    /// payment is pending if it was initiated. False when it already had one.
    async fn adopt_reference(
        &self,
        id: PaymentId,
        provider_ref: Option<&str>,
        secondary_ref: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Records the M-Pesa receipt of a paid payment that has none (a status query settled it
    /// and the callback came later), so "Already paid?" works for it. False otherwise.
    async fn record_late_receipt(&self, id: PaymentId, receipt: &str, now_ms: i64) -> StoreResult<bool>;

    /// Appends to a payment's timeline.
    async fn add_payment_event(&self, id: PaymentId, kind: &str, detail: &str, now_ms: i64) -> StoreResult<()>;
    /// A payment's timeline, oldest first.
    async fn payment_events(&self, id: PaymentId) -> StoreResult<Vec<PaymentEvent>>;
    /// What a payment bought, if it is paid.
    async fn entitlement_for_payment(&self, id: PaymentId) -> StoreResult<Option<Entitlement>>;
    /// The paid payments on this router with this M-Pesa receipt, newest first (at most a
    /// few), each with its entitlement (expired or not: the caller tells the customer which).
    async fn entitlements_by_receipt(&self, router: RouterId, receipt: &str) -> StoreResult<Vec<(Payment, Entitlement)>>;
    /// Moves an unexpired entitlement from the device `from` (as last recorded) to `to`:
    /// enqueues the commands of `moves` in order and records the new device and command
    /// sequence numbers (and, unless `to` is the paying device, the time of the move in
    /// `moved_away_at`), in one transaction. [`super::StoreError::Conflict`] when the
    /// entitlement has expired or was moved meanwhile; nothing changed then.
    async fn move_entitlement(
        &self,
        id: Uuid,
        from: Option<MacAddress>,
        to: MacAddress,
        moves: &DeviceMove,
        now_ms: i64,
    ) -> StoreResult<Entitlement>;

    /// Clears the record of the entitlement's last move away from the paying device, so
    /// "Already paid?" may move it again today; false if the payment has no entitlement.
    async fn reset_moves(&self, payment: PaymentId) -> StoreResult<bool>;

    /// A cached provider token valid until at least `valid_until_ms`, with its expiry.
    async fn cached_token(&self, key: &str, valid_until_ms: i64) -> StoreResult<Option<(String, i64)>>;
    /// Caches a provider token.
    async fn cache_token(&self, key: &str, token: &str, expires_at_ms: i64) -> StoreResult<()>;
    /// Forgets a provider token if it is still the cached one.
    async fn forget_token(&self, key: &str, token: &str) -> StoreResult<()>;
    /// Records `holder` under `key` until `lease_until_ms` unless another holder's entry is
    /// still unexpired at `now_ms`; true when recorded (the claim is `holder`'s). Ended with
    /// [`Self::forget_token`]`(key, holder)`.
    async fn claim_token_refresh(&self, key: &str, holder: &str, now_ms: i64, lease_until_ms: i64) -> StoreResult<bool>;
}
