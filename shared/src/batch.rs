//! Many hotspot users in one command ([`Command::UpsertHotspotUsers`], protocol 4): what
//! makes one valid. A voucher batch of 5,000 codes travels as 25 of them.
//!
//! [`Command::UpsertHotspotUsers`]: crate::Command::UpsertHotspotUsers

use crate::command::{HotspotProfile, HotspotUser, InvalidCommand};

/// The most users one [`crate::Command::UpsertHotspotUsers`] carries: with voucher-sized users
/// (short names, passwords and comments, about 100 bytes each) the command stays well under
/// [`crate::MAX_FRAME_BYTES`].
pub const MAX_USERS_PER_COMMAND: usize = 200;

/// Checks a batch: 1 to [`MAX_USERS_PER_COMMAND`] users, each valid, named once, all in
/// `profile` when it is given.
pub(crate) fn validate(profile: Option<&HotspotProfile>, users: &[HotspotUser]) -> Result<(), InvalidCommand> {
    if users.is_empty() || users.len() > MAX_USERS_PER_COMMAND {
        return Err(InvalidCommand(format!("a batch carries 1 to {MAX_USERS_PER_COMMAND} users")));
    }
    if let Some(profile) = profile {
        profile.validate()?;
    }
    let mut names = std::collections::BTreeSet::new();
    for user in users {
        user.validate()?;
        if let Some(profile) = profile {
            if user.profile.as_deref() != Some(profile.name.as_str()) {
                return Err(InvalidCommand("every user of a batch must be in the profile sent with it".into()));
            }
        }
        if !names.insert(user.name.as_str()) {
            return Err(InvalidCommand("a batch names each user once".into()));
        }
    }
    Ok(())
}
