//! The comment marker that tells the users this agent manages from everyone else's.
//!
//! Format: `jasiyo exp=<unix seconds>|never` optionally followed by ` | <free text>`. The
//! expiry travels on the router itself, so after a lost journal the agent can still tell
//! an expired user from a paid one.

use jasiyo_shared::{HotspotUser, UnixTime};

const PREFIX: &str = "jasiyo exp=";

/// What a marker says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When the user expires, if ever.
    pub expires_at: Option<UnixTime>,
}

/// The full comment for a user we manage.
pub fn comment_for(user: &HotspotUser) -> String {
    let expiry = user.expires_at.map_or("never".to_string(), |t| t.0.to_string());
    match user.comment.as_deref().filter(|c| !c.is_empty()) {
        Some(text) => format!("{PREFIX}{expiry} | {text}"),
        None => format!("{PREFIX}{expiry}"),
    }
}

/// Reads a router comment; `None` when the user is not ours.
pub fn parse(comment: &str) -> Option<Marker> {
    let rest = comment.strip_prefix(PREFIX)?;
    let expiry = rest.split([' ', '|']).next().unwrap_or("");
    let expires_at = match expiry {
        "never" => None,
        secs => Some(UnixTime(secs.parse().ok()?)),
    };
    Some(Marker { expires_at })
}

/// The owner's free text inside one of our comments.
pub fn free_text(comment: &str) -> Option<String> {
    comment.split_once(" | ").map(|(_, text)| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jasiyo_shared::command::Password;

    fn user(expires_at: Option<i64>, comment: Option<&str>) -> HotspotUser {
        HotspotUser {
            name: "u".into(),
            password: Password("p".into()),
            profile: None,
            mac: None,
            expires_at: expires_at.map(UnixTime),
            limit_uptime_secs: None,
            limit_bytes_total: None,
            comment: comment.map(str::to_string),
        }
    }

    #[test]
    fn markers_round_trip() {
        for (exp, text) in [(Some(1_800_000_000), Some("1 hour plan")), (None, None), (Some(5), Some("a | b"))] {
            let comment = comment_for(&user(exp, text));
            assert_eq!(parse(&comment), Some(Marker { expires_at: exp.map(UnixTime) }), "{comment}");
            assert_eq!(free_text(&comment).as_deref(), text);
        }
    }

    #[test]
    fn foreign_comments_are_not_ours() {
        for comment in ["", "jasiyo", "owner's friend", "jasiyo exp=soon", "JASIYO exp=1"] {
            assert_eq!(parse(comment), None, "{comment}");
        }
    }
}
