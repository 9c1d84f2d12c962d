//! Carrying out commands on RouterOS, idempotently: creating a user that exists with the
//! same settings is success, with other settings it is updated; removing a missing user is
//! success. Router trouble is "try again later"; a refusal is the command's final outcome,
//! with the router's own message. A user of the same name that does not carry our marker
//! is the owner's own: it is never changed or removed, and the command fails saying so.

use jasiyo_shared::{Command, HotspotProfile, HotspotUser, MacAddress, Outcome, Seq};
use tracing::info;

use super::{Edge, EdgeError, spec_for};
use crate::executor::{ApplyFuture, ExecError, Executor};
use crate::routeros::{ApiError, UserRow};

impl Executor for Edge {
    fn apply<'a>(&'a self, seq: Seq, command: &'a Command) -> ApplyFuture<'a> {
        Box::pin(async move {
            let result = match command {
                Command::UpsertHotspotUser(user) => self.upsert(user).await,
                Command::UpsertHotspotUserInProfile { user, profile } => match self.write_profile(profile).await {
                    Ok(()) => self.upsert(user).await,
                    Err(e) => Err(e),
                },
                Command::RemoveHotspotUser { name } => self.remove(name).await,
                Command::LoginDevice { user, password, mac, ip } => self.login(user, &password.0, *mac, *ip).await,
                Command::EndSession { mac } => self.end_session(*mac).await,
                Command::UpsertHotspotUsers { profile, users } => self.upsert_many(profile.as_ref(), users).await,
                Command::SetHotspotTrial { trial } => self.set_trial(trial.as_ref()).await,
            };
            match result {
                Ok(note) => {
                    info!(seq = seq.0, kind = command.kind(), note = note.as_deref().unwrap_or(""), "applied on the router");
                    Ok(Outcome::Applied { note })
                }
                Err(EdgeError::Router(e)) if !e.is_transient() => Ok(Outcome::Failed { message: router_message(&e) }),
                Err(e @ (EdgeError::NotOurs(_) | EdgeError::Refused(_))) => Ok(Outcome::Failed { message: e.to_string() }),
                Err(e) => Err(ExecError::Transient(e.to_string())),
            }
        })
    }
}

/// Whether a router user carries our marker (see [`super::marker`]).
pub(super) fn ours(row: &UserRow) -> bool {
    row.comment.as_deref().and_then(super::marker::parse).is_some()
}

/// The router's own words for a refusal.
pub(super) fn router_message(error: &ApiError) -> String {
    match error {
        ApiError::Trap { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl Edge {
    pub(super) async fn upsert(&self, user: &HotspotUser) -> Result<Option<String>, EdgeError> {
        if user.expires_at.is_some_and(|at| at <= self.now()) {
            let name = user.name.clone();
            let _turn = self.turn.read().await;
            self.remove_everywhere(&user.name).await?;
            self.journal.off_thread(move |j| j.remove_entitlement(&name)).await?;
            self.expiries().remove(&user.name);
            return Ok(Some("already expired; not created".into()));
        }
        // Intent first: a user on the router that the journal does not know is drift.
        let previous = {
            let (user, name) = (user.clone(), user.name.clone());
            self.journal
                .off_thread(move |j| {
                    let previous = j.entitlement(&name)?;
                    j.put_entitlement(&user)?;
                    Ok(previous)
                })
                .await?
        };
        self.expiries().set(&user.name, user.expires_at);
        self.changed.notify_one();
        let _turn = self.turn.read().await;
        let result = self.write_user(user).await;
        let refused = match &result {
            Err(EdgeError::Router(e)) => !e.is_transient(),
            Err(EdgeError::NotOurs(_)) => true,
            _ => false,
        };
        if refused {
            // Refused for good: the journal goes back to what the router has.
            let name = user.name.clone();
            self.expiries().set(&name, previous.as_ref().and_then(|p| p.expires_at));
            self.journal
                .off_thread(move |j| match previous {
                    Some(previous) => j.put_entitlement(&previous),
                    None => j.remove_entitlement(&name).map(drop),
                })
                .await?;
        }
        result
    }

    /// Makes the router's profile match `profile` (one of ours, by its name): add, set, or
    /// nothing. A plan's users share it; the user command that carries it comes next.
    pub(super) async fn write_profile(&self, profile: &HotspotProfile) -> Result<(), EdgeError> {
        if !profile.name.starts_with(HotspotProfile::PREFIX) {
            return Err(EdgeError::NotOurs(profile.name.clone()));
        }
        let _turn = self.turn.read().await;
        match self.router.find_profile(&profile.name).await? {
            Some(row) if row.matches(profile) => Ok(()),
            Some(row) => Ok(self.router.set_profile(&row.id, profile).await?),
            None => match self.router.add_profile(profile).await {
                Ok(()) => Ok(()),
                // Added meanwhile (another command for the same plan): bring it to these settings.
                Err(e) if e.is_trap_containing("already") => {
                    let row = self.router.find_profile(&profile.name).await?.ok_or(e)?;
                    Ok(self.router.set_profile(&row.id, profile).await?)
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Makes the router's user match `user`: add, set, or nothing.
    pub(super) async fn write_user(&self, user: &HotspotUser) -> Result<Option<String>, EdgeError> {
        let spec = spec_for(user);
        match self.router.find_user(&user.name).await? {
            Some(row) if !ours(&row) => Err(EdgeError::NotOurs(row.name)),
            Some(row) if row.matches(&spec) => Ok(Some("already up to date".into())),
            Some(row) => {
                self.router.set_user(&row.id, &spec).await?;
                Ok(Some("updated".into()))
            }
            None => match self.router.add_user(&spec).await {
                Ok(_) => Ok(None),
                // Someone added it between our look and our add.
                Err(e) if e.is_trap_containing("already have user") => {
                    let row = self.router.find_user(&user.name).await?.ok_or(e)?;
                    if !ours(&row) {
                        return Err(EdgeError::NotOurs(row.name));
                    }
                    self.router.set_user(&row.id, &spec).await?;
                    Ok(Some("updated".into()))
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn remove(&self, name: &str) -> Result<Option<String>, EdgeError> {
        let owned = name.to_string();
        self.journal.off_thread(move |j| j.remove_entitlement(&owned)).await?;
        self.expiries().remove(name);
        self.changed.notify_one();
        let _turn = self.turn.read().await;
        let found = self.router.find_user(name).await?;
        if let Some(row) = found.as_ref().filter(|row| !ours(row)) {
            return Err(EdgeError::NotOurs(row.name.clone()));
        }
        let existed = found.is_some();
        let sessions = self.remove_everywhere(name).await?;
        Ok(match (existed, sessions) {
            (false, _) => Some("was not on the router".into()),
            (true, 0) => None,
            (true, n) => Some(format!("{n} session(s) ended")),
        })
    }

    async fn end_session(&self, mac: MacAddress) -> Result<Option<String>, EdgeError> {
        let _turn = self.turn.read().await;
        let ended = self.router.end_sessions(None, Some(mac)).await?;
        Ok((ended == 0).then(|| "no active session".to_string()))
    }
}
