//! The portal's "Try free" form, shown while the router's free trial is on: a plain form
//! (no script needed) that posts `username=T-<MAC>` to the router's login URL, which is how
//! RouterOS's own login page starts a trial (`$(link-login-only)` with `T-$(mac-esc)`). The
//! router decides: a device that had its trial today is refused there, in the router's words.

use super::page::{HotspotVars, html_escape};
use jasiyo_shared::TRIAL_USER_PREFIX;

/// The times a portal page offers: how long it waits for a payment, and the free trial's
/// minutes while it is on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Times {
    /// Seconds the page waits for the customer's approval.
    pub wait_secs: u64,
    /// The free trial's minutes, `None` when off.
    pub trial_minutes: Option<u32>,
}

impl Times {
    /// Waiting `wait_secs`, without a trial.
    pub fn wait(wait_secs: u64) -> Times {
        Times { wait_secs, trial_minutes: None }
    }
}

/// The form, or nothing when the trial is off or the router did not pass the device's MAC
/// and its login URL (the portal was opened outside the hotspot).
pub fn trial_form(minutes: Option<u32>, vars: &HotspotVars) -> String {
    let (Some(minutes), Some(login), Some(mac)) = (minutes, vars.login.as_deref(), vars.mac.as_deref()) else {
        return String::new();
    };
    let dst =
        vars.orig.as_deref().map(|d| format!("<input type=\"hidden\" name=\"dst\" value=\"{}\">", html_escape(d))).unwrap_or_default();
    format!(
        "<form id=\"trial\" method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"username\" value=\"{}{}\">{dst}\
         <button type=\"submit\" class=\"link\" id=\"trialgo\">Try free for {minutes} minutes / Jaribu bure dakika {minutes}</button></form>",
        html_escape(login),
        TRIAL_USER_PREFIX,
        html_escape(mac)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_logs_the_device_in_as_its_trial_user() {
        let vars = HotspotVars::from_query("mac=02%3A00%3A00%3A00%3A00%3A07&link-login-only=http%3A%2F%2F10.5.50.1%2Flogin");
        let form = trial_form(Some(5), &vars);
        assert!(form.contains(r#"action="http://10.5.50.1/login""#), "{form}");
        assert!(form.contains(r#"name="username" value="T-02:00:00:00:00:07""#), "{form}");
        assert!(form.contains("Try free for 5 minutes / Jaribu bure dakika 5"));
        assert_eq!(trial_form(None, &vars), "");
        assert_eq!(trial_form(Some(5), &HotspotVars::default()), "", "not outside the hotspot");
    }
}
