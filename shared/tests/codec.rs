//! Round trips of every message through the codec, and every way a frame can be wrong.

use jasiyo_shared::codec::peek_hello_version;
use jasiyo_shared::command::Password;
use jasiyo_shared::*;

fn user() -> HotspotUser {
    HotspotUser {
        name: "JX7K2P".into(),
        password: Password("s3cret".into()),
        profile: Some("1hour".into()),
        mac: Some("AA:BB:CC:DD:EE:01".parse().unwrap()),
        expires_at: Some(UnixTime(1_800_000_000)),
        limit_uptime_secs: Some(3600),
        limit_bytes_total: Some(500 * 1024 * 1024),
        comment: Some("plan 1 hour".into()),
    }
}

fn every_command() -> Vec<Command> {
    vec![
        Command::UpsertHotspotUser(user()),
        Command::RemoveHotspotUser { name: "JX7K2P".into() },
        Command::LoginDevice {
            user: "JX7K2P".into(),
            password: Password("s3cret".into()),
            mac: "AA:BB:CC:DD:EE:01".parse().unwrap(),
            ip: "10.5.50.7".parse().unwrap(),
        },
        Command::EndSession { mac: "AA:BB:CC:DD:EE:01".parse().unwrap() },
    ]
}

fn every_agent_message() -> Vec<AgentMessage> {
    vec![
        AgentMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            agent_version: "0.1.0".into(),
            journal_high: Some(Seq(42)),
            journal_reset: false,
        }),
        AgentMessage::Received { seq: Seq(1) },
        AgentMessage::Result { seq: Seq(2), outcome: Outcome::Applied { note: None } },
        AgentMessage::Result { seq: Seq(3), outcome: Outcome::Failed { message: "input does not match any value of profile".into() } },
        AgentMessage::Ping { nonce: u64::MAX },
        AgentMessage::Pong { nonce: 0 },
        AgentMessage::Status(RouterStatus { identity: Some("MikroTik".into()), journal_depth: 3, ..Default::default() }),
        AgentMessage::Report(Report {
            id: 1,
            at: UnixTime(1_800_000_000),
            event: AgentEvent::UserExpired { name: "u".into(), sessions_ended: 1 },
        }),
        AgentMessage::Report(Report {
            id: 2,
            at: UnixTime(1_800_000_001),
            event: AgentEvent::Drift { restored: vec!["a".into()], removed: vec!["b".into()], adopted: vec![] },
        }),
        AgentMessage::Clock { skew_ms: -10_800_000 },
        AgentMessage::Usage(vec![UserUsage { name: "JX7K2P".into(), bytes_in: 1_100_000, bytes_out: 12_400_000 }]),
    ]
}

fn every_cloud_message() -> Vec<CloudMessage> {
    let mut messages = vec![
        CloudMessage::Welcome(Welcome { router_id: RouterId::new(), heartbeat_ms: 15_000 }),
        CloudMessage::Rejected(RejectReason::UnsupportedVersion { agent: 9, cloud: PROTOCOL_VERSION }),
        CloudMessage::Rejected(RejectReason::BadHello("timeout".into())),
        CloudMessage::ResultAck { seq: Seq(7) },
        CloudMessage::Ping { nonce: 5 },
        CloudMessage::Pong { nonce: 6 },
        CloudMessage::ReportAck { id: 9 },
        CloudMessage::WelcomeAt(WelcomeAt { router_id: RouterId::new(), heartbeat_ms: 15_000, now_ms: 1_800_000_000_000 }),
    ];
    for (i, command) in every_command().into_iter().enumerate() {
        messages.push(CloudMessage::Deliver(Delivery { seq: Seq(i as u64 + 1), id: CommandId::new(), command }));
    }
    messages
}

#[test]
fn every_message_round_trips() {
    for message in every_agent_message() {
        let frame = encode(&message).unwrap();
        assert_eq!(decode::<AgentMessage>(&frame).unwrap(), message);
    }
    for message in every_cloud_message() {
        let frame = encode(&message).unwrap();
        assert_eq!(decode::<CloudMessage>(&frame).unwrap(), message);
    }
}

#[test]
fn commands_round_trip_through_json_too() {
    // The cloud stores commands as JSON so operators can read them.
    for command in every_command() {
        let json = serde_json::to_string(&command).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command);
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for message in every_cloud_message() {
        let frame = encode(&message).unwrap();
        for cut in 0..frame.len() {
            assert!(decode::<CloudMessage>(&frame[..cut]).is_err(), "{message:?} cut at {cut} decoded");
        }
    }
    for message in every_agent_message() {
        let frame = encode(&message).unwrap();
        for cut in 0..frame.len() {
            assert!(decode::<AgentMessage>(&frame[..cut]).is_err());
        }
    }
}

#[test]
fn an_empty_frame_is_truncated() {
    assert_eq!(decode::<AgentMessage>(&[]), Err(CodecError::Truncated));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut frame = encode(&AgentMessage::Ping { nonce: 1 }).unwrap();
    frame.extend_from_slice(&[0, 0]);
    assert_eq!(decode::<AgentMessage>(&frame), Err(CodecError::TrailingBytes(2)));
}

#[test]
fn unknown_variant_is_malformed() {
    assert!(matches!(decode::<AgentMessage>(&[200, 1]), Err(CodecError::Malformed(_))));
    assert!(matches!(decode::<CloudMessage>(&[0x7f]), Err(CodecError::Malformed(_))));
}

#[test]
fn oversized_frames_are_refused_both_ways() {
    let frame = vec![0u8; MAX_FRAME_BYTES + 1];
    assert!(matches!(decode::<AgentMessage>(&frame), Err(CodecError::TooLarge { .. })));
    let huge = AgentMessage::Result { seq: Seq(1), outcome: Outcome::Failed { message: "x".repeat(MAX_FRAME_BYTES) } };
    assert!(matches!(encode(&huge), Err(CodecError::TooLarge { .. })));
}

#[test]
fn bad_utf8_and_bad_bool_are_malformed() {
    // Hello with a 2-byte agent_version that is not UTF-8.
    let frame = [0u8, 1, 2, 0xff, 0xfe, 0, 0];
    assert!(decode::<AgentMessage>(&frame).is_err());
    // Hello with journal_reset = 7 (not a bool).
    let frame = [0u8, 1, 0, 0, 7];
    assert!(decode::<AgentMessage>(&frame).is_err());
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic xorshift so the test is repeatable.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = decode::<AgentMessage>(&frame);
        let _ = decode::<CloudMessage>(&frame);
    }
}

#[test]
fn hello_version_is_readable_even_when_the_rest_is_not() {
    let hello = AgentMessage::Hello(Hello { protocol: 1, agent_version: "x".into(), journal_high: None, journal_reset: true });
    let frame = encode(&hello).unwrap();
    assert_eq!(peek_hello_version(&frame), Some(1));
    // A future agent: version 9, followed by fields this build does not know.
    let future = [0u8, 9, 0xde, 0xad, 0xbe, 0xef];
    assert_eq!(peek_hello_version(&future), Some(9));
    assert!(decode::<AgentMessage>(&future).is_err());
    // Not a hello.
    let ping = encode(&AgentMessage::Ping { nonce: 3 }).unwrap();
    assert_eq!(peek_hello_version(&ping), None);
    assert_eq!(peek_hello_version(&[]), None);
}

/// Protocol 2's messages are appended: every protocol-1 message keeps its encoding (its
/// variant's position), so a protocol-1 peer still reads everything it is sent.
#[test]
fn protocol_2_appends_and_leaves_protocol_1_encodings_alone() {
    let first_byte = |m: &AgentMessage| encode(m).unwrap()[0];
    let agent = every_agent_message();
    let tags: Vec<u8> = agent.iter().map(first_byte).collect();
    assert_eq!(tags, [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8]);
    let welcome = encode(&CloudMessage::Welcome(Welcome { router_id: RouterId::new(), heartbeat_ms: 1 })).unwrap();
    assert_eq!(welcome[0], 0);
    let at = WelcomeAt { router_id: RouterId::new(), heartbeat_ms: 1, now_ms: 5 };
    assert_eq!(encode(&CloudMessage::WelcomeAt(at.clone())).unwrap()[0], 7);
    assert_eq!(at.welcome(), Welcome { router_id: at.router_id, heartbeat_ms: 1 });
    const { assert!(MIN_PROTOCOL_VERSION < PROTOCOL_VERSION) };
}

#[test]
fn a_full_usage_message_fits_in_a_frame() {
    let usage: Vec<UserUsage> =
        (0..MAX_USAGE_PER_MESSAGE).map(|i| UserUsage { name: format!("{i:0>64}"), bytes_in: u64::MAX, bytes_out: u64::MAX }).collect();
    let frame = encode(&AgentMessage::Usage(usage)).unwrap();
    assert!(frame.len() < MAX_FRAME_BYTES / 2, "{} bytes", frame.len());
}
