//! Hotspot user profiles of ours: what a plan's users share on the router.

use serde::{Deserialize, Serialize};

use crate::command::{InvalidCommand, validate_name};

/// A hotspot user profile of ours (RouterOS `/ip/hotspot/user/profile`): what a plan's users
/// share. Only profiles whose names carry [`HotspotProfile::PREFIX`] are ever changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotProfile {
    /// Its name, starting with [`HotspotProfile::PREFIX`].
    pub name: String,
    /// RouterOS `rate-limit` (`rx/tx` from the router's side: `2M/5M` is 2 Mbit/s up and
    /// 5 Mbit/s down for the customer), none for no limit.
    pub rate_limit: Option<String>,
    /// RouterOS `shared-users`: how many devices may be logged in with one login at once.
    pub shared_users: u32,
}

impl HotspotProfile {
    /// The start of the names of the profiles we manage.
    pub const PREFIX: &'static str = "jasiyo-";
    /// The most devices one login may serve at once.
    pub const MAX_SHARED_USERS: u32 = 100;

    /// Checks the fields RouterOS would refuse or misread, and that the profile is ours.
    pub fn validate(&self) -> Result<(), InvalidCommand> {
        validate_name("profile", &self.name)?;
        if !self.name.starts_with(Self::PREFIX) {
            return Err(InvalidCommand(format!("profile {} is not one of ours (they start with {})", self.name, Self::PREFIX)));
        }
        if !(1..=Self::MAX_SHARED_USERS).contains(&self.shared_users) {
            return Err(InvalidCommand(format!("shared users must be 1 to {}", Self::MAX_SHARED_USERS)));
        }
        if let Some(rate) = &self.rate_limit {
            if rate.is_empty() || rate.len() > 64 || !rate.chars().all(|c| c.is_ascii_alphanumeric() || "/ .".contains(c)) {
                return Err(InvalidCommand("rate limit must look like 2M/5M".into()));
            }
        }
        Ok(())
    }
}
