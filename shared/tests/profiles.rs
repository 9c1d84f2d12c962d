//! A user in its plan's profile (protocol 2): what makes it valid, and what an agent of
//! protocol 1 receives instead.

use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotProfile, HotspotUser};

fn profile() -> HotspotProfile {
    HotspotProfile { name: "jasiyo-0123abcd".into(), rate_limit: Some("2M/5M".into()), shared_users: 2 }
}

fn user(profile: Option<&str>) -> HotspotUser {
    HotspotUser {
        name: "ABC123".into(),
        password: Password("4821".into()),
        profile: profile.map(str::to_string),
        mac: None,
        expires_at: None,
        limit_uptime_secs: Some(3600),
        limit_bytes_total: None,
        comment: None,
    }
}

#[test]
fn a_user_in_a_profile_is_valid_only_in_one_of_ours() {
    let ok = Command::UpsertHotspotUserInProfile { user: user(Some("jasiyo-0123abcd")), profile: profile() };
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(ok.protocol(), 2);
    assert_eq!(ok.hotspot_user().map(|u| u.name.as_str()), Some("ABC123"));

    let elsewhere = Command::UpsertHotspotUserInProfile { user: user(Some("default")), profile: profile() };
    assert!(elsewhere.validate().is_err(), "the user must be in the profile sent with it");
    let owners =
        Command::UpsertHotspotUserInProfile { user: user(Some("vip")), profile: HotspotProfile { name: "vip".into(), ..profile() } };
    assert!(owners.validate().unwrap_err().to_string().contains("not one of ours"));
    for bad in [
        HotspotProfile { shared_users: 0, ..profile() },
        HotspotProfile { shared_users: HotspotProfile::MAX_SHARED_USERS + 1, ..profile() },
        HotspotProfile { rate_limit: Some("2M/5M; /system reset".into()), ..profile() },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn a_protocol_1_agent_gets_the_plain_user_in_the_default_profile() {
    let command = Command::UpsertHotspotUserInProfile { user: user(Some("jasiyo-0123abcd")), profile: profile() };
    assert_eq!(command.clone().for_protocol(1), Command::UpsertHotspotUser(user(None)));
    assert_eq!(command.clone().for_protocol(2), command);
    let plain = Command::RemoveHotspotUser { name: "ABC123".into() };
    assert_eq!(plain.clone().for_protocol(1), plain);
}
