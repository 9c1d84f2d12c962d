//! The free trial on the router: [`Command::SetHotspotTrial`](jasiyo_shared::Command) sets
//! (or takes out) `login-by=trial` and its limits on every hotspot server profile, leaving
//! the profiles' other login methods as the owner has them. Idempotent: a profile already
//! as wanted is not written.

use jasiyo_shared::HotspotTrial;

use super::{Edge, EdgeError};

impl Edge {
    /// Applies the trial (or its absence) to every server profile; the note names how many
    /// were changed.
    pub(super) async fn set_trial(&self, trial: Option<&HotspotTrial>) -> Result<Option<String>, EdgeError> {
        let _turn = self.turn.read().await;
        let profiles = self.router.server_profiles().await?;
        let mut changed = Vec::new();
        for row in profiles.iter().filter(|row| !row.matches(trial)) {
            self.router.set_trial(row, trial).await?;
            changed.push(row.name.clone());
        }
        tracing::info!(on = trial.is_some(), profiles = profiles.len(), changed = changed.len(), "hotspot trial set");
        Ok(Some(match (changed.is_empty(), profiles.is_empty()) {
            (_, true) => "the router has no hotspot server profile".to_string(),
            (true, false) => "already as wanted".to_string(),
            (false, false) => format!("set on {}", changed.join(", ")),
        }))
    }
}
