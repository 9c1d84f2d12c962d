//! The traffic counters RouterOS keeps per hotspot user (`bytes-in`, `bytes-out`): read-only
//! to the API, counted by the router as the user's devices move data. Tests stand in for
//! the traffic and set them.

use super::RouterOsEmulator;

impl RouterOsEmulator {
    /// Sets the user's counters as if its devices had uploaded `bytes_in` and downloaded
    /// `bytes_out` bytes; false if there is no such user. (RouterOS's `bytes-in` counts
    /// what the router received from the user, `bytes-out` what it sent to the user.)
    pub fn set_user_bytes(&self, name: &str, bytes_in: u64, bytes_out: u64) -> bool {
        self.edit(|s| {
            s.users.edit(|rows| match rows.iter_mut().find(|u| u.row.name == name) {
                Some(user) => {
                    user.row.bytes_in = bytes_in;
                    user.row.bytes_out = bytes_out;
                    true
                }
                None => false,
            })
        })
    }
}
