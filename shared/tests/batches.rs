//! Many users in one command (protocol 4): what makes one valid, what an older agent gets
//! instead, and what it may be applied alongside.

use jasiyo_shared::command::Password;
use jasiyo_shared::{
    CloudMessage, Command, CommandId, Delivery, HotspotProfile, HotspotUser, MAX_FRAME_BYTES, MAX_USERS_PER_COMMAND, MacAddress, Seq,
    encode,
};

fn profile() -> HotspotProfile {
    HotspotProfile { name: "jasiyo-0123abcd".into(), rate_limit: Some("2M/5M".into()), shared_users: 1 }
}

fn user(name: &str) -> HotspotUser {
    HotspotUser {
        name: name.into(),
        password: Password(name.into()),
        profile: Some(profile().name),
        mac: None,
        expires_at: None,
        limit_uptime_secs: Some(3600),
        limit_bytes_total: None,
        comment: Some("voucher batch 0123abcd".into()),
    }
}

fn batch(names: &[&str]) -> Command {
    Command::UpsertHotspotUsers { profile: Some(profile()), users: names.iter().map(|n| user(n)).collect() }
}

#[test]
fn a_batch_is_valid_with_distinct_users_in_its_profile_and_not_too_many() {
    assert_eq!(batch(&["AAA1", "BBB2"]).validate(), Ok(()));
    assert_eq!(batch(&["AAA1", "BBB2"]).protocol(), 4);
    assert!(batch(&[]).validate().is_err(), "empty");
    assert!(batch(&["AAA1", "AAA1"]).validate().is_err(), "a name twice");
    let many: Vec<String> = (0..=MAX_USERS_PER_COMMAND).map(|i| format!("U{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(batch(&many).validate().is_err(), "over {MAX_USERS_PER_COMMAND}");
    assert_eq!(batch(&many[..MAX_USERS_PER_COMMAND]).validate(), Ok(()));
    let elsewhere = Command::UpsertHotspotUsers { profile: Some(profile()), users: vec![HotspotUser { profile: None, ..user("AAA1") }] };
    assert!(elsewhere.validate().is_err(), "a user outside the profile sent with it");
    let owners = Command::UpsertHotspotUsers { profile: None, users: vec![HotspotUser { profile: Some("vip".into()), ..user("AAA1") }] };
    assert_eq!(owners.validate(), Ok(()), "without a profile of ours, each user names the owner's");
}

#[test]
fn an_older_agent_gets_one_command_per_user_in_order() {
    let singles = batch(&["AAA1", "BBB2"]).singles();
    let expected: Vec<Command> =
        ["AAA1", "BBB2"].iter().map(|n| Command::UpsertHotspotUserInProfile { user: user(n), profile: profile() }).collect();
    assert_eq!(singles, expected);
    let plain = Command::UpsertHotspotUsers { profile: None, users: vec![user("AAA1")] }.singles();
    assert_eq!(plain, vec![Command::UpsertHotspotUser(user("AAA1"))]);
    let other = Command::RemoveHotspotUser { name: "AAA1".into() };
    assert_eq!(other.clone().singles(), vec![other]);
}

#[test]
fn a_batch_waits_for_commands_on_its_users_and_for_other_batches() {
    let load = batch(&["AAA1", "BBB2"]);
    assert_eq!(load.user_names(), vec!["AAA1", "BBB2"]);
    assert!(!load.independent_of(&Command::RemoveHotspotUser { name: "BBB2".into() }), "a removal of one of its users");
    assert!(!Command::RemoveHotspotUser { name: "BBB2".into() }.independent_of(&load), "either way round");
    assert!(load.independent_of(&Command::RemoveHotspotUser { name: "CCC3".into() }));
    assert!(load.independent_of(&Command::EndSession { mac: MacAddress([2, 0, 0, 0, 0, 1]) }));
    assert!(!load.independent_of(&batch(&["DDD4"])), "one batch at a time, so the router is not flooded");
}

#[test]
fn a_full_batch_of_long_voucher_codes_fits_in_one_frame() {
    // Longer than any voucher code (prefix and code), with the plan's limits set.
    let names: Vec<String> = (0..MAX_USERS_PER_COMMAND).map(|i| format!("PREFIXAB{i:016}")).collect();
    let users =
        names.iter().map(|n| HotspotUser { limit_bytes_total: Some(5 * 1024 * 1024 * 1024), expires_at: None, ..user(n) }).collect();
    let command = Command::UpsertHotspotUsers { profile: Some(profile()), users };
    assert_eq!(command.validate(), Ok(()));
    let frame = encode(&CloudMessage::Deliver(Delivery { seq: Seq(1), id: CommandId::new(), command })).unwrap();
    assert!(frame.len() < MAX_FRAME_BYTES / 2, "{} bytes", frame.len());
}
