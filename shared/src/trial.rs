//! The hotspot's free trial: a short session a device may take without paying (to reach
//! M-Pesa's pages or read about the plans), enforced by RouterOS itself through its server
//! profiles' `login-by=trial`, `trial-uptime-limit` and `trial-uptime-reset`. A device logs
//! in as `T-<its MAC>`; the router allows each MAC the limit once per reset period.

use serde::{Deserialize, Serialize};

use crate::command::InvalidCommand;

/// The trial user name RouterOS gives a device (`T-AA:BB:CC:DD:EE:FF`) starts with this.
pub const TRIAL_USER_PREFIX: &str = "T-";

/// The shortest and longest trial an owner may give, in seconds.
pub const TRIAL_LIMIT_SECS: std::ops::RangeInclusive<u32> = 60..=3600;

/// A trial as the router enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotTrial {
    /// Online time a device gets per period (RouterOS `trial-uptime-limit`).
    pub uptime_limit_secs: u32,
    /// How long before a device may have the trial again (RouterOS `trial-uptime-reset`).
    pub uptime_reset_secs: u32,
}

impl HotspotTrial {
    /// `minutes` of trial once a day.
    pub fn daily(minutes: u32) -> HotspotTrial {
        HotspotTrial { uptime_limit_secs: minutes.saturating_mul(60), uptime_reset_secs: 86_400 }
    }

    /// Checks the limits: a trial of one minute to an hour, reset no sooner than it ends.
    pub fn validate(&self) -> Result<(), InvalidCommand> {
        if !TRIAL_LIMIT_SECS.contains(&self.uptime_limit_secs) {
            return Err(InvalidCommand("a trial lasts 1 to 60 minutes".into()));
        }
        if self.uptime_reset_secs < self.uptime_limit_secs {
            return Err(InvalidCommand("a trial resets no sooner than it lasts".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_are_one_minute_to_an_hour() {
        assert!(HotspotTrial::daily(5).validate().is_ok());
        assert!(HotspotTrial::daily(0).validate().is_err());
        assert!(HotspotTrial::daily(61).validate().is_err());
        assert!(HotspotTrial { uptime_limit_secs: 600, uptime_reset_secs: 300 }.validate().is_err());
    }
}
