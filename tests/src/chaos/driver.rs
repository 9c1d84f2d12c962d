//! The customers: each arrives on one of the hotspots (a site per provider, dealt from the
//! seed: Daraja half of them, PayHero and Paystack a quarter each) with its device in that
//! router's host table, starts a payment through the portal API (retrying with the same
//! idempotency key while the cloud is down, as the portal page does), and answers the
//! prompt on the phone the way the mix draws for it; a few then move their plan to a
//! second device ([`recovery`]). What happened to each is kept for the checker.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_cloud::model::ProviderKind;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;
use tokio::time::Instant;

use super::ChaosConfig;
use super::recovery::{self, SecondDevice};
use super::site::PROVIDERS;
use super::stack::Stack;
use crate::payment_emulator::{Delivery, Resolution};

/// How long a customer keeps trying to start a payment, and waits for the prompt.
const PATIENCE: Duration = Duration::from_secs(60);

/// The summary's label of [`Answer::ApproveLate`].
pub const LATE_SUCCESS: &str = "approved after the countdown";

/// From this many customers on, the mix holds at least one of each rare kind (a late
/// success, [`GUARANTEED_RECOVERIES`] second-device recoveries), so a short run exercises
/// them all whatever the seed.
const RARE_KINDS_FROM: usize = 20;

/// Second-device recoveries in a mix of [`RARE_KINDS_FROM`] customers or more, at least
/// (two: one whose receipt a fault kept from the cloud cannot move).
const GUARANTEED_RECOVERIES: usize = 2;

/// The share of paying customers (in percent) who also recover on a second device.
const RECOVERING_PERCENT: u32 = 5;

/// Paystack gives a mobile-money customer about 180 s, and the cloud verifies a Paystack
/// charge only once that window is over (shared/reference/providers.md, section F): a
/// webhook lost for good is found then (Paystack itself would retry it every 3 minutes).
const PAYSTACK_WINDOW: Duration = Duration::from_secs(180);

/// What the phone does with the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Approves; the callback is sent once.
    Approve,
    /// Approves; the provider sends the callback three times at once.
    ApproveDuplicated,
    /// Approves; the callback never comes (reconciliation must find it).
    ApproveCallbackLost,
    /// Approves; the callback comes this long after.
    ApproveCallbackLate(Duration),
    /// Approves this long (90-100 s) after the prompt arrived: after the portal's 90 s
    /// countdown, still inside a real prompt's life (1-3 min, shared/reference/providers.md
    /// A.8). The cloud keeps the payment open for 5 minutes, so the callback settles it.
    ApproveLate(Duration),
    /// Cancels, enters a wrong PIN, lets it time out, or has too little money.
    Decline(Resolution),
}

impl Answer {
    /// Whether the customer paid.
    pub fn pays(self) -> bool {
        !matches!(self, Answer::Decline(_))
    }

    /// Whether the cloud surely learns the receipt: from the callback (Daraja's status query
    /// does not give it), so "Already paid?" can find the payment.
    fn sends_receipt(self) -> bool {
        self.pays() && self != Answer::ApproveCallbackLost
    }

    /// A short label for the summary.
    pub fn label(self) -> String {
        match self {
            Answer::Approve => "approved".into(),
            Answer::ApproveDuplicated => "approved, callback x3".into(),
            Answer::ApproveCallbackLost => "approved, callback lost".into(),
            Answer::ApproveCallbackLate(_) => "approved, callback late".into(),
            Answer::ApproveLate(_) => LATE_SUCCESS.into(),
            Answer::Decline(resolution) => resolution.as_str().replace('_', " "),
        }
    }

    fn draw(rng: &mut StdRng) -> Answer {
        match rng.random_range(0..100) {
            0..52 => Answer::Approve,
            52..55 => Answer::ApproveLate(Duration::from_millis(rng.random_range(90_000..100_000))),
            55..63 => Answer::ApproveDuplicated,
            63..70 => Answer::ApproveCallbackLost,
            70..76 => Answer::ApproveCallbackLate(Duration::from_millis(rng.random_range(500..5000))),
            76..84 => Answer::Decline(Resolution::Cancel),
            84..90 => Answer::Decline(Resolution::WrongPin),
            90..95 => Answer::Decline(Resolution::Timeout),
            _ => Answer::Decline(Resolution::InsufficientFunds),
        }
    }
}

/// One customer and what became of them.
#[derive(Clone, Debug)]
pub struct Customer {
    /// Its number in the stream.
    pub n: usize,
    /// The site (index in `Stack::sites`) it paid at.
    pub site: usize,
    /// The portal's idempotency key.
    pub key: String,
    /// The paying phone, `2547...`.
    pub msisdn: String,
    /// What the phone was to do.
    pub answer: Answer,
    /// What the portal API said when asked to start the payment, if it refused for good.
    pub refused: Option<String>,
    /// The provider's reference of the prompt, once it reached the phone.
    pub provider_ref: Option<String>,
    /// When the prompt was approved (the provider's success).
    pub approved_at: Option<Instant>,
    /// The paying device's MAC.
    pub mac: String,
    /// The second device the customer recovered the plan on, if they were to.
    pub second: Option<SecondDevice>,
}

/// Runs the stream: `config.payments` customers at `config.rate` per second. Returns when
/// every customer is done (the late approvals too).
pub async fn drive(stack: &Arc<Stack>, config: &ChaosConfig, mut rng: StdRng) -> Vec<Customer> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate.max(0.001)));
    // A stream shorter than Paystack's window would wait most of it for a lost webhook.
    let mix = draw_mix(&mut rng, config.payments, config.stream_length() > PAYSTACK_WINDOW);
    let mut tasks = Vec::with_capacity(config.payments);
    for (n, intent) in mix.into_iter().enumerate() {
        tick.tick().await;
        let (stack, http) = (stack.clone(), http.clone());
        tasks.push(tokio::spawn(async move { customer(&stack, &http, n, intent, config_seed_key(n)).await }));
    }
    let mut customers = Vec::with_capacity(tasks.len());
    for task in tasks {
        customers.push(task.await.expect("customer task"));
    }
    customers
}

/// What one customer is to do, drawn before the stream starts.
#[derive(Clone, Copy, Debug)]
struct Intent {
    answer: Answer,
    /// How long the person takes to read the prompt and type the PIN.
    typing: Duration,
    /// Whether the customer, once online, moves the plan to a second device.
    recovers: bool,
    /// The site it pays at.
    site: usize,
}

/// Deals the customers' sites: of every four in the stream, two pay at Daraja's, one at
/// PayHero's and one at Paystack's, in an order drawn from the seed (so even a short run
/// has its share at each).
fn deal_sites(rng: &mut StdRng, payments: usize) -> Vec<usize> {
    let mut sites = Vec::with_capacity(payments + 3);
    while sites.len() < payments {
        let mut four = [0, 0, 1, 2];
        four.shuffle(rng);
        sites.extend(four);
    }
    sites.truncate(payments);
    sites
}

/// Whether customers of `site` move plans to second devices: not on Paystack, whose test
/// mode gives every charge the same receipt ("10101", shared/reference/providers.md), so a
/// receipt names no one payment there.
fn recovers_at(site: usize) -> bool {
    PROVIDERS[site] != ProviderKind::Paystack
}

/// Draws every customer's intent; from [`RARE_KINDS_FROM`] customers on, a plain approval
/// is turned into each rare kind the draw did not give. Without `paystack_lost`, a Paystack
/// customer drawn to lose the webhook has it come late instead (see [`PAYSTACK_WINDOW`]).
fn draw_mix(rng: &mut StdRng, payments: usize, paystack_lost: bool) -> Vec<Intent> {
    let sites = deal_sites(rng, payments);
    let mut mix: Vec<Intent> = sites
        .into_iter()
        .map(|site| {
            let (mut answer, typing) = (Answer::draw(rng), Duration::from_millis(rng.random_range(1000..8000)));
            if answer == Answer::ApproveCallbackLost && PROVIDERS[site] == ProviderKind::Paystack && !paystack_lost {
                answer = Answer::ApproveCallbackLate(Duration::from_millis(rng.random_range(500..5000)));
            }
            let recovers = rng.random_range(0..100) < RECOVERING_PERCENT && answer.sends_receipt() && recovers_at(site);
            Intent { answer, typing, recovers, site }
        })
        .collect();
    if payments < RARE_KINDS_FROM {
        return mix;
    }
    let plain: Vec<usize> = (0..payments).filter(|&i| mix[i].answer == Answer::Approve).collect();
    if !mix.iter().any(|i| matches!(i.answer, Answer::ApproveLate(_))) && !plain.is_empty() {
        let chosen = plain[rng.random_range(0..plain.len())];
        mix[chosen].answer = Answer::ApproveLate(Duration::from_millis(rng.random_range(90_000..100_000)));
    }
    // Plain approvals where recoveries are made; too few of them, then other customers there
    // (but the late successes) approve instead.
    let recoverable = |i: &Intent, plain: bool| {
        !i.recovers && recovers_at(i.site) && if plain { i.answer == Answer::Approve } else { !matches!(i.answer, Answer::ApproveLate(_)) }
    };
    for plain in [true, false] {
        let mut candidates: Vec<usize> = (0..payments).filter(|&i| recoverable(&mix[i], plain)).collect();
        let recovering = mix.iter().filter(|i| i.recovers).count();
        for _ in recovering..GUARANTEED_RECOVERIES {
            if candidates.is_empty() {
                break;
            }
            let chosen = candidates.swap_remove(rng.random_range(0..candidates.len()));
            mix[chosen].answer = Answer::Approve;
            mix[chosen].recovers = true;
        }
    }
    mix
}

fn config_seed_key(n: usize) -> String {
    format!("chaos-{n}-{}", uuid::Uuid::new_v4().simple())
}

async fn customer(stack: &Stack, http: &reqwest::Client, n: usize, intent: Intent, key: String) -> Customer {
    let (answer, site) = (intent.answer, &stack.sites[intent.site]);
    let phone = format!("0722{:06}", n % 1_000_000);
    let msisdn = format!("254{}", &phone[1..]);
    let mac = format!("02:C0:{:02X}:{:02X}:{:02X}:{:02X}", (n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    let ip = format!("10.{}.{}.{}", 10 + (n >> 16) % 200, (n >> 8) & 0xff, 1 + n % 250);
    site.router.add_host(&mac, &ip).await;
    let mut record = Customer {
        n,
        site: intent.site,
        key: key.clone(),
        msisdn: msisdn.clone(),
        answer,
        refused: None,
        provider_ref: None,
        approved_at: None,
        mac: mac.clone(),
        second: None,
    };
    let body = json!({ "plan_id": site.plan_id, "phone": phone, "mac": mac, "ip": ip, "idempotency_key": key });
    let url = format!("{}/api/portal/{}/payments", stack.base_url(), site.creds.id);
    let deadline = Instant::now() + PATIENCE;
    loop {
        match http.post(&url).json(&body).send().await {
            Ok(response) if response.status().is_success() => break,
            // "A prompt is already on its way": the claim of an attempt whose payment was
            // never written (the database failed between the two) holds for 10 s; the
            // customer taps Pay again a little later.
            Ok(response) if response.status() == reqwest::StatusCode::CONFLICT && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                record.refused = Some(format!("{status} {}", body["error"].as_str().unwrap_or("")));
                return record;
            }
            // The cloud is down or restarting, or the provider failed: the page tries again.
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
            Ok(response) => {
                record.refused = Some(format!("HTTP {} after {PATIENCE:?}", response.status()));
                return record;
            }
            Err(error) => {
                record.refused = Some(format!("{error} after {PATIENCE:?}"));
                return record;
            }
        }
    }
    let Some(prompt) = stack.pay.wait_for_prompt(&msisdn, PATIENCE).await else { return record };
    record.provider_ref = Some(prompt.provider_ref.clone());
    let answered_after = match answer {
        Answer::ApproveLate(after) => after,
        _ => intent.typing,
    };
    tokio::time::sleep(answered_after).await;
    let (resolution, delivery) = match answer {
        Answer::Approve => (Resolution::Approve, Delivery::Normal),
        Answer::ApproveDuplicated => (Resolution::Approve, Delivery::Duplicate(3)),
        Answer::ApproveCallbackLost => (Resolution::Approve, Delivery::Lost),
        Answer::ApproveCallbackLate(after) => (Resolution::Approve, Delivery::Late(after)),
        Answer::ApproveLate(_) => (Resolution::Approve, Delivery::Normal),
        Answer::Decline(resolution) => (resolution, Delivery::Normal),
    };
    if answer.pays() {
        record.approved_at = Some(Instant::now());
    }
    // A callback the cloud could not take (it was down) is lost, as with the real provider.
    let _ = stack.pay.resolve(&prompt.provider_ref, resolution, delivery).await;
    if intent.recovers && answer.pays() {
        record.second = Some(recovery::recover(stack, site, n, &phone, &mac, &prompt.provider_ref).await);
    }
    record
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_short_stream_loses_no_paystack_webhook_for_good() {
        for seed in 0..100 {
            let mix = draw_mix(&mut StdRng::seed_from_u64(seed), 120, false);
            let lost = |i: &&Intent| i.answer == Answer::ApproveCallbackLost;
            assert!(mix.iter().filter(lost).all(|i| PROVIDERS[i.site] != ProviderKind::Paystack), "seed {seed}");
        }
        let kept = (0..100).any(|seed| {
            let mix = draw_mix(&mut StdRng::seed_from_u64(seed), 120, true);
            mix.iter().any(|i| i.answer == Answer::ApproveCallbackLost && PROVIDERS[i.site] == ProviderKind::Paystack)
        });
        assert!(kept, "a long stream loses Paystack webhooks too");
    }

    #[test]
    fn every_mix_of_twenty_or_more_holds_each_rare_kind_and_site() {
        for seed in 0..500 {
            let mix = draw_mix(&mut StdRng::seed_from_u64(seed), RARE_KINDS_FROM, seed % 2 == 0);
            assert!(mix.iter().any(|i| matches!(i.answer, Answer::ApproveLate(_))), "seed {seed}: no late success");
            let recovering: Vec<_> = mix.iter().filter(|i| i.recovers).collect();
            assert!(recovering.len() >= GUARANTEED_RECOVERIES, "seed {seed}: {} recoveries", recovering.len());
            assert!(recovering.iter().all(|i| i.answer.sends_receipt()), "seed {seed}: a recovery without a receipt in the cloud");
            assert!(recovering.iter().all(|i| recovers_at(i.site)), "seed {seed}: a recovery on Paystack");
            for (site, kind) in PROVIDERS.iter().enumerate() {
                let there = mix.iter().filter(|i| i.site == site).count();
                let share = if *kind == ProviderKind::Daraja { 10 } else { 5 };
                assert_eq!(there, share, "seed {seed}: customers at {kind:?}");
            }
        }
    }
}
