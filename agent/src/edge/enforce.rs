//! Expiry enforcement at the edge: at its absolute expiry a user is removed from the
//! router and its sessions and cookies ended, whether or not the cloud is reachable; the
//! cloud hears of it afterwards through a report.

use jasiyo_shared::{AgentEvent, UnixTime};
use tracing::info;

use super::{Edge, EdgeError};

impl Edge {
    /// Removes every entitlement whose expiry is at or before `now`. Returns their names.
    pub async fn expire_once(&self, now: UnixTime) -> Result<Vec<String>, EdgeError> {
        let due = self.expiries().due(now);
        let mut expired = Vec::new();
        for name in due {
            let _turn = self.turn.write().await;
            let sessions_ended = self.remove_everywhere(&name).await?;
            let owned = name.clone();
            self.journal.off_thread(move |j| j.remove_entitlement(&owned)).await?;
            self.expiries().remove(&name);
            info!(user = %name, sessions_ended, "user expired: removed from the router");
            self.report(AgentEvent::UserExpired { name: name.clone(), sessions_ended }).await?;
            expired.push(name);
        }
        Ok(expired)
    }
}
