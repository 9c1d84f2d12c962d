//! A payment-provider emulator: one HTTP server that answers at the real paths of Safaricom
//! Daraja (OAuth, STK Push, STK Query), PayHero (API v2 payments, status and wallet
//! balances) and Paystack (mobile-money charge, verify and balance), so a provider's base URL can point at it. Each push
//! becomes a [`Prompt`] on an emulated handset; a test, the auto switch or a person on
//! `/phone` resolves it, and the emulator then sends the provider's callback (Daraja's and
//! PayHero's to the URL in the push, Paystack's signed `charge.success` to the dashboard
//! webhook, on success only).
//!
//! Tests read state through [`PaymentEmulator`] and wait on [`PaymentEmulator::changes`],
//! never on sleeps. Shapes follow `shared/reference/providers.md`; answers the reference
//! does not give are marked "(unverified)" where they are defined.
//!
//! - [`server`]: the router, auth headers, injected failures, auto-resolution.
//! - [`daraja`], [`payhero`], [`paystack`]: each provider's endpoints and callback bodies.
//! - [`delivery`]: resolving a prompt and sending its callbacks.
//! - [`phone`]: the demo's handset page. [`state`]: prompts and ids.

mod accounts;
pub mod control;
mod daraja;
mod delivery;
mod numbers;
mod payhero;
mod paystack;
mod phone;
mod server;
mod state;
mod time;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use accounts::{DarajaAccount, EmulatedProviders, EmulatorAccounts, PayHeroAccount, PaystackAccount, SANDBOX_PASSKEY};
pub use numbers::normalise_msisdn;
pub use payhero::SERVICE_WALLET_BALANCE as PAYHERO_SERVICE_WALLET_BALANCE;
pub use paystack::BALANCE_CENTS as PAYSTACK_BALANCE_CENTS;
pub use paystack::signature as paystack_signature;

/// Daraja's `Timestamp` for a Unix time: `YYYYMMDDHHmmss` in Nairobi time (UTC+3).
pub fn daraja_timestamp(unix_secs: i64) -> String {
    time::nairobi_stamp(unix_secs)
}

use state::Shared;

/// Which provider a prompt came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Provider {
    /// Safaricom Daraja STK Push on the merchant's own short code.
    Daraja,
    /// PayHero API v2 STK Push.
    PayHero,
    /// Paystack mobile-money charge, provider `mpesa`.
    Paystack,
}

/// What the customer did with a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Resolution {
    /// Entered the PIN: paid (Daraja ResultCode 0).
    Approve,
    /// Pressed cancel (1032).
    Cancel,
    /// Never answered / unreachable (1037).
    Timeout,
    /// Entered a wrong PIN (2001).
    WrongPin,
    /// Not enough money (1).
    InsufficientFunds,
}

impl Resolution {
    /// Every resolution, in the order the phone page offers them.
    pub const ALL: [Resolution; 5] =
        [Resolution::Approve, Resolution::Cancel, Resolution::WrongPin, Resolution::InsufficientFunds, Resolution::Timeout];

    /// The Daraja `ResultCode` (also PayHero's, which relays it).
    pub fn result_code(self) -> u32 {
        match self {
            Resolution::Approve => 0,
            Resolution::Cancel => 1032,
            Resolution::Timeout => 1037,
            Resolution::WrongPin => 2001,
            Resolution::InsufficientFunds => 1,
        }
    }

    /// The Daraja `ResultDesc` for [`result_code`](Self::result_code).
    pub fn result_desc(self) -> &'static str {
        match self {
            Resolution::Approve => "The service request is processed successfully.",
            Resolution::Cancel => "Request cancelled by user",
            Resolution::Timeout => "DS timeout user cannot be reached",
            Resolution::WrongPin => "The initiator information is invalid.",
            Resolution::InsufficientFunds => "The balance is insufficient for the transaction.",
        }
    }

    /// The word used on the command line and in `/phone/{ref}/{action}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Approve => "approve",
            Resolution::Cancel => "cancel",
            Resolution::Timeout => "timeout",
            Resolution::WrongPin => "wrong-pin",
            Resolution::InsufficientFunds => "insufficient-funds",
        }
    }
}

impl FromStr for Resolution {
    type Err = String;

    fn from_str(text: &str) -> Result<Resolution, String> {
        Resolution::ALL.into_iter().find(|r| r.as_str() == text).ok_or_else(|| {
            let words: Vec<&str> = Resolution::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown resolution {text:?}; one of {}", words.join(", "))
        })
    }
}

/// How the callback for a resolution reaches the merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Delivery {
    /// Once, before [`PaymentEmulator::resolve`] returns.
    Normal,
    /// `n` identical callbacks (same bytes), sent concurrently.
    Duplicate(usize),
    /// Once, this long after the resolution; `resolve` returns at once.
    Late(Duration),
    /// Never; status queries still report the outcome.
    Lost,
}

/// Where a prompt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PromptState {
    /// On the handset, unanswered.
    Pending,
    /// Answered (or timed out) this way.
    Resolved(Resolution),
}

/// An STK prompt on an emulated handset.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    /// The provider it came through.
    pub provider: Provider,
    /// The provider's id for it: Daraja `CheckoutRequestID`, PayHero `reference`, Paystack
    /// `reference`.
    pub provider_ref: String,
    /// The paying number, `2547XXXXXXXX` / `2541XXXXXXXX`.
    pub msisdn: String,
    /// Whole shillings (Paystack's cents divided by 100).
    pub amount_kes: u64,
    /// Where the callback goes: Daraja `CallBackURL`, PayHero `callback_url`. `None` for
    /// Paystack, whose webhook is the one configured when the event is sent.
    pub callback_url: Option<String>,
    /// Pending or how it was resolved.
    pub state: PromptState,
    /// The M-Pesa receipt, once approved.
    pub receipt: Option<String>,
    /// The merchant's own reference: Daraja `AccountReference`, PayHero
    /// `external_reference`; `None` for Paystack (its reference is `provider_ref`).
    pub account_reference: Option<String>,
    /// Safaricom's `CheckoutRequestID` (Daraja: = `provider_ref`; PayHero: the one it
    /// returned beside its reference; Paystack: `None`).
    pub checkout_request_id: Option<String>,
}

/// A fault for the next matching request; queued faults are taken in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InjectedFailure {
    /// The next Daraja STK push: HTTP 500 `500.001.1001` "Unable to lock subscriber…".
    DarajaLockSubscriber,
    /// The next Daraja push or query: HTTP 500 `500.003.02` "Spike Arrest Violation".
    DarajaSpikeArrest,
    /// The next provider request of any kind is never answered (until the emulator stops).
    Hang,
    /// The next push is carried out (the prompt reaches the phone) but its answer never
    /// arrives, as when a gateway times out after passing the request on: the status line
    /// is sent and the body never finishes (until the emulator stops).
    AnswerLost,
    /// The next provider request: HTTP 500 in that provider's error shape.
    ServerError,
    /// The next provider request: that provider's authentication failure (Daraja: 400
    /// `400.008.01` on OAuth, 404 `404.001.03` elsewhere; PayHero and Paystack: 401).
    Unauthorized,
}

/// One callback POST the emulator made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallbackRecord {
    /// The provider whose callback it was.
    pub provider: Provider,
    /// The prompt it reported.
    pub provider_ref: String,
    /// Where it went.
    pub url: String,
    /// The receiver's HTTP status, or `None` if no answer came (the error is logged).
    pub status: Option<u16>,
}

/// A running emulator on a local port. Dropping it stops it; [`stop`](Self::stop) also
/// waits for the server task to end.
pub struct PaymentEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<()>>,
}

impl PaymentEmulator {
    /// Starts on `127.0.0.1` on an ephemeral port.
    pub async fn start(accounts: EmulatorAccounts) -> PaymentEmulator {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the payment emulator");
        PaymentEmulator::start_on(listener, accounts)
    }

    /// Starts on a listener the caller bound.
    pub fn start_on(listener: TcpListener, accounts: EmulatorAccounts) -> PaymentEmulator {
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared::new(accounts));
        let server = tokio::spawn(server::serve(listener, shared.clone()));
        PaymentEmulator { addr, shared, server: Some(server) }
    }

    /// `http://127.0.0.1:port`: the base URL for every provider.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accounts it accepts (the Paystack webhook as configured at start).
    pub fn accounts(&self) -> &EmulatorAccounts {
        &self.shared.accounts
    }

    /// Sets the Paystack dashboard webhook URL used for events sent from now on.
    pub fn set_paystack_webhook(&self, url: &str) {
        *self.shared.paystack_webhook.lock().expect("webhook lock") = Some(url.to_string());
    }

    /// Every prompt so far, oldest first.
    pub fn prompts(&self) -> Vec<Prompt> {
        self.shared.state().records.iter().map(|r| r.prompt.clone()).collect()
    }

    /// The prompt with this provider reference.
    pub fn prompt(&self, provider_ref: &str) -> Option<Prompt> {
        self.shared.state().record(provider_ref).map(|r| r.prompt.clone())
    }

    /// Waits for a pending prompt on `msisdn` (any common form: `07…`, `+254…`, `254…`)
    /// and returns the oldest one; `None` on timeout.
    pub async fn wait_for_prompt(&self, msisdn: &str, timeout: Duration) -> Option<Prompt> {
        let msisdn = normalise_msisdn(msisdn).unwrap_or_else(|| msisdn.to_string());
        let find = || self.shared.state().pending_on(&msisdn).map(|r| r.prompt.clone());
        let mut changes = self.changes();
        tokio::time::timeout(timeout, async {
            loop {
                changes.borrow_and_update();
                if let Some(prompt) = find() {
                    return Some(prompt);
                }
                changes.changed().await.ok()?;
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// A counter bumped on every new prompt, resolution, callback sent and token issued:
    /// wait on it instead of sleeping.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Waits until `check` holds, re-checking on every change; false on timeout.
    pub async fn wait_until(&self, timeout: Duration, mut check: impl FnMut(&PaymentEmulator) -> bool) -> bool {
        let mut changes = self.changes();
        tokio::time::timeout(timeout, async {
            while !check(self) {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
            && check(self)
    }

    /// Resolves a pending prompt and delivers its callback as `delivery` says (Paystack:
    /// only an approval sends anything, and only with a webhook configured).
    /// Errors when the prompt is unknown or already resolved, or when a callback that
    /// `resolve` waits for (`Normal`, `Duplicate`) got no HTTP answer; the prompt stays
    /// resolved either way. A non-2xx answer is not an error: see [`callbacks`](Self::callbacks).
    pub async fn resolve(&self, provider_ref: &str, resolution: Resolution, delivery: Delivery) -> anyhow::Result<()> {
        delivery::resolve(&self.shared, provider_ref, resolution, delivery).await
    }

    /// Every provider request from now on takes `latency` before it is answered (real
    /// Daraja takes about a second).
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.latency.lock().expect("latency lock") = latency;
    }

    /// The most provider requests that were ever being answered at once.
    pub fn peak_requests(&self) -> usize {
        self.shared.requests.lock().expect("requests lock").1
    }

    /// `Some`: every new prompt is resolved this way right after its push is answered (the
    /// callback never overtakes the push's response). `None`: prompts wait.
    pub fn set_auto(&self, auto: Option<(Resolution, Delivery)>) {
        self.shared.state().auto = auto;
    }

    /// `true`: PayHero answers pushes with its `reference` only, no `CheckoutRequestID` (the
    /// prompt still has one, which its callback carries beside our `ExternalReference`).
    pub fn payhero_push_without_checkout_id(&self, without: bool) {
        self.shared.state().payhero_without_checkout_id = without;
    }

    /// `true`: Paystack charges made from now on pass the fees to the customer: their
    /// transaction's `amount` is the `requested_amount` plus the fees (1.5%, as cents).
    pub fn paystack_fees_on_customer(&self, on: bool) {
        self.shared.state().paystack_fees_on_customer = on;
    }

    /// `true`: Verify answers `abandoned` for a Paystack charge the customer has not
    /// completed yet (Paystack's word for it), instead of `ongoing`.
    pub fn paystack_pending_reads_abandoned(&self, on: bool) {
        self.shared.state().paystack_pending_reads_abandoned = on;
    }

    /// Queues a fault for the next request it applies to.
    pub fn fail_next(&self, failure: InjectedFailure) {
        self.shared.state().failures.push_back(failure);
    }

    /// Faults queued and not yet taken by a request (taking one bumps [`changes`](Self::changes)).
    pub fn failures_pending(&self) -> usize {
        self.shared.state().failures.len()
    }

    /// Callback POSTs that got an HTTP answer (any status).
    pub fn callbacks_sent(&self) -> usize {
        self.shared.callbacks_sent.load(Ordering::SeqCst)
    }

    /// Every callback POST attempted, in the order they finished.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.shared.state().callbacks.clone()
    }

    /// Well-formed Daraja status queries about `provider_ref` so far (answered or not), so
    /// tests can prove a payment is asked about by one instance at a time.
    pub fn status_queries(&self, provider_ref: &str) -> usize {
        self.shared.status_queries.lock().expect("queries lock").get(provider_ref).copied().unwrap_or(0)
    }

    /// Requests to Daraja's OAuth endpoint, good or bad, so tests can prove token sharing.
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// Stops serving (hung requests are let go) and waits for the server task to end.
    pub async fn stop(mut self) {
        self.shared.stop.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for PaymentEmulator {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}
