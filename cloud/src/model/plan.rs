//! Plans: what a customer can buy, and the rules a new one must follow.

use std::time::Duration;

use serde::Serialize;

use super::{PlanId, TenantId};

/// Something a customer can buy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Its id.
    pub id: PlanId,
    /// Its owner.
    pub tenant_id: TenantId,
    /// Shown to customers ("1 hour", "Daily").
    pub name: String,
    /// Price in whole shillings.
    pub price_kes: u32,
    /// How long access lasts once paid.
    pub duration_secs: u64,
    /// Data allowance, if limited.
    pub data_mb: Option<u64>,
    /// RouterOS rate limit shown to customers (`2M/5M`), if any.
    pub rate_limit: Option<String>,
    /// RouterOS user profile to put users in, if not `default` (the owner's own).
    pub profile: Option<String>,
    /// How many devices may use one login at once, if more than one.
    pub shared_users: Option<u32>,
    /// Offered on the portal.
    pub active: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Its place in the owner's order, which the portal shows (1 first).
    pub position: u32,
}

/// Where an owner moves a plan in the order the portal shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMove {
    /// One place earlier (the first stays first).
    Up,
    /// One place later (the last stays last).
    Down,
    /// To this place (1 first; past the end is the end).
    To(u32),
}

/// A plan to create, validated ([`NewPlan::parse`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPlan {
    /// Name.
    pub name: String,
    /// Price in whole shillings (at least 1).
    pub price_kes: u32,
    /// Duration (at least a minute).
    pub duration_secs: u64,
    /// Data allowance in MB.
    pub data_mb: Option<u64>,
    /// Rate limit text.
    pub rate_limit: Option<String>,
    /// RouterOS profile.
    pub profile: Option<String>,
    /// Devices per login.
    pub shared_users: Option<u32>,
}

/// The longest plan name, in bytes.
pub const MAX_PLAN_NAME_LEN: usize = 40;
/// The highest plan price in shillings (M-Pesa's limit for one transaction).
pub const MAX_PRICE_KES: u32 = 250_000;
/// The shortest plan.
pub const MIN_PLAN_DURATION: Duration = Duration::from_secs(60);

/// A plan as an owner types it (CLI flags, later a dashboard form), before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInput {
    /// Its name ("1 hour"); surrounding spaces are dropped.
    pub name: String,
    /// Price in whole shillings.
    pub price_kes: u32,
    /// How long access lasts.
    pub duration: Duration,
    /// Data allowance in MB.
    pub data_mb: Option<u64>,
    /// Rate limit shown to customers (`2M/5M`).
    pub rate_limit: Option<String>,
    /// RouterOS hotspot user profile.
    pub profile: Option<String>,
    /// How many devices may use one login at once.
    pub shared_users: Option<u32>,
}

/// Why a plan was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The name is empty or too long.
    #[error("a plan needs a name of 1 to {MAX_PLAN_NAME_LEN} characters")]
    Name,
    /// The price is zero or above what one M-Pesa payment can carry.
    #[error("a plan costs 1 to {MAX_PRICE_KES} KES")]
    Price,
    /// The plan is shorter than [`MIN_PLAN_DURATION`].
    #[error("a plan lasts at least a minute")]
    TooShort,
    /// The speed limit is not in RouterOS's form.
    #[error("a speed limit looks like 2M/5M (upload/download)")]
    RateLimit,
    /// Devices per login out of range, or set beside the owner's own profile.
    #[error("devices per login is 1 to {MAX_SHARED_USERS}, and is not set together with your own RouterOS profile")]
    SharedUsers,
}

/// The most devices one login may serve at once.
pub const MAX_SHARED_USERS: u32 = jasiyo_shared::HotspotProfile::MAX_SHARED_USERS;

impl NewPlan {
    /// Validates an owner's input: a trimmed name of 1 to [`MAX_PLAN_NAME_LEN`] bytes, a
    /// price of 1 to [`MAX_PRICE_KES`], a duration of at least [`MIN_PLAN_DURATION`]
    /// (kept in whole seconds).
    pub fn parse(input: PlanInput) -> Result<NewPlan, PlanError> {
        let PlanInput { name, price_kes, duration, data_mb, rate_limit, profile, shared_users } = input;
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > MAX_PLAN_NAME_LEN {
            return Err(PlanError::Name);
        }
        if !(1..=MAX_PRICE_KES).contains(&price_kes) {
            return Err(PlanError::Price);
        }
        if duration < MIN_PLAN_DURATION {
            return Err(PlanError::TooShort);
        }
        let rate_limit = rate_limit.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        if rate_limit.as_deref().is_some_and(|r| !valid_rate_limit(r)) {
            return Err(PlanError::RateLimit);
        }
        if shared_users.is_some_and(|n| !(1..=MAX_SHARED_USERS).contains(&n)) || (shared_users.is_some() && profile.is_some()) {
            return Err(PlanError::SharedUsers);
        }
        Ok(NewPlan { name, price_kes, duration_secs: duration.as_secs(), data_mb, rate_limit, profile, shared_users })
    }
}

/// RouterOS's rate-limit form as we accept it: `rx/tx` with optional bursts, letters, digits,
/// `/`, `.` and spaces (`2M/5M`, `512k/2M 1M/4M 384k/1536k 16/16`).
pub fn valid_rate_limit(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.contains('/') && text.chars().all(|c| c.is_ascii_alphanumeric() || "/ .".contains(c))
}

impl Plan {
    /// The name of the profile we manage for this plan: `jasiyo-` and the start of its id.
    pub fn managed_profile_name(&self) -> String {
        format!("{}{}", jasiyo_shared::HotspotProfile::PREFIX, &self.id.to_string()[..8])
    }

    /// The user profile we keep on routers for this plan's users, when the plan sets a speed
    /// or devices per login and names no profile of the owner's: none otherwise, and none
    /// for a plan stored before these were checked whose speed RouterOS would not read.
    pub fn managed_profile(&self) -> Option<jasiyo_shared::HotspotProfile> {
        if self.profile.is_some() || (self.rate_limit.is_none() && self.shared_users.is_none()) {
            return None;
        }
        let profile = jasiyo_shared::HotspotProfile {
            name: self.managed_profile_name(),
            rate_limit: self.rate_limit.clone(),
            shared_users: self.shared_users.unwrap_or(1),
        };
        match profile.validate() {
            Ok(()) => Some(profile),
            Err(error) => {
                tracing::warn!(plan = %self.id, %error, "plan's limits are not in RouterOS's form: its users go in the default profile");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, price_kes: u32, duration_secs: u64) -> PlanInput {
        PlanInput {
            name: name.into(),
            price_kes,
            duration: Duration::from_secs(duration_secs),
            data_mb: None,
            rate_limit: None,
            profile: None,
            shared_users: None,
        }
    }

    #[test]
    fn a_plan_has_a_name_a_price_and_at_least_a_minute() {
        let plan = NewPlan::parse(input("  1 hour ", 20, 3600)).unwrap();
        assert_eq!((plan.name.as_str(), plan.price_kes, plan.duration_secs), ("1 hour", 20, 3600));
        assert_eq!(NewPlan::parse(input("   ", 20, 3600)), Err(PlanError::Name));
        assert_eq!(NewPlan::parse(input(&"x".repeat(41), 20, 3600)), Err(PlanError::Name));
        assert!(NewPlan::parse(input(&"x".repeat(40), 20, 3600)).is_ok());
        assert_eq!(NewPlan::parse(input("free", 0, 3600)), Err(PlanError::Price));
        assert_eq!(NewPlan::parse(input("dear", MAX_PRICE_KES + 1, 3600)), Err(PlanError::Price));
        assert_eq!(NewPlan::parse(input("blink", 20, 59)), Err(PlanError::TooShort));
        assert_eq!(NewPlan::parse(input("minute", 20, 60)).unwrap().duration_secs, 60);
    }

    #[test]
    fn speed_and_devices_per_login_are_checked_and_make_a_profile_of_ours() {
        let with = |rate: Option<&str>, shared: Option<u32>, profile: Option<&str>| {
            NewPlan::parse(PlanInput {
                rate_limit: rate.map(str::to_string),
                shared_users: shared,
                profile: profile.map(str::to_string),
                ..input("Daily", 50, 86_400)
            })
        };
        assert_eq!(with(Some("fast"), None, None).unwrap_err(), PlanError::RateLimit);
        assert_eq!(with(Some("2M/5M; /system reset"), None, None).unwrap_err(), PlanError::RateLimit);
        assert_eq!(with(None, Some(0), None).unwrap_err(), PlanError::SharedUsers);
        assert_eq!(with(None, Some(MAX_SHARED_USERS + 1), None).unwrap_err(), PlanError::SharedUsers);
        assert_eq!(with(None, Some(2), Some("vip")).unwrap_err(), PlanError::SharedUsers, "not beside the owner's own profile");
        assert_eq!(with(Some(" 2M/5M "), Some(3), None).unwrap().rate_limit.as_deref(), Some("2M/5M"));

        let stored = |rate: Option<&str>, shared: Option<u32>, profile: Option<&str>| Plan {
            id: super::super::PlanId(uuid::Uuid::new_v4()),
            tenant_id: super::super::TenantId(uuid::Uuid::new_v4()),
            name: "Daily".into(),
            price_kes: 50,
            duration_secs: 86_400,
            data_mb: None,
            rate_limit: rate.map(str::to_string),
            profile: profile.map(str::to_string),
            shared_users: shared,
            active: true,
            created_at: 0,
            position: 1,
        };
        let plan = stored(Some("2M/5M"), Some(3), None);
        let profile = plan.managed_profile().expect("a profile of ours");
        assert_eq!((profile.name, profile.rate_limit.as_deref(), profile.shared_users), (plan.managed_profile_name(), Some("2M/5M"), 3));
        assert!(plan.managed_profile_name().starts_with("jasiyo-"));
        assert_eq!(stored(None, None, None).managed_profile(), None, "nothing to keep");
        assert_eq!(stored(Some("2M/5M"), None, Some("vip")).managed_profile(), None, "the owner's own profile");
        assert_eq!(stored(Some("5 Mbps!"), None, None).managed_profile(), None, "an old speed RouterOS would not read");
    }
}
