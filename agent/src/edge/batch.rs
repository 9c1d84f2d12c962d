//! Many hotspot users in one command (protocol 4's [`Command::UpsertHotspotUsers`]): a
//! voucher batch of thousands of codes loads in seconds instead of minutes.
//!
//! What makes it fast, against one command per user:
//! - the profile is written once, not once per user;
//! - the entitlements go into the journal with one flush, not one per user;
//! - each user is added straight away (one API round trip for a new code; only a user that
//!   already exists is looked up and updated), instead of a look before every add;
//! - the adds are pipelined: up to [`IN_FLIGHT`] tagged sentences on the one connection
//!   at once, so the link's latency is paid once per window, not once per user, and the
//!   router never has more than that many of ours to work through (it is not flooded).
//!
//! Idempotent like the single command: applied again after a crash, every user is found
//! already there and left as it is (or brought back to these settings).
//!
//! [`Command::UpsertHotspotUsers`]: jasiyo_shared::Command::UpsertHotspotUsers

use std::collections::BTreeMap;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use jasiyo_shared::{HotspotProfile, HotspotUser};

use super::{Edge, EdgeError, spec_for};
use crate::routeros::ApiError;

/// The most API sentences of one batch in flight at once.
pub const IN_FLIGHT: usize = 16;

/// What came of each user of a batch, counted for the command's note.
#[derive(Debug, Default)]
struct Tally {
    added: usize,
    updated: usize,
    unchanged: usize,
    /// Why users were refused for good, and how many for each reason (never their names:
    /// a voucher's name is its code).
    refused: BTreeMap<String, usize>,
}

impl Tally {
    fn note(&self, total: usize) -> String {
        let mut note = format!("{total} users: {} added, {} updated, {} already up to date", self.added, self.updated, self.unchanged);
        for (reason, n) in &self.refused {
            note.push_str(&format!("; {n} refused: {reason}"));
        }
        note
    }

    fn refused_count(&self) -> usize {
        self.refused.values().sum()
    }
}

/// How one user went.
enum Written {
    Added,
    Updated,
    Unchanged,
    /// Refused for good, with the reason (without the name).
    Refused(String),
}

impl Edge {
    /// Applies a batch: the profile, then every user. Returns the note for the command's
    /// outcome; a router or journal failure is returned as is (the whole batch is applied
    /// again later). If the router refused every user, the batch fails with the first reason.
    pub(super) async fn upsert_many(&self, profile: Option<&HotspotProfile>, users: &[HotspotUser]) -> Result<Option<String>, EdgeError> {
        if let Some(profile) = profile {
            self.write_profile(profile).await?;
        }
        let now = self.now();
        let (expired, live): (Vec<&HotspotUser>, Vec<&HotspotUser>) = users.iter().partition(|u| u.expires_at.is_some_and(|at| at <= now));
        // Rare (a batch delivered after its users' expiry): the single path removes them.
        for user in &expired {
            self.upsert(user).await?;
        }
        // Intent first, with one flush: a user on the router that the journal does not
        // know would be drift.
        let live: Vec<HotspotUser> = live.into_iter().cloned().collect();
        let (live, previous) = self.journal.off_thread(move |j| j.put_entitlements(&live).map(|p| (live, p))).await?;
        {
            let mut expiries = self.expiries();
            live.iter().for_each(|u| expiries.set(&u.name, u.expires_at));
        }
        self.changed.notify_one();

        let _turn = self.turn.read().await;
        let written = self.write_pipelined(&live).await;
        let mut tally = Tally { unchanged: expired.len(), ..Tally::default() };
        let mut restore = Vec::new();
        for ((user, before), result) in live.iter().zip(previous).zip(written) {
            match result? {
                Written::Added => tally.added += 1,
                Written::Updated => tally.updated += 1,
                Written::Unchanged => tally.unchanged += 1,
                Written::Refused(reason) => {
                    *tally.refused.entry(reason).or_default() += 1;
                    restore.push((user.name.clone(), before));
                }
            }
        }
        if !restore.is_empty() {
            // Refused for good: the journal goes back to what the router has.
            {
                let mut expiries = self.expiries();
                restore.iter().for_each(|(name, before)| expiries.set(name, before.as_ref().and_then(|b| b.expires_at)));
            }
            self.journal
                .off_thread(move |j| {
                    for (name, before) in &restore {
                        match before {
                            Some(before) => j.put_entitlement(before)?,
                            None => drop(j.remove_entitlement(name)?),
                        }
                    }
                    Ok(())
                })
                .await?;
        }
        if tally.refused_count() == users.len() {
            let reason = tally.refused.keys().next().cloned().unwrap_or_default();
            return Err(EdgeError::Refused(reason));
        }
        Ok(Some(tally.note(users.len())))
    }

    /// Writes every user with at most [`IN_FLIGHT`] of them at the router at once; the
    /// answers in the users' order.
    async fn write_pipelined(&self, users: &[HotspotUser]) -> Vec<Result<Written, ApiError>> {
        let mut in_flight = FuturesOrdered::new();
        let mut written = Vec::with_capacity(users.len());
        for user in users {
            if in_flight.len() == IN_FLIGHT {
                written.extend(in_flight.next().await);
            }
            in_flight.push_back(self.write_new_user(user));
        }
        while let Some(result) = in_flight.next().await {
            written.push(result);
        }
        written
    }

    /// Adds the user, or (when the router already has one of that name) brings ours to
    /// these settings. A refusal is returned as [`Written::Refused`]; router trouble as an error.
    async fn write_new_user(&self, user: &HotspotUser) -> Result<Written, ApiError> {
        let spec = spec_for(user);
        match self.router.add_user(&spec).await {
            Ok(_) => return Ok(Written::Added),
            Err(e) if e.is_trap_containing("already have user") => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => return Ok(Written::Refused(super::apply::router_message(&e))),
        }
        let Some(row) = self.router.find_user(&user.name).await? else {
            // Removed between the add and the look: the next apply adds it.
            return Err(ApiError::Io("the user vanished while being updated".into()));
        };
        if !super::apply::ours(&row) {
            return Ok(Written::Refused("a hotspot user of that name exists and is not managed by Jasiyo; left unchanged".into()));
        }
        if row.matches(&spec) {
            return Ok(Written::Unchanged);
        }
        match self.router.set_user(&row.id, &spec).await {
            Ok(()) => Ok(Written::Updated),
            Err(e) if e.is_transient() => Err(e),
            Err(e) => Ok(Written::Refused(super::apply::router_message(&e))),
        }
    }
}
