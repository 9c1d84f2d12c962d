//! What the handle, the HTTP handlers and the callback tasks share: the prompts, the live
//! Daraja token, queued faults, and the ids each provider hands out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{CallbackRecord, Delivery, EmulatorAccounts, InjectedFailure, Prompt, Provider, Resolution};

/// Daraja tokens live 3600 s; they are advertised as 3599.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

pub(crate) struct Shared {
    pub accounts: EmulatorAccounts,
    pub paystack_webhook: Mutex<Option<String>>,
    pub state: Mutex<State>,
    pub changes: watch::Sender<u64>,
    pub token_requests: AtomicUsize,
    /// Status queries by the provider's reference (Daraja STK query so far).
    pub status_queries: Mutex<std::collections::HashMap<String, usize>>,
    pub callbacks_sent: AtomicUsize,
    /// Sends callbacks.
    pub http: reqwest::Client,
    /// Stops the server, hung requests and late callbacks.
    pub stop: CancellationToken,
    /// How long every provider request takes.
    pub latency: Mutex<Duration>,
    /// Provider requests being answered now, and the most there ever were at once.
    pub requests: Mutex<(usize, usize)>,
}

/// A provider request in flight; counted out when dropped.
pub(crate) struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.requests.lock().expect("requests lock").0 -= 1;
    }
}

impl Shared {
    pub fn new(accounts: EmulatorAccounts) -> Shared {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("jasiyo-payment-emulator")
            .build()
            .expect("callback HTTP client");
        Shared {
            paystack_webhook: Mutex::new(accounts.paystack.webhook_url.clone()),
            accounts,
            state: Mutex::new(State::default()),
            changes: watch::channel(0).0,
            token_requests: AtomicUsize::new(0),
            status_queries: Mutex::default(),
            callbacks_sent: AtomicUsize::new(0),
            http,
            stop: CancellationToken::new(),
            latency: Mutex::new(Duration::ZERO),
            requests: Mutex::new((0, 0)),
        }
    }

    /// How long every provider request takes.
    pub fn latency(&self) -> Duration {
        *self.latency.lock().expect("latency lock")
    }

    /// Counts a provider request in (and out when the guard drops).
    pub fn in_flight(&self) -> InFlight<'_> {
        let mut requests = self.requests.lock().expect("requests lock");
        requests.0 += 1;
        requests.1 = requests.1.max(requests.0);
        InFlight(self)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("payment emulator state lock")
    }

    /// Tells `changes()` watchers something happened.
    pub fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Takes the first queued [`InjectedFailure::AnswerLost`], if any.
    pub fn take_answer_lost(&self) -> bool {
        let taken = {
            let mut state = self.state();
            let Some(at) = state.failures.iter().position(|f| *f == InjectedFailure::AnswerLost) else { return false };
            state.failures.remove(at).is_some()
        };
        self.bump();
        taken
    }

    /// Takes the first queued fault that applies to `endpoint`.
    pub fn take_failure(&self, endpoint: Endpoint) -> Option<InjectedFailure> {
        let taken = {
            let mut state = self.state();
            let at = state.failures.iter().position(|f| applies(*f, endpoint))?;
            state.failures.remove(at)
        };
        self.bump();
        taken
    }
}

/// The provider endpoints, for aiming faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    DarajaOauth,
    DarajaPush,
    DarajaQuery,
    PayHeroPush,
    PayHeroStatus,
    PaystackCharge,
    PaystackVerify,
}

impl Endpoint {
    pub fn provider(self) -> Provider {
        match self {
            Endpoint::DarajaOauth | Endpoint::DarajaPush | Endpoint::DarajaQuery => Provider::Daraja,
            Endpoint::PayHeroPush | Endpoint::PayHeroStatus => Provider::PayHero,
            Endpoint::PaystackCharge | Endpoint::PaystackVerify => Provider::Paystack,
        }
    }
}

fn applies(failure: InjectedFailure, endpoint: Endpoint) -> bool {
    match failure {
        InjectedFailure::DarajaLockSubscriber => endpoint == Endpoint::DarajaPush,
        InjectedFailure::DarajaSpikeArrest => matches!(endpoint, Endpoint::DarajaPush | Endpoint::DarajaQuery),
        InjectedFailure::Hang | InjectedFailure::ServerError | InjectedFailure::Unauthorized => true,
        // Taken when the prompt is answered (`take_answer_lost`), not before the request.
        InjectedFailure::AnswerLost => false,
    }
}

/// A prompt plus what only the provider's answers need.
pub(crate) struct Record {
    pub prompt: Prompt,
    /// Daraja's `MerchantRequestID` (PayHero relays one too).
    pub merchant_request_id: String,
    pub created_unix: i64,
    pub resolved_unix: Option<i64>,
    /// Paystack's numeric transaction id.
    pub paystack_id: u64,
    /// Paystack: the customer's email and the request's metadata.
    pub email: Option<String>,
    pub metadata: Value,
    /// Paystack: the customer pays the fees, so `amount` is the `requested_amount` plus fees.
    pub fees_on_customer: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub records: Vec<Record>,
    index: HashMap<String, usize>,
    /// Positions of each phone's records, oldest first (records are never removed).
    by_msisdn: HashMap<String, Vec<usize>>,
    pub daraja_token: Option<(String, Instant)>,
    receipts: HashSet<String>,
    pub failures: VecDeque<InjectedFailure>,
    pub auto: Option<(Resolution, Delivery)>,
    /// PayHero answers pushes without `CheckoutRequestID` (its callbacks still carry one,
    /// with our `ExternalReference`).
    pub payhero_without_checkout_id: bool,
    /// Paystack charges from now on pass their fees to the customer.
    pub paystack_fees_on_customer: bool,
    /// Paystack's Verify calls a charge not yet completed `abandoned` (as it does while
    /// the customer has not answered), not `ongoing`.
    pub paystack_pending_reads_abandoned: bool,
    pub callbacks: Vec<CallbackRecord>,
    /// Feeds ids that must differ between prompts.
    seq: u64,
}

impl State {
    pub fn record(&self, provider_ref: &str) -> Option<&Record> {
        self.index.get(provider_ref).map(|&i| &self.records[i])
    }

    pub fn record_mut(&mut self, provider_ref: &str) -> Option<&mut Record> {
        self.index.get(provider_ref).map(|&i| &mut self.records[i])
    }

    pub fn contains(&self, provider_ref: &str) -> bool {
        self.index.contains_key(provider_ref)
    }

    pub fn add(&mut self, record: Record) {
        self.index.insert(record.prompt.provider_ref.clone(), self.records.len());
        self.by_msisdn.entry(record.prompt.msisdn.clone()).or_default().push(self.records.len());
        self.records.push(record);
    }

    /// The oldest pending prompt on this number, from any provider: it is one handset.
    pub fn pending_on(&self, msisdn: &str) -> Option<&Record> {
        let positions = self.by_msisdn.get(msisdn)?;
        positions.iter().map(|&i| &self.records[i]).find(|r| r.prompt.state == super::PromptState::Pending)
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh 10-character M-Pesa receipt (`NLJ7RT61SV`: letters and digits, both), never
    /// repeated. (Drawn without the "both" rule, one in six had no digit, which no real
    /// receipt lacks and "Already paid?" rightly refuses.)
    pub fn new_receipt(&mut self) -> String {
        loop {
            let receipt = random_upper(10);
            let real = receipt.chars().any(|c| c.is_ascii_digit()) && receipt.chars().any(|c| c.is_ascii_alphabetic());
            if real && self.receipts.insert(receipt.clone()) {
                return receipt;
            }
        }
    }

    /// A fresh reference of `len` random characters that no prompt has.
    pub fn new_ref(&self, len: usize, upper: bool) -> String {
        loop {
            let candidate = if upper { random_upper(len) } else { random_alnum(len).to_ascii_lowercase() };
            if !self.contains(&candidate) {
                return candidate;
            }
        }
    }

    /// `ws_CO_` + Nairobi `DDMMYYYYHHmmss` + 3 sequence digits + the number's last 9
    /// digits, the way real ids look; unique among prompts.
    pub fn new_checkout_id(&mut self, msisdn: &str, unix: i64) -> String {
        loop {
            let seq = self.next_seq() % 1000;
            let id = format!("ws_CO_{}{seq:03}{}", super::time::nairobi_checkout_stamp(unix), &msisdn[msisdn.len().saturating_sub(9)..]);
            if !self.contains(&id) {
                return id;
            }
        }
    }

    /// `29115-34620561-1`-style.
    pub fn new_merchant_request_id(&mut self) -> String {
        let mut rng = rand::rng();
        format!("{}-{}-{}", rng.random_range(10_000..100_000), rng.random_range(10_000_000..100_000_000), self.next_seq())
    }
}

/// Uppercase letters and digits.
pub fn random_upper(len: usize) -> String {
    random_alnum(len).to_ascii_uppercase()
}

pub fn random_alnum(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}
