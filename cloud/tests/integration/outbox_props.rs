//! Property test of the outbox, on both databases: whatever the interleaving of enqueues,
//! deliveries, confirmations, results, repeated results and dropped or closed links, every
//! command reaches the agent's journal once, in sequence order, and the cloud keeps exactly
//! one result for it, the first.
//!
//! The agent is raw (see `raw_agent`) and does what a real one does: journals a delivery
//! (a number it holds already is a duplicate, not applied again), confirms it, applies it,
//! and repeats its unacknowledged results until the cloud acknowledges them; on a new link
//! it says the highest number in its journal. Deliveries it had not journalled when the link
//! went are lost with the link, as they are when an agent is killed.

use std::collections::{BTreeMap, BTreeSet};

use jasiyo_cloud::hub::AgentLimits;
use jasiyo_cloud::model::CommandState;
use jasiyo_shared::{AgentMessage, CloudMessage, Command, Outcome, RouterId, Seq};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::raw_agent::{Cloud, RawAgent, WAIT, World};

/// One thing that happens.
#[derive(Clone, Debug)]
enum Step {
    /// The cloud queues this many commands.
    Enqueue(u8),
    /// The agent reads what the cloud has sent so far.
    Read,
    /// The agent journals and confirms up to this many of the deliveries it read.
    Journal(u8),
    /// The agent sends the results it has not had acknowledged (once per link).
    Results,
    /// The agent repeats, with another outcome, a result the cloud acknowledged (one
    /// repeat per command and link, as the protocol allows).
    Repeat(u8),
    /// The link goes (closed, or just dropped) and the agent connects again.
    Reconnect { close: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1..4u8).prop_map(Step::Enqueue),
        4 => Just(Step::Read),
        3 => (1..4u8).prop_map(Step::Journal),
        3 => Just(Step::Results),
        1 => any::<u8>().prop_map(Step::Repeat),
        1 => any::<bool>().prop_map(|close| Step::Reconnect { close }),
    ]
}

fn outcome(seq: Seq) -> Outcome {
    Outcome::Applied { note: Some(format!("applied {}", seq.0)) }
}

/// The agent and what it has seen.
struct Agent<'a> {
    cloud: &'a Cloud,
    router: RouterId,
    token: String,
    link: Option<RawAgent>,
    nonce: u64,
    /// Read, not yet journalled.
    inbox: Vec<Seq>,
    /// The journal: every command applied, with whether its result was acknowledged.
    journal: BTreeMap<Seq, bool>,
    /// Commands in the order they were first journalled (and applied).
    applied: Vec<Seq>,
    /// Deliveries on the current link, in the order they came.
    delivered: Vec<Seq>,
    /// Results sent and repeated on the current link.
    sent: BTreeSet<Seq>,
    repeated: BTreeSet<Seq>,
}

impl Agent<'_> {
    async fn connect(&mut self) {
        let high = self.journal.keys().next_back().copied();
        self.link = Some(RawAgent::welcomed(self.cloud, self.router, &self.token, high).await);
        self.inbox.clear();
        self.delivered.clear();
        self.sent.clear();
        self.repeated.clear();
    }

    fn link(&mut self) -> &mut RawAgent {
        self.link.as_mut().expect("connected")
    }

    async fn read(&mut self) {
        self.nonce += 1;
        let nonce = self.nonce;
        for message in self.link().until_pong(nonce).await {
            match message {
                CloudMessage::Ping { nonce } => self.link().send(&AgentMessage::Pong { nonce }).await,
                CloudMessage::Deliver(delivery) => {
                    if let Some(last) = self.delivered.last() {
                        assert!(delivery.seq > *last, "delivered {:?} after {last:?} on one link", delivery.seq);
                    }
                    self.delivered.push(delivery.seq);
                    self.inbox.push(delivery.seq);
                }
                CloudMessage::ResultAck { seq } => {
                    let acked = self.journal.get_mut(&seq).unwrap_or_else(|| panic!("ack of {seq:?}, never applied"));
                    *acked = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    async fn run(&mut self, step: &Step, hub_enqueue: &mut u32) {
        match *step {
            Step::Enqueue(n) => {
                for _ in 0..n {
                    *hub_enqueue += 1;
                    let command = Command::RemoveHotspotUser { name: format!("u{hub_enqueue}") };
                    self.cloud.hub.enqueue(self.router, &command).await.unwrap();
                }
            }
            Step::Read => self.read().await,
            Step::Journal(n) => {
                let take = (n as usize).min(self.inbox.len());
                for seq in self.inbox.drain(..take).collect::<Vec<_>>() {
                    if !self.journal.contains_key(&seq) {
                        if let Some(last) = self.applied.last() {
                            assert!(seq > *last, "{seq:?} first journalled after {last:?}");
                        }
                        self.journal.insert(seq, false);
                        self.applied.push(seq);
                    }
                    // A result already sent on this link finished the command: the cloud
                    // expects no confirmation of it any more.
                    if !self.sent.contains(&seq) {
                        self.link().send(&AgentMessage::Received { seq }).await;
                    }
                }
            }
            Step::Results => {
                let due: Vec<Seq> = self.journal.iter().filter(|(s, acked)| !**acked && !self.sent.contains(s)).map(|(s, _)| *s).collect();
                for seq in due {
                    self.sent.insert(seq);
                    self.link().send(&AgentMessage::Result { seq, outcome: outcome(seq) }).await;
                }
            }
            Step::Repeat(pick) => {
                let done: Vec<Seq> = self
                    .journal
                    .iter()
                    .filter(|(s, acked)| **acked && !self.repeated.contains(s) && !self.sent.contains(s))
                    .map(|(s, _)| *s)
                    .collect();
                if let Some(&seq) = done.get(pick as usize % done.len().max(1)) {
                    self.repeated.insert(seq);
                    let other = Outcome::Failed { message: "a repeat with another outcome".into() };
                    self.link().send(&AgentMessage::Result { seq, outcome: other }).await;
                }
            }
            Step::Reconnect { close } => {
                let old = self.link.take().expect("connected");
                if close {
                    old.close().await;
                } else {
                    drop(old);
                }
                self.connect().await;
            }
        }
    }
}

async fn one_case(world: &World, cloud: &Cloud, case: u32, steps: &[Step]) {
    let (router, token) = world.router(&format!("outbox{case}")).await;
    let mut agent = Agent {
        cloud,
        router,
        token: token.expose().to_string(),
        link: None,
        nonce: 0,
        inbox: Vec::new(),
        journal: BTreeMap::new(),
        applied: Vec::new(),
        delivered: Vec::new(),
        sent: BTreeSet::new(),
        repeated: BTreeSet::new(),
    };
    agent.connect().await;
    let mut enqueued = 0;
    for step in steps {
        agent.run(step, &mut enqueued).await;
    }
    // Then the link stays up until everything is done.
    let quiet = async {
        loop {
            agent.read().await;
            agent.run(&Step::Journal(u8::MAX), &mut enqueued).await;
            agent.run(&Step::Results, &mut enqueued).await;
            if agent.applied.len() == enqueued as usize && agent.journal.values().all(|acked| *acked) {
                break;
            }
        }
    };
    tokio::time::timeout(WAIT, quiet).await.expect("every command done in time");

    let all: Vec<Seq> = (1..=u64::from(enqueued)).map(Seq).collect();
    assert_eq!(agent.applied, all, "each command applied once, in order");
    let stored = world.store.list_commands(router, 1000).await.unwrap();
    assert_eq!(stored.len(), enqueued as usize);
    for command in stored {
        assert_eq!(command.state, CommandState::Applied, "{:?}", command.seq);
        assert_eq!(command.outcome, Some(outcome(command.seq)), "the first result is the one kept");
    }
    agent.link.take().expect("connected").close().await;
}

async fn every_command_once_in_order(world: World) {
    let cloud = Cloud::start(world.store.clone(), AgentLimits::default()).await;
    let handle = tokio::runtime::Handle::current();
    // Each case (shrinking runs more) on its own router or payment.
    let case = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(Config { cases: 16, failure_persistence: None, ..Config::default() });
    let result = tokio::task::block_in_place(|| {
        runner.run(&proptest::collection::vec(step(), 1..30), |steps| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            handle.block_on(one_case(&world, &cloud, case, &steps));
            Ok(())
        })
    });
    cloud.stop();
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

jasiyo_cloud::on_each_backend!(World::new; every_command_once_in_order);
