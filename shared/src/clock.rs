//! Clock skew between a router and the cloud, as both sides speak of it: the bound past
//! which a router's clock counts as off, and the skew in words.

/// How far (ms) a router's clock may be from the cloud's before it counts as off: the agent
/// warns past it, the cloud shows it and opens a "clock skew" alert.
pub const CLOCK_IN_STEP_MS: i64 = 60_000;

/// A skew (the router's clock minus the cloud's, ms) in words: "3 s fast",
/// "3 h 0 min slow", "in step" (under half a second), rounded to the second (a skew is
/// measured to within a round trip).
pub fn describe_skew(skew_ms: i64) -> String {
    let secs = skew_ms.unsigned_abs().saturating_add(500) / 1000;
    if secs == 0 {
        return "in step".into();
    }
    let way = if skew_ms > 0 { "fast" } else { "slow" };
    match secs {
        s if s < 60 => format!("{s} s {way}"),
        s if s < 3600 => format!("{} min {} s {way}", s / 60, s % 60),
        s => format!("{} h {} min {way}", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_skew;

    #[test]
    fn skews_in_words() {
        assert_eq!(describe_skew(0), "in step");
        assert_eq!(describe_skew(-499), "in step");
        assert_eq!(describe_skew(-900), "1 s slow");
        assert_eq!(describe_skew(3 * 3_600_000 - 40), "3 h 0 min fast", "rounded, not cut");
        assert_eq!(describe_skew(3_000), "3 s fast");
        assert_eq!(describe_skew(-3_000), "3 s slow");
        assert_eq!(describe_skew(-3 * 3_600_000), "3 h 0 min slow");
        assert_eq!(describe_skew(3 * 3_600_000 + 125_000), "3 h 2 min fast");
        assert_eq!(describe_skew(61_000), "1 min 1 s fast");
        assert!(describe_skew(i64::MIN).ends_with("slow"));
    }
}
