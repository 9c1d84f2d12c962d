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
    /// RouterOS user profile to put users in, if not `default`.
    pub profile: Option<String>,
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
}

impl NewPlan {
    /// Validates an owner's input: a trimmed name of 1 to [`MAX_PLAN_NAME_LEN`] bytes, a
    /// price of 1 to [`MAX_PRICE_KES`], a duration of at least [`MIN_PLAN_DURATION`]
    /// (kept in whole seconds).
    pub fn parse(input: PlanInput) -> Result<NewPlan, PlanError> {
        let PlanInput { name, price_kes, duration, data_mb, rate_limit, profile } = input;
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
        Ok(NewPlan { name, price_kes, duration_secs: duration.as_secs(), data_mb, rate_limit, profile })
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
}
