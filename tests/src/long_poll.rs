//! The server half of the emulators' control-channel long polls: a request names the change
//! counter it last saw (`after`) and how long it will wait (`wait_ms`); the answer comes
//! once the counter has moved on, or when the wait is over (a timeout is an answer too: the
//! caller sees the counter unchanged and asks again).

use std::time::Duration;

use tokio::sync::watch;

/// The longest one long poll may wait.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Waits until `changes` is no longer `after` (at once when there is no `after`), for at
/// most `wait_ms` (capped at [`LONGEST_WAIT`]).
pub async fn wait_past(changes: &mut watch::Receiver<u64>, after: Option<u64>, wait_ms: Option<u64>) {
    if let Some(after) = after {
        let limit = Duration::from_millis(wait_ms.unwrap_or(0)).min(LONGEST_WAIT);
        let _ = tokio::time::timeout(limit, changes.wait_for(|n| *n != after)).await;
    }
}
