//! Property test of the journal under kills: an agent's life (deliveries, redeliveries,
//! outcomes, the cloud's acknowledgements) with the process killed at generated steps.
//!
//! A kill is a copy of the journal's files taken while it is open, with nothing flushed for
//! the occasion: what a killed process leaves on disk (written data survives a process's
//! death; nothing else does). The agent goes on from the copy. After each kill every command
//! is in a state at least as far as the last flush left it and no further than the agent
//! had taken it; a command the journal recorded is never taken as new again; an outcome,
//! once flushed, never goes back to pending (so the command is never applied twice) and is
//! the outcome that was set. At the end, with no more kills, every command is applied
//! exactly once and its outcome reported and acknowledged once.

use std::collections::BTreeMap;
use std::path::Path;

use jasiyo_shared::{Command, Delivery, Outcome, Seq};
use proptest::prelude::*;
use tempfile::TempDir;

use super::*;

/// One step of the agent's life.
#[derive(Clone, Debug)]
enum Step {
    /// The cloud delivers this command (again, if it did before).
    Deliver(u64),
    /// The executor applies the next pending command and records its outcome.
    Apply,
    /// The cloud acknowledges the outcome of this command.
    Ack(u64),
    /// The process is killed and started again.
    Kill,
}

/// How far a command has got, in order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Unknown,
    Pending,
    Done,
    Acked,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..=8u64).prop_map(Step::Deliver),
        3 => Just(Step::Apply),
        2 => (1..=8u64).prop_map(Step::Ack),
        1 => Just(Step::Kill),
    ]
}

fn delivery(seq: u64) -> Delivery {
    let id = format!("00000000-0000-4000-8000-{seq:012x}").parse().expect("a well-formed id");
    Delivery { seq: Seq(seq), id, command: Command::RemoveHotspotUser { name: format!("user{seq}") } }
}

/// The outcome the executor gets for a command: a different one per command, so a mix-up
/// shows.
fn outcome(seq: u64) -> Outcome {
    Outcome::Applied { note: Some(format!("applied {seq}")) }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What the journal says of `seq`, finding out without changing anything but an unknown
/// command (which it then records, as a redelivery would).
fn observe(journal: &Journal, seq: u64) -> State {
    if journal.pending(usize::MAX).unwrap().iter().any(|d| d.seq == Seq(seq)) {
        return State::Pending;
    }
    if let Some((_, got)) = journal.unacked_results().unwrap().into_iter().find(|(s, _)| *s == Seq(seq)) {
        assert_eq!(got, outcome(seq), "command {seq} has another command's outcome");
        return State::Done;
    }
    match journal.record(&delivery(seq)).unwrap() {
        Recorded::Duplicate(Existing::Acknowledged) => State::Acked,
        Recorded::New => State::Unknown,
        other => panic!("command {seq}: neither pending, done nor acknowledged, yet {other:?}"),
    }
}

/// The agent: its journal, where it lives, and the model of what it did.
struct Agent {
    homes: Vec<TempDir>,
    journal: Journal,
    /// Where each command got, as far as the process knows.
    latest: BTreeMap<u64, State>,
    /// Where each command got as of the last flush.
    durable: BTreeMap<u64, State>,
    /// How often each command was applied on the router.
    applied: BTreeMap<u64, u32>,
}

impl Agent {
    fn new() -> Agent {
        let home = TempDir::new().unwrap();
        let (journal, _) = Journal::open(home.path()).unwrap();
        Agent { homes: vec![home], journal, latest: BTreeMap::new(), durable: BTreeMap::new(), applied: BTreeMap::new() }
    }

    fn flushed(&mut self) {
        self.durable = self.latest.clone();
    }

    fn run(&mut self, step: &Step) {
        match *step {
            Step::Deliver(seq) => {
                let known = self.latest.get(&seq).cloned().unwrap_or(State::Unknown);
                let recorded = self.journal.record(&delivery(seq)).unwrap();
                let expected = match known {
                    State::Unknown => Recorded::New,
                    State::Pending => Recorded::Duplicate(Existing::Pending),
                    State::Done => Recorded::Duplicate(Existing::Done(outcome(seq))),
                    State::Acked => Recorded::Duplicate(Existing::Acknowledged),
                };
                assert_eq!(recorded, expected, "delivery of {seq}");
                if recorded == Recorded::New {
                    self.latest.insert(seq, State::Pending);
                    self.flushed();
                }
            }
            Step::Apply => {
                if let Some(next) = self.journal.next_pending().unwrap() {
                    let seq = next.seq.0;
                    assert_eq!(self.latest.get(&seq), Some(&State::Pending), "{seq} taken as pending");
                    *self.applied.entry(seq).or_default() += 1;
                    self.journal.set_outcome(next.seq, &outcome(seq)).unwrap();
                    self.latest.insert(seq, State::Done);
                    self.flushed();
                } else {
                    assert!(!self.latest.values().any(|s| *s == State::Pending), "a pending command was not offered");
                }
            }
            Step::Ack(seq) => {
                let done = self.latest.get(&seq) == Some(&State::Done);
                assert_eq!(self.journal.ack_result(Seq(seq)).unwrap(), done, "ack of {seq}");
                if done {
                    self.latest.insert(seq, State::Acked);
                }
            }
            Step::Kill => self.kill(),
        }
    }

    fn kill(&mut self) {
        let home = TempDir::new().unwrap();
        copy_dir(self.homes.last().unwrap().path(), home.path());
        let (journal, _) = Journal::open(home.path()).unwrap();
        self.journal = journal;
        self.homes.push(home);
        for (seq, latest) in self.latest.clone() {
            let durable = self.durable.get(&seq).cloned().unwrap_or(State::Unknown);
            let found = observe(&self.journal, seq);
            assert!(durable <= found && found <= latest, "command {seq} {found:?} after a kill: flushed {durable:?}, last {latest:?}");
            // An unknown command was just recorded again, as its redelivery would.
            let now = if found == State::Unknown { State::Pending } else { found };
            self.latest.insert(seq, now);
        }
        // What was read back is on disk.
        self.flushed();
    }

    /// The rest of the agent's life, without kills: the cloud re-delivers every command
    /// without an acknowledged outcome, the executor applies all, the cloud acknowledges.
    fn finish(&mut self) {
        let seqs: Vec<u64> = self.latest.keys().copied().collect();
        for &seq in &seqs {
            self.run(&Step::Deliver(seq));
        }
        while self.journal.next_pending().unwrap().is_some() {
            self.run(&Step::Apply);
        }
        let results = self.journal.unacked_results().unwrap();
        let mut reported: Vec<u64> = results.iter().map(|(s, _)| s.0).collect();
        reported.dedup();
        assert_eq!(reported.len(), results.len(), "an outcome reported twice: {results:?}");
        for (seq, got) in results {
            assert_eq!(got, outcome(seq.0));
            self.run(&Step::Ack(seq.0));
        }
        for &seq in &seqs {
            assert_eq!(self.applied.get(&seq), Some(&1), "command {seq} applied {:?} times", self.applied.get(&seq));
            assert_eq!(self.journal.record(&delivery(seq)).unwrap(), Recorded::Duplicate(Existing::Acknowledged));
        }
        assert_eq!(self.journal.depth(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn each_outcome_once_whatever_the_kills(steps in proptest::collection::vec(step(), 1..40)) {
        let mut agent = Agent::new();
        for step in &steps {
            agent.run(step);
        }
        agent.finish();
    }
}
