//! What a chaos run found, in total and by provider, and how it is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::breakdown::Breakdown;
use super::journal::JournalCheck;
use super::link_back::LinkBack;
use super::stretches::Stretches;

/// What a chaos run found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Customers by what they did (or what stopped them).
    pub outcomes: BTreeMap<String, usize>,
    /// The same, the LOST and the DOUBLED, by provider.
    pub by_provider: BTreeMap<&'static str, Tally>,
    /// Callbacks the cloud took (2xx) and callbacks sent, by provider.
    pub callbacks: BTreeMap<&'static str, (usize, usize)>,
    /// Faults injected by kind.
    pub faults: BTreeMap<&'static str, usize>,
    /// Those of one site (agent, router, link) by kind and by the site's provider.
    pub fault_sites: BTreeMap<&'static str, BTreeMap<&'static str, usize>>,
    /// Paid by the provider, no user on the router.
    pub lost: usize,
    /// Served more than once: a second paid payment for one prompt, or a second prompt.
    pub doubled: usize,
    /// Provider success -> user on the router, callbacks delivered (ms, sorted).
    pub latencies_ms: Vec<f64>,
    /// The same for payments whose callback was lost (settled by reconciliation).
    pub reconciled_ms: Vec<f64>,
    /// For each payment of `latencies_ms`: from its provider success, or from the end of
    /// the last fault that ended before its user was on the router if that is later, to the
    /// user on the router (ms, sorted): the wait the system added beyond the faults.
    pub after_faults_ms: Vec<f64>,
    /// Every customer approved (callback delivered) before the last fault ended was on the
    /// router this long after it ended.
    pub caught_up_after: Option<Duration>,
    /// How fast the link came back after each fault that broke it.
    pub link_back: LinkBack,
    /// From the end of the last fault to the last repair (users put on the router for late
    /// approvals, and plans moved to second devices, are not repairs, and are left out).
    pub converged_after: Option<Duration>,
    /// The run's length.
    pub elapsed: Duration,
    /// Customers whose plan moved to their second device as it must ("Already paid?").
    pub recovered: usize,
    /// Customers who could not recover on a second device because the cloud never learnt
    /// the receipt (the callback was lost to a fault; Daraja's status query does not give it).
    pub recoveries_impossible: usize,
    /// What the agent's journal held after quiet (and a SIGKILL), once read and compared
    /// with the router.
    pub journal: Option<JournalCheck>,
    /// Every invariant broken, with the payment's timeline.
    pub violations: Vec<String>,
    /// Where the slow payments (callbacks delivered) spent their time.
    pub breakdown: Breakdown,
    /// How much of the stream the faults covered, and how long they ran back to back.
    pub stretches: Stretches,
    /// Paid by the provider and not served, in the one way the cloud cannot repair: it was
    /// killed while the provider took the push, so the provider's reference in the answer
    /// was never written, and the callback (which names the payment) was lost too. Daraja
    /// and PayHero can be asked only by their own reference (`docs/providers-notes.md`).
    /// The payment stays open for the owner's `payment settle` with the customer's receipt.
    /// Not a violation, but never hidden: each is listed with its timeline.
    pub unconfirmable: Vec<String>,
}

/// One provider's share of a run.
#[derive(Debug, Default)]
pub struct Tally {
    /// Its customers by what they did (or what stopped them).
    pub outcomes: BTreeMap<String, usize>,
    /// Paid by the provider, no user on the router.
    pub lost: usize,
    /// Served more than once.
    pub doubled: usize,
    /// Paid, not served, and beyond the cloud's reach (see [`Summary::unconfirmable`]).
    pub unconfirmable: usize,
}

impl Summary {
    /// Whether every invariant held.
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.lost == 0 && self.doubled == 0 && self.converged_after.is_some()
    }

    /// A customer of `provider` ended this way.
    pub(super) fn outcome(&mut self, provider: &'static str, label: String) {
        *self.by_provider.entry(provider).or_default().outcomes.entry(label.clone()).or_default() += 1;
        *self.outcomes.entry(label).or_default() += 1;
    }

    /// `n` paid customers of `provider` unserved.
    pub(super) fn lost(&mut self, provider: &'static str, n: usize) {
        self.by_provider.entry(provider).or_default().lost += n;
        self.lost += n;
    }

    /// A paid customer of `provider` out of the cloud's reach (see [`Summary::unconfirmable`]).
    pub(super) fn unconfirmable(&mut self, provider: &'static str, story: String) {
        self.by_provider.entry(provider).or_default().unconfirmable += 1;
        self.unconfirmable.push(story);
    }

    /// `n` customers of `provider` served twice.
    pub(super) fn doubled(&mut self, provider: &'static str, n: usize) {
        self.by_provider.entry(provider).or_default().doubled += n;
        self.doubled += n;
    }

    /// "LOST 0 (Daraja 0, PayHero 0, Paystack 0)".
    fn by_provider(&self, of: impl Fn(&Tally) -> usize) -> String {
        let each: Vec<String> = self.by_provider.iter().map(|(p, t)| format!("{p} {}", of(t))).collect();
        each.join(", ")
    }
}

/// The `p` quantile of `sorted` (NaN when empty).
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.outcomes.values().sum();
        writeln!(f, "  payments: {total} in {:.0} s", self.elapsed.as_secs_f64())?;
        let width = self.outcomes.keys().map(|o| o.len()).max().unwrap_or(0).max(28);
        let providers: String = self.by_provider.keys().map(|p| format!(" {p:>9}")).collect();
        writeln!(f, "    {:<width$} {:>5}{providers}", "", "total")?;
        let count = |tally: &Tally, outcome: &str| tally.outcomes.get(outcome).copied().unwrap_or(0);
        for (outcome, n) in &self.outcomes {
            let each: String = self.by_provider.values().map(|t| format!(" {:>9}", count(t, outcome))).collect();
            writeln!(f, "    {outcome:<width$} {n:>5}{each}")?;
        }
        let paid: String = self.by_provider.values().map(|t| format!(" {:>9}", t.outcomes.values().sum::<usize>())).collect();
        writeln!(f, "    {:<width$} {total:>5}{paid}", "all")?;
        let faults: usize = self.faults.values().sum();
        writeln!(f, "  faults: {faults}")?;
        for (fault, n) in &self.faults {
            let sites = self.fault_sites.get(fault).map(|sites| sites.iter().map(|(p, n)| format!("{p} {n}")).collect::<Vec<_>>());
            let sites = sites.map_or(String::new(), |sites| format!(" ({})", sites.join(", ")));
            writeln!(f, "    {fault:<28} {n:>5}{sites}")?;
        }
        writeln!(
            f,
            "  LOST (paid, not served): {} ({})   DOUBLED: {} ({})",
            self.lost,
            self.by_provider(|t| t.lost),
            self.doubled,
            self.by_provider(|t| t.doubled)
        )?;
        if !self.unconfirmable.is_empty() {
            writeln!(
                f,
                "  PAID, NOT SERVED, BEYOND THE CLOUD'S REACH: {} ({}): the cloud was killed while the provider took the \
                 push and the callback was lost too; open for the owner's `payment settle`",
                self.unconfirmable.len(),
                self.by_provider(|t| t.unconfirmable)
            )?;
            for story in &self.unconfirmable {
                writeln!(f, "    {story}")?;
            }
        }
        let callbacks: Vec<String> = self.callbacks.iter().map(|(p, (taken, sent))| format!("{p} {taken}/{sent}")).collect();
        writeln!(f, "  callbacks taken (2xx) of those sent: {}", callbacks.join(", "))?;
        let (l, r) = (&self.latencies_ms, &self.reconciled_ms);
        writeln!(
            f,
            "  provider success -> user on router: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} payments)",
            percentile(l, 0.5),
            percentile(l, 0.99),
            percentile(l, 1.0),
            l.len()
        )?;
        writeln!(
            f,
            "    callback lost, found by reconciliation: p50 {:.0} ms, max {:.0} ms ({})",
            percentile(r, 0.5),
            percentile(r, 1.0),
            r.len()
        )?;
        let a = &self.after_faults_ms;
        writeln!(
            f,
            "    beyond the faults (from success or the last fault's end, if later): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(a, 0.5),
            percentile(a, 0.99),
            percentile(a, 1.0)
        )?;
        writeln!(
            f,
            "  second-device recoveries: {} moved (one user, on the new device alone), {} impossible (the cloud never got the receipt)",
            self.recovered, self.recoveries_impossible
        )?;
        write!(f, "{}", self.link_back)?;
        if let Some(after) = self.caught_up_after {
            writeln!(f, "  everyone approved before the last fault ended was online {:.1} s after it", after.as_secs_f64())?;
        }
        if let Some(journal) = &self.journal {
            let agrees = if self.violations.iter().any(|v| v.starts_with("journal:")) { "DISAGREES" } else { "agrees" };
            writeln!(f, "  agent journal after a SIGKILL: {journal}; {agrees} with the router")?;
        }
        match self.converged_after {
            Some(after) => writeln!(f, "  converged {:.1} s after the last fault", after.as_secs_f64())?,
            None => writeln!(f, "  DID NOT CONVERGE")?,
        }
        write!(f, "{}", self.stretches)?;
        write!(f, "{}", self.breakdown)?;
        for violation in &self.violations {
            writeln!(f, "  VIOLATION {violation}")?;
        }
        Ok(())
    }
}
