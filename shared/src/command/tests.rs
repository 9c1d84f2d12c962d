//! The command types' own checks.

use super::*;

#[test]
fn mac_parses_both_separators_and_prints_routeros_style() {
    let mac: MacAddress = "aa-bb-cc-0d-ee-ff".parse().unwrap();
    assert_eq!(mac.to_string(), "AA:BB:CC:0D:EE:FF");
    assert_eq!("AA:BB:CC:0D:EE:FF".parse::<MacAddress>().unwrap(), mac);
}

#[test]
fn mac_rejects_garbage() {
    for bad in ["", "aa:bb", "aa:bb:cc:dd:ee:gg", "aaa:bb:cc:dd:ee:f", "aa:bb:cc:dd:ee:ff:00"] {
        assert!(bad.parse::<MacAddress>().is_err(), "{bad} should fail");
    }
}

#[test]
fn password_never_debug_printed() {
    let user = HotspotUser {
        name: "u1".into(),
        password: Password("hunter2".into()),
        profile: None,
        mac: None,
        expires_at: None,
        limit_uptime_secs: None,
        limit_bytes_total: None,
        comment: None,
    };
    assert!(!format!("{user:?}").contains("hunter2"));
}

#[test]
fn names_are_validated() {
    let remove = |name: &str| Command::RemoveHotspotUser { name: name.into() };
    assert!(remove("ok-name").validate().is_ok());
    assert!(remove("").validate().is_err());
    assert!(remove("has space").validate().is_err());
    assert!(remove(&"x".repeat(65)).validate().is_err());
}

#[test]
fn commands_are_readable_json_for_operators() {
    let cmd = Command::EndSession { mac: "00:11:22:33:44:55".parse().unwrap() };
    let json = serde_json::to_string(&cmd).unwrap();
    assert_eq!(json, r#"{"end_session":{"mac":"00:11:22:33:44:55"}}"#);
    assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), cmd);
}
