//! Hotspot server profiles (`/ip/hotspot/profile`): where RouterOS keeps how devices may log
//! in (`login-by`) and the free trial's limits (`trial-uptime-limit`, `trial-uptime-reset`).
//! Our install script sets the html directory on every one of them; the trial is set on
//! every one too, so whichever hotspot server a device is on offers the same.

use jasiyo_shared::HotspotTrial;

use super::error::ApiError;
use super::router::Router;
use super::sentence::Request;
use super::time::{format_interval, parse_interval};

const SERVER_PROFILES: &str = "/ip/hotspot/profile";
/// The `login-by` method that lets a device in as `T-<MAC>`.
const TRIAL: &str = "trial";

/// A server profile as the router has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerProfileRow {
    /// RouterOS `.id`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `login-by`, split at its commas.
    pub login_by: Vec<String>,
    /// `trial-uptime-limit` in seconds.
    pub trial_uptime_limit_secs: Option<u64>,
    /// `trial-uptime-reset` in seconds.
    pub trial_uptime_reset_secs: Option<u64>,
}

impl ServerProfileRow {
    fn from_attributes(row: &[(String, String)]) -> ServerProfileRow {
        let get = |name: &str| row.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        ServerProfileRow {
            id: get(".id").unwrap_or_default(),
            name: get("name").unwrap_or_default(),
            login_by: get("login-by").unwrap_or_default().split(',').map(str::trim).filter(|m| !m.is_empty()).map(String::from).collect(),
            trial_uptime_limit_secs: get("trial-uptime-limit").and_then(|v| parse_interval(&v)),
            trial_uptime_reset_secs: get("trial-uptime-reset").and_then(|v| parse_interval(&v)),
        }
    }

    /// `login-by` with the trial added (`Some`) or taken out (`None`), other methods kept in
    /// their order.
    pub fn login_by_with(&self, trial: Option<&HotspotTrial>) -> Vec<String> {
        let mut methods: Vec<String> = self.login_by.iter().filter(|m| *m != TRIAL).cloned().collect();
        if trial.is_some() {
            methods.push(TRIAL.to_string());
        }
        methods
    }

    /// Whether the profile already has `trial` as wanted.
    pub fn matches(&self, trial: Option<&HotspotTrial>) -> bool {
        let on = self.login_by.iter().any(|m| m == TRIAL);
        match trial {
            None => !on,
            Some(t) => {
                on && self.trial_uptime_limit_secs == Some(u64::from(t.uptime_limit_secs))
                    && self.trial_uptime_reset_secs == Some(u64::from(t.uptime_reset_secs))
            }
        }
    }
}

impl Router {
    /// Every hotspot server profile.
    pub async fn server_profiles(&self) -> Result<Vec<ServerProfileRow>, ApiError> {
        let response = self.call(Request::new(format!("{SERVER_PROFILES}/print"))).await?;
        Ok(response.rows.iter().map(|r| ServerProfileRow::from_attributes(r)).collect())
    }

    /// Sets the trial on the server profile `row` (its other login methods kept).
    pub async fn set_trial(&self, row: &ServerProfileRow, trial: Option<&HotspotTrial>) -> Result<(), ApiError> {
        let mut request =
            Request::new(format!("{SERVER_PROFILES}/set")).attr(".id", row.id.clone()).attr("login-by", row.login_by_with(trial).join(","));
        if let Some(t) = trial {
            request = request
                .attr("trial-uptime-limit", format_interval(u64::from(t.uptime_limit_secs)))
                .attr("trial-uptime-reset", format_interval(u64::from(t.uptime_reset_secs)));
        }
        self.call(request).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trial_is_added_and_removed_keeping_other_methods() {
        let row = ServerProfileRow { login_by: vec!["cookie".into(), "http-chap".into()], ..ServerProfileRow::default() };
        let trial = HotspotTrial::daily(5);
        assert_eq!(row.login_by_with(Some(&trial)), ["cookie", "http-chap", "trial"]);
        let on = ServerProfileRow {
            login_by: vec!["cookie".into(), "trial".into(), "http-chap".into()],
            trial_uptime_limit_secs: Some(300),
            trial_uptime_reset_secs: Some(86_400),
            ..ServerProfileRow::default()
        };
        assert!(on.matches(Some(&trial)) && !on.matches(None) && !row.matches(Some(&trial)) && row.matches(None));
        assert_eq!(on.login_by_with(None), ["cookie", "http-chap"]);
        assert!(!on.matches(Some(&HotspotTrial::daily(10))));
    }
}
