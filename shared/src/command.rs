//! What the cloud asks a router to do, and what came of it.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::profile::HotspotProfile;
pub use crate::trial::HotspotTrial;

/// Seconds since the Unix epoch (UTC). Absolute times travel in this form so that a router
/// whose clock is right enforces expiry on time even while the cloud is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

/// One thing for a router to do. Every command is idempotent on the router: applying it
/// twice has the effect of applying it once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Create the hotspot user, or bring an existing one with the same name to these settings.
    UpsertHotspotUser(HotspotUser),
    /// Remove the hotspot user (success if it does not exist).
    RemoveHotspotUser {
        /// The user's name.
        name: String,
    },
    /// Log the device with this MAC and IP into the hotspot as the given user.
    LoginDevice {
        /// The hotspot user to log in as.
        user: String,
        /// That user's password.
        password: Password,
        /// The device's MAC address.
        mac: MacAddress,
        /// The device's IP address on the hotspot network.
        ip: Ipv4Addr,
    },
    /// End the active hotspot session of the device with this MAC (and forget its cookie).
    EndSession {
        /// The device's MAC address.
        mac: MacAddress,
    },
    /// Protocol 2: create or update the user profile a plan's users share (its speed and how
    /// many devices may use one login), then the user in it, as
    /// [`Command::UpsertHotspotUser`] would. `user.profile` names `profile`. An agent of
    /// protocol 1 is sent [`Command::for_protocol`]'s plain user instead.
    UpsertHotspotUserInProfile {
        /// The user, in `profile`.
        user: HotspotUser,
        /// Its profile, one of ours ([`HotspotProfile::PREFIX`]).
        profile: HotspotProfile,
    },
    /// Protocol 4: several hotspot users at once (a voucher batch): the profile first, when
    /// it is one of ours (as [`Command::UpsertHotspotUserInProfile`] writes it), then each
    /// user as [`Command::UpsertHotspotUser`] would. One journal entry and one result for all
    /// of them; applying it again re-applies the upserts, which is harmless. At most
    /// [`crate::MAX_USERS_PER_COMMAND`] users, with distinct names, all in `profile` when it is
    /// given. An agent of an older protocol is sent [`Command::singles`] instead.
    UpsertHotspotUsers {
        /// The profile they share, when it is one of ours (`None`: each user names its own,
        /// the owner's).
        profile: Option<HotspotProfile>,
        /// The users.
        users: Vec<HotspotUser>,
    },
    /// Protocol 4: turn the hotspot's free trial on with these limits (`Some`) or off
    /// (`None`) on every hotspot server profile. Never sent to an older agent.
    SetHotspotTrial {
        /// The trial, or none.
        trial: Option<HotspotTrial>,
    },
}

impl Command {
    /// A short name for logs and the database (`upsert_hotspot_user`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::UpsertHotspotUser(_) => "upsert_hotspot_user",
            Command::RemoveHotspotUser { .. } => "remove_hotspot_user",
            Command::LoginDevice { .. } => "login_device",
            Command::EndSession { .. } => "end_session",
            Command::UpsertHotspotUserInProfile { .. } => "upsert_hotspot_user_in_profile",
            Command::UpsertHotspotUsers { .. } => "upsert_hotspot_users",
            Command::SetHotspotTrial { .. } => "set_hotspot_trial",
        }
    }

    /// The hotspot user this command creates, removes or logs in as, if it touches exactly
    /// one (see [`Command::user_names`] for all of them).
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Command::UpsertHotspotUser(user) | Command::UpsertHotspotUserInProfile { user, .. } => Some(&user.name),
            Command::RemoveHotspotUser { name } => Some(name),
            Command::LoginDevice { user, .. } => Some(user),
            Command::EndSession { .. } | Command::SetHotspotTrial { .. } => None,
            Command::UpsertHotspotUsers { users, .. } => match users.as_slice() {
                [one] => Some(&one.name),
                _ => None,
            },
        }
    }

    /// Every hotspot user this command creates, removes or logs in as.
    pub fn user_names(&self) -> Vec<&str> {
        match self {
            Command::UpsertHotspotUsers { users, .. } => users.iter().map(|u| u.name.as_str()).collect(),
            other => other.user_name().into_iter().collect(),
        }
    }

    /// The device this command acts on, if any.
    pub fn device(&self) -> Option<MacAddress> {
        match self {
            Command::UpsertHotspotUser(user) | Command::UpsertHotspotUserInProfile { user, .. } => user.mac,
            Command::LoginDevice { mac, .. } | Command::EndSession { mac } => Some(*mac),
            Command::RemoveHotspotUser { .. } | Command::SetHotspotTrial { .. } => None,
            Command::UpsertHotspotUsers { .. } => None,
        }
    }

    /// Whether this command and `other` may be applied at the same time: they touch
    /// neither the same user nor the same device, and are not both batches (a batch keeps
    /// its own bounded number of requests in flight; two at once would double it).
    /// Commands that conflict are applied in sequence order.
    pub fn independent_of(&self, other: &Command) -> bool {
        let both_batches = matches!(self, Command::UpsertHotspotUsers { .. }) && matches!(other, Command::UpsertHotspotUsers { .. });
        let theirs = other.user_names();
        let same_user = self.user_names().iter().any(|name| theirs.contains(name));
        let same_device = self.device().is_some() && self.device() == other.device();
        !same_user && !same_device && !both_batches
    }

    /// Checks what types cannot: names are usable on RouterOS.
    pub fn validate(&self) -> Result<(), InvalidCommand> {
        match self {
            Command::UpsertHotspotUser(user) => user.validate(),
            Command::RemoveHotspotUser { name } => validate_name("name", name),
            Command::LoginDevice { user, .. } => validate_name("user", user),
            Command::EndSession { .. } => Ok(()),
            Command::UpsertHotspotUserInProfile { user, profile } => {
                user.validate()?;
                profile.validate()?;
                if user.profile.as_deref() != Some(profile.name.as_str()) {
                    return Err(InvalidCommand("the user must be in the profile sent with it".into()));
                }
                Ok(())
            }
            Command::UpsertHotspotUsers { profile, users } => crate::batch::validate(profile.as_ref(), users),
            Command::SetHotspotTrial { trial } => trial.as_ref().map_or(Ok(()), HotspotTrial::validate),
        }
    }

    /// The user this command creates or updates, if it does.
    pub fn hotspot_user(&self) -> Option<&HotspotUser> {
        match self {
            Command::UpsertHotspotUser(user) | Command::UpsertHotspotUserInProfile { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The oldest protocol that has this command.
    pub fn protocol(&self) -> u16 {
        match self {
            Command::UpsertHotspotUserInProfile { .. } => 2,
            Command::UpsertHotspotUsers { .. } => 4,
            Command::SetHotspotTrial { .. } => 4,
            _ => 1,
        }
    }

    /// This command as commands of one user each, in order, with the same effect on the
    /// router: a batch becomes one user command per user (in the profile, when it has
    /// one); any other command is itself. What an agent older than protocol 4 is sent.
    pub fn singles(self) -> Vec<Command> {
        match self {
            Command::UpsertHotspotUsers { profile: Some(profile), users } => {
                users.into_iter().map(|user| Command::UpsertHotspotUserInProfile { user, profile: profile.clone() }).collect()
            }
            Command::UpsertHotspotUsers { profile: None, users } => users.into_iter().map(Command::UpsertHotspotUser).collect(),
            other => vec![other],
        }
    }

    /// This command as an agent speaking `protocol` can take it (the hub never delivers a
    /// command newer than the agent's protocol that has no older form, see [`Command::protocol`]). A user in a profile becomes
    /// the plain user in the router's default profile for protocol 1: the agent creates it
    /// as before, without the plan's speed and device limits (as before those existed).
    /// A batch ([`Command::UpsertHotspotUsers`]) is several commands for an agent older than
    /// protocol 4, which one sequence number cannot carry: it is returned unchanged, and the
    /// cloud splits it with [`Command::singles`] before it gets here.
    pub fn for_protocol(self, protocol: u16) -> Command {
        match self {
            Command::UpsertHotspotUserInProfile { user, .. } if protocol < 2 => {
                Command::UpsertHotspotUser(HotspotUser { profile: None, ..user })
            }
            other => other,
        }
    }
}

/// A hotspot user as the cloud wants it to exist on the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotUser {
    /// Login name (RouterOS `name`).
    pub name: String,
    /// Login password.
    pub password: Password,
    /// RouterOS user profile (`default` when absent).
    pub profile: Option<String>,
    /// Bind the user to this device (RouterOS `mac-address`).
    pub mac: Option<MacAddress>,
    /// When the agent must remove the user and end its session, wherever the cloud is.
    pub expires_at: Option<UnixTime>,
    /// Total online time allowed, in seconds (RouterOS `limit-uptime`).
    pub limit_uptime_secs: Option<u64>,
    /// Total bytes allowed, up and down (RouterOS `limit-bytes-total`).
    pub limit_bytes_total: Option<u64>,
    /// Free text shown to the router owner (the agent adds its own marker).
    pub comment: Option<String>,
}

impl HotspotUser {
    /// Checks the fields RouterOS would refuse or misread.
    pub fn validate(&self) -> Result<(), InvalidCommand> {
        validate_name("name", &self.name)?;
        if let Some(profile) = &self.profile {
            validate_name("profile", profile)?;
        }
        if self.password.0.chars().any(char::is_control) {
            return Err(InvalidCommand("password has control characters".into()));
        }
        if let Some(comment) = &self.comment {
            if comment.len() > 255 || comment.chars().any(char::is_control) {
                return Err(InvalidCommand("comment is too long or has control characters".into()));
            }
        }
        Ok(())
    }
}

pub(crate) fn validate_name(field: &str, value: &str) -> Result<(), InvalidCommand> {
    if value.is_empty() || value.len() > 64 {
        return Err(InvalidCommand(format!("{field} must be 1 to 64 bytes long")));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(InvalidCommand(format!("{field} must not contain spaces or control characters")));
    }
    Ok(())
}

/// A command that is well-formed on the wire but could never work on a router.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid command: {0}")]
pub struct InvalidCommand(pub String);

/// A password: travels and is stored like a string, but never appears in `Debug` output
/// (and so never in logs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An Ethernet MAC address, shown the way RouterOS shows it (`AA:BB:CC:DD:EE:FF`).
/// Serialised as that string in human-readable formats (JSON) and as six bytes on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress(pub [u8; 6]);

impl Serialize for MacAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() { serializer.collect_str(self) } else { self.0.serialize(serializer) }
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 6]>::deserialize(deserializer).map(MacAddress)
        }
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not a MAC address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address (expected six hex pairs such as AA:BB:CC:DD:EE:FF): {0:?}")]
pub struct InvalidMac(pub String);

impl FromStr for MacAddress {
    type Err = InvalidMac;

    /// Accepts `aa:bb:cc:dd:ee:ff` and `AA-BB-CC-DD-EE-FF`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidMac(s.to_string());
        let parts: Vec<&str> = s.trim().split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut out = [0u8; 6];
        for (slot, part) in out.iter_mut().zip(parts) {
            if part.len() != 2 {
                return Err(bad());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        Ok(MacAddress(out))
    }
}

/// The final fate of one command on the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The router now reflects the command.
    Applied {
        /// What the agent wants the owner to know (for example "already existed").
        note: Option<String>,
    },
    /// The router refused the command for good; retrying would not help.
    Failed {
        /// Why, in the router's own words where it gave any.
        message: String,
    },
}

/// How a [`Outcome::Failed`] message starts when the agent refused a command because its
/// journal already holds the command's sequence number under another command id (the
/// cloud's numbering went back, after a database restore or failover). A failure rather
/// than a new variant, so agents and clouds of protocol 1 read it whatever their build:
/// postcard numbers variants by position, and a variant an old peer does not know would be
/// a malformed frame to it.
pub const SEQUENCE_CONFLICT: &str = "sequence conflict";

impl Outcome {
    /// The refusal of `delivered` because sequence number `seq` is held by `journalled`.
    pub fn sequence_conflict(seq: crate::Seq, journalled: crate::CommandId, delivered: crate::CommandId) -> Outcome {
        Outcome::Failed {
            message: format!(
                "{SEQUENCE_CONFLICT}: sequence number {} is already command {journalled} in the agent's journal, \
                 so command {delivered} was not applied; enqueue it again",
                seq.0
            ),
        }
    }

    /// Whether this is a [`Outcome::sequence_conflict`] refusal.
    pub fn is_sequence_conflict(&self) -> bool {
        matches!(self, Outcome::Failed { message } if message.starts_with(SEQUENCE_CONFLICT))
    }
}

#[cfg(test)]
mod tests;
