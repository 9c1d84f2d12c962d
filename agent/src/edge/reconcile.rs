//! Reconciliation: the users we manage on the router (those carrying our marker) against
//! the entitlements in the journal. Missing or altered users are restored; expired or
//! unknown ones are removed; users without our marker are never touched. Whatever was
//! repaired is reported to the cloud.

use std::collections::HashMap;

use jasiyo_shared::command::Password;
use jasiyo_shared::{AgentEvent, HotspotUser, UnixTime, UserUsage};
use tracing::info;

use super::{Edge, EdgeError, marker, spec_for};
use crate::routeros::UserRow;

/// What one reconciliation changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Restored (re-created or set back).
    pub restored: Vec<String>,
    /// Removed from the router.
    pub removed: Vec<String>,
    /// Adopted into the journal (after a journal reset).
    pub adopted: Vec<String>,
}

impl Drift {
    fn is_empty(&self) -> bool {
        self.restored.is_empty() && self.removed.is_empty() && self.adopted.is_empty()
    }
}

impl Edge {
    /// Compares and repairs once.
    pub async fn reconcile_once(&self, now: UnixTime) -> Result<Drift, EdgeError> {
        let _turn = self.turn.write().await;
        let desired: HashMap<String, HotspotUser> =
            self.journal.off_thread(|j| j.entitlements()).await?.into_iter().map(|u| (u.name.clone(), u)).collect();
        let ours: Vec<(UserRow, marker::Marker)> = self
            .router
            .users()
            .await?
            .into_iter()
            .filter_map(|row| {
                let marker = marker::parse(row.comment.as_deref()?)?;
                Some((row, marker))
            })
            .collect();
        self.publish_usage(&ours);
        // A command still waiting to be applied may be the one that made (or will change
        // or remove) a user: leave those users to it.
        let pending = self.journal.off_thread(|j| j.pending_user_names()).await?;
        let mut drift = Drift::default();
        for user in desired.values().filter(|u| !pending.contains(&u.name)) {
            if user.expires_at.is_some_and(|at| at <= now) {
                continue; // expiry enforcement removes it
            }
            let on_router = ours.iter().find(|(row, _)| row.name == user.name);
            if on_router.is_none_or(|(row, _)| !row.matches(&spec_for(user))) {
                match self.write_user(user).await {
                    // The owner made a user of that name by hand: theirs stays as it is.
                    Err(EdgeError::NotOurs(name)) => {
                        tracing::warn!(user = %name, "not restored: the router has the owner's own user of that name")
                    }
                    written => {
                        written?;
                        drift.restored.push(user.name.clone());
                    }
                }
            }
        }
        let adopt = self.adopt_unknown.load(std::sync::atomic::Ordering::SeqCst);
        let unknown = ours.iter().filter(|(row, _)| !desired.contains_key(&row.name) && !pending.contains(&row.name));
        for (row, marker) in unknown {
            let expired = marker.expires_at.is_some_and(|at| at <= now);
            if adopt && !expired {
                let user = adopted(row, marker);
                self.expiries().set(&user.name, user.expires_at);
                self.journal.off_thread(move |j| j.put_entitlement(&user)).await?;
                drift.adopted.push(row.name.clone());
            } else {
                self.remove_everywhere(&row.name).await?;
                drift.removed.push(row.name.clone());
            }
        }
        if !drift.adopted.is_empty() {
            self.journal.off_thread(|j| j.flush()).await?;
        }
        self.adopt_unknown.store(false, std::sync::atomic::Ordering::SeqCst);
        if !drift.is_empty() {
            info!(restored = ?drift.restored, removed = ?drift.removed, adopted = ?drift.adopted, "router drift repaired");
            let event =
                AgentEvent::Drift { restored: drift.restored.clone(), removed: drift.removed.clone(), adopted: drift.adopted.clone() };
            self.report(event).await?;
            self.changed.notify_one();
        }
        Ok(drift)
    }
}

impl Edge {
    /// Publishes the counters of the users we manage (those the router counts for), with
    /// the trial sessions last seen.
    fn publish_usage(&self, ours: &[(UserRow, marker::Marker)]) {
        let mut usage: Vec<UserUsage> = ours
            .iter()
            .filter_map(|(row, _)| Some(UserUsage { name: row.name.clone(), bytes_in: row.bytes_in?, bytes_out: row.bytes_out? }))
            .collect();
        self.usage.send_if_modified(|current| {
            // The trial sessions noted with the status stay until it looks again.
            usage.extend(current.iter().filter(|u| u.name.starts_with(jasiyo_shared::TRIAL_USER_PREFIX)).cloned());
            usage.sort_by(|a, b| a.name.cmp(&b.name));
            let changed = *current != usage;
            if changed {
                *current = usage;
            }
            changed
        });
    }
}

/// An entitlement rebuilt from the router's copy of a user we made before the journal was
/// lost.
fn adopted(row: &UserRow, marker: &marker::Marker) -> HotspotUser {
    HotspotUser {
        name: row.name.clone(),
        password: Password(row.password.clone().unwrap_or_default()),
        profile: row.profile.clone().filter(|p| p != "default"),
        mac: row.mac,
        expires_at: marker.expires_at,
        limit_uptime_secs: row.limit_uptime_secs,
        limit_bytes_total: row.limit_bytes_total,
        comment: row.comment.as_deref().and_then(marker::free_text),
    }
}
