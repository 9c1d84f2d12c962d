//! The RouterOS API emulator over real TCP sockets, driven by a tiny client built from the
//! agent's codec: login (plain and MD5), tags, pipelining, `/cancel`, `!empty`, every menu
//! verb and error text, queries, and every fault switch. No sleeps: every wait is a socket
//! read or a `changes()` watch under a timeout.

use std::time::Duration;

use jasiyo_agent::routeros::codec::{encode_sentence, read_sentence};
use jasiyo_agent::routeros::sentence::{Reply, ReplyKind};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, NOT_ENOUGH_PERMISSIONS, NewUser, RouterOsEmulator, legacy_response};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(10);

/// A bare-bones API client: sentences out, replies in.
struct Client {
    stream: TcpStream,
}

impl Client {
    async fn connect(emulator: &RouterOsEmulator) -> Client {
        Client { stream: TcpStream::connect(emulator.addr()).await.expect("connect") }
    }

    /// Connects and logs in as admin/secret.
    async fn logged_in(emulator: &RouterOsEmulator) -> Client {
        let mut client = Client::connect(emulator).await;
        let replies = client.call(&["/login", "=name=admin", "=password=secret"]).await;
        assert_eq!(kinds(&replies), [ReplyKind::Done], "{replies:?}");
        client
    }

    async fn send(&mut self, words: &[&str]) {
        self.stream.write_all(&encode_sentence(words)).await.expect("send");
    }

    /// The next reply, or `None` when the emulator closed the connection.
    async fn recv(&mut self) -> Option<Reply> {
        match timeout(WAIT, read_sentence(&mut self.stream)).await.expect("no reply in time") {
            Ok(Some(words)) => Some(Reply::parse(&words).expect("a reply sentence")),
            Ok(None) | Err(_) => None,
        }
    }

    /// Every reply up to and including the next `!done` (or a `!fatal`).
    async fn until_done(&mut self) -> Vec<Reply> {
        let mut replies = Vec::new();
        loop {
            let reply = self.recv().await.expect("connection closed before !done");
            let last = matches!(reply.kind, ReplyKind::Done | ReplyKind::Fatal);
            replies.push(reply);
            if last {
                return replies;
            }
        }
    }

    async fn call(&mut self, words: &[&str]) -> Vec<Reply> {
        self.send(words).await;
        self.until_done().await
    }

    /// Calls and expects exactly one trap with `message`, then `!done`.
    async fn expect_trap(&mut self, words: &[&str], message: &str) {
        let replies = self.call(words).await;
        assert_eq!(kinds(&replies), [ReplyKind::Trap, ReplyKind::Done], "{words:?} -> {replies:?}");
        assert_eq!(replies[0].get("message"), Some(message), "{words:?}");
    }

    /// The `!re` rows of a print, as attribute lists.
    async fn rows(&mut self, words: &[&str]) -> Vec<Reply> {
        let replies = self.call(words).await;
        assert_eq!(replies.last().map(|r| r.kind), Some(ReplyKind::Done), "{replies:?}");
        replies.into_iter().filter(|r| r.kind == ReplyKind::Re).collect()
    }

    /// The `=ret=` of a command that must succeed.
    async fn ret(&mut self, words: &[&str]) -> String {
        let replies = self.call(words).await;
        assert_eq!(kinds(&replies), [ReplyKind::Done], "{words:?} -> {replies:?}");
        replies[0].get("ret").expect("=ret=").to_string()
    }

    /// Waits for the emulator to close the connection.
    async fn expect_closed(&mut self) {
        assert!(self.recv().await.is_none(), "connection still open");
    }
}

fn strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

fn kinds(replies: &[Reply]) -> Vec<ReplyKind> {
    replies.iter().map(|r| r.kind).collect()
}

async fn emulator() -> RouterOsEmulator {
    RouterOsEmulator::start(EmulatorConfig::default()).await
}

async fn wait_connections(emulator: &RouterOsEmulator, n: usize) {
    assert!(emulator.wait_until(WAIT, |e| e.connections() == n).await, "expected {n} connections, have {}", emulator.connections());
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

// ---------------------------------------------------------------- login

#[test]
fn the_md5_helper_matches_the_go_routeros_vector() {
    assert_eq!(legacy_response("passTest", &unhex("abc123")), "0021277bff9ac7caf06aa608e46616d47f");
}

#[tokio::test]
async fn plain_login_and_bad_credentials() {
    let emulator = emulator().await;
    let mut client = Client::connect(&emulator).await;
    client.expect_trap(&["/login", "=name=admin", "=password=wrong"], "invalid user name or password (6)").await;
    client.expect_trap(&["/login", "=name=root", "=password=secret"], "invalid user name or password (6)").await;
    // Still open, still not logged in: the right credentials work on the same connection.
    let replies = client.call(&["/login", "=name=admin", "=password=secret", ".tag=1"]).await;
    assert_eq!(kinds(&replies), [ReplyKind::Done]);
    assert_eq!(replies[0].tag.as_deref(), Some("1"));
    assert_eq!(client.rows(&["/system/identity/print"]).await[0].get("name"), Some("MikroTik"));
    emulator.stop().await;
}

#[tokio::test]
async fn legacy_md5_login() {
    let emulator = RouterOsEmulator::start(EmulatorConfig { legacy_login: true, ..EmulatorConfig::default() }).await;
    let mut client = Client::connect(&emulator).await;
    // A plain attempt gets the challenge instead, as pre-6.43 routers did.
    let challenge = client.ret(&["/login", "=name=admin", "=password=secret"]).await;
    assert_eq!(challenge.len(), 32);
    assert!(challenge.bytes().all(|b| b.is_ascii_hexdigit()));
    let wrong = legacy_response("nope", &unhex(&challenge));
    client.expect_trap(&["/login", "=name=admin", &format!("=response={wrong}")], "cannot log in").await;
    // A challenge is good for one answer.
    let challenge = client.ret(&["/login"]).await;
    let answer = legacy_response("secret", &unhex(&challenge));
    assert_eq!(kinds(&client.call(&["/login", "=name=admin", &format!("=response={answer}")]).await), [ReplyKind::Done]);
    assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn commands_before_login_are_fatal() {
    let emulator = emulator().await;
    let mut client = Client::connect(&emulator).await;
    let replies = client.call(&["/ip/hotspot/user/print"]).await;
    assert_eq!(kinds(&replies), [ReplyKind::Fatal]);
    assert_eq!(replies[0].reason.as_deref(), Some("not logged in"));
    client.expect_closed().await;
    wait_connections(&emulator, 0).await;
    assert!(emulator.command_log().is_empty());
}

#[tokio::test]
async fn quit_is_fatal_and_closes() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let replies = client.call(&["/quit", ".tag=9"]).await;
    assert_eq!(replies[0].kind, ReplyKind::Fatal);
    assert_eq!(replies[0].reason.as_deref(), Some("session terminated on request"));
    assert_eq!(replies[0].tag, None, "!fatal applies to the connection, not a tag");
    client.expect_closed().await;
    assert_eq!(emulator.command_log(), ["/quit"]);
}

// ---------------------------------------------------------------- tags, pipelining, cancel

#[tokio::test]
async fn tags_go_last_by_default_and_first_when_asked() {
    for tag_first in [false, true] {
        let emulator = RouterOsEmulator::start(EmulatorConfig { tag_first, ..EmulatorConfig::default() }).await;
        let mut client = Client::logged_in(&emulator).await;
        emulator.add_user_by_hand(NewUser::new("u1", "p"));
        client.send(&["/ip/hotspot/user/print", "=.proplist=name", ".tag=t7"]).await;
        for expected in ["!re", "!done"] {
            let words = timeout(WAIT, read_sentence(&mut client.stream)).await.unwrap().unwrap().unwrap();
            assert_eq!(words[0], expected.as_bytes());
            let at = if tag_first { 1 } else { words.len() - 1 };
            assert_eq!(words[at], b".tag=t7", "tag_first={tag_first}: {words:?}");
        }
        emulator.stop().await;
    }
}

#[tokio::test]
async fn pipelined_tagged_commands_each_get_their_tagged_replies() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let mut bytes = Vec::new();
    bytes.extend(encode_sentence(&["/ip/hotspot/user/add", "=name=a", "=password=1", ".tag=1"]));
    bytes.extend(encode_sentence(&["/ip/hotspot/user/add", "=name=a", "=password=1", ".tag=2"]));
    bytes.extend(encode_sentence(&["/ip/hotspot/user/print", "=.proplist=name", ".tag=3"]));
    client.stream.write_all(&bytes).await.unwrap();
    let mut by_tag: std::collections::BTreeMap<String, Vec<Reply>> = Default::default();
    while by_tag.values().filter(|rs| rs.last().is_some_and(|r| r.kind == ReplyKind::Done)).count() < 3 {
        let reply = client.recv().await.expect("reply");
        by_tag.entry(reply.tag.clone().expect("every reply is tagged")).or_default().push(reply);
    }
    assert_eq!(by_tag["1"][0].get("ret"), Some("*1"));
    assert_eq!(by_tag["2"][0].get("message"), Some("failure: already have user with this name for this server"));
    assert_eq!(kinds(&by_tag["3"]), [ReplyKind::Re, ReplyKind::Done]);
    emulator.stop().await;
}

#[tokio::test]
async fn cancel_interrupts_a_delayed_command() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    emulator.set_reply_delay(Duration::from_secs(30));
    client.send(&["/ip/hotspot/user/print", ".tag=slow"]).await;
    client.send(&["/cancel", "=tag=slow", ".tag=c"]).await;
    let trap = client.recv().await.unwrap();
    assert_eq!((trap.kind, trap.tag.as_deref()), (ReplyKind::Trap, Some("slow")));
    assert_eq!(trap.get("category"), Some("2"));
    assert_eq!(trap.get("message"), Some("interrupted"));
    let done = client.recv().await.unwrap();
    assert_eq!((done.kind, done.tag.as_deref()), (ReplyKind::Done, Some("slow")));
    let done = client.recv().await.unwrap();
    assert_eq!((done.kind, done.tag.as_deref()), (ReplyKind::Done, Some("c")));

    // `/cancel` alone cancels everything still running.
    client.send(&["/system/identity/print", ".tag=a"]).await;
    client.send(&["/system/resource/print", ".tag=b"]).await;
    client.send(&["/cancel", ".tag=all"]).await;
    let replies: Vec<Reply> = {
        let mut out = Vec::new();
        for _ in 0..5 {
            out.push(client.recv().await.unwrap());
        }
        out
    };
    let summary: Vec<(ReplyKind, Option<&str>)> = replies.iter().map(|r| (r.kind, r.tag.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (ReplyKind::Trap, Some("a")),
            (ReplyKind::Done, Some("a")),
            (ReplyKind::Trap, Some("b")),
            (ReplyKind::Done, Some("b")),
            (ReplyKind::Done, Some("all"))
        ]
    );
    assert_eq!(
        emulator.command_log(),
        ["/ip/hotspot/user/print", "/cancel", "/system/identity/print", "/system/resource/print", "/cancel"]
    );
    emulator.stop().await;
}

// ---------------------------------------------------------------- stream handling

#[tokio::test]
async fn empty_sentences_are_ignored() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.stream.write_all(&[0, 0, 0]).await.unwrap();
    assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn a_control_byte_closes_the_connection() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.stream.write_all(&[0xF8, 1, 2, 3]).await.unwrap();
    client.expect_closed().await;
    wait_connections(&emulator, 0).await;
}

#[tokio::test]
async fn a_truncated_sentence_closes_the_connection() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let bytes = encode_sentence(&["/ip/hotspot/user/add", "=name=half"]);
    client.stream.write_all(&bytes[..bytes.len() - 4]).await.unwrap();
    client.stream.shutdown().await.unwrap();
    client.expect_closed().await;
    wait_connections(&emulator, 0).await;
    assert!(emulator.user("half").is_none());
}

// ---------------------------------------------------------------- !empty

#[tokio::test]
async fn empty_prints_say_empty_on_7_18_and_nothing_before() {
    for (empty_replies, expected) in [(true, vec![ReplyKind::Empty, ReplyKind::Done]), (false, vec![ReplyKind::Done])] {
        let emulator = RouterOsEmulator::start(EmulatorConfig { empty_replies, ..EmulatorConfig::default() }).await;
        let mut client = Client::logged_in(&emulator).await;
        let replies = client.call(&["/ip/hotspot/user/print", ".tag=e"]).await;
        assert_eq!(kinds(&replies), expected, "empty_replies={empty_replies}");
        assert!(replies.iter().all(|r| r.tag.as_deref() == Some("e")), "!empty carries the tag too");
        // A query that matches nothing is empty as well; count-only is not a row list.
        emulator.add_user_by_hand(NewUser::new("x", "y"));
        assert_eq!(kinds(&client.call(&["/ip/hotspot/user/print", "?name=nobody"]).await), expected);
        assert_eq!(client.ret(&["/ip/hotspot/user/print", "=count-only=", "?name=nobody"]).await, "0");
        emulator.stop().await;
    }
}

// ---------------------------------------------------------------- /ip/hotspot/user

#[tokio::test]
async fn hotspot_user_add_print_set_remove() {
    let emulator = RouterOsEmulator::start(EmulatorConfig { profiles: vec!["1h-50".into()], ..EmulatorConfig::default() }).await;
    let mut client = Client::logged_in(&emulator).await;
    let id = client
        .ret(&[
            "/ip/hotspot/user/add",
            "=name=0712345678",
            "=password=4821",
            "=profile=1h-50",
            "=limit-uptime=5400",
            "=limit-bytes-total=1000000",
            "=mac-address=aa-bb-cc-dd-ee-ff",
            "=comment=mpesa QK12",
            "=server=all",
            "=disabled=no",
        ])
        .await;
    assert_eq!(id, "*1");
    let row = &client.rows(&["/ip/hotspot/user/print"]).await[0];
    for (name, value) in [
        (".id", "*1"),
        ("name", "0712345678"),
        ("password", "4821"),
        ("profile", "1h-50"),
        ("mac-address", "AA:BB:CC:DD:EE:FF"),
        ("limit-uptime", "1h30m"),
        ("limit-bytes-total", "1000000"),
        ("comment", "mpesa QK12"),
        ("disabled", "false"),
        ("server", "all"),
        ("uptime", "0s"),
        ("bytes-in", "0"),
        ("bytes-out", "0"),
    ] {
        assert_eq!(row.get(name), Some(value), "{name}");
    }

    // Optional fields are left out when unset; the profile defaults to `default`.
    assert_eq!(client.ret(&["/ip/hotspot/user/add", "=name=bare"]).await, "*2");
    let bare = &client.rows(&["/ip/hotspot/user/print", "?name=bare"]).await[0];
    assert_eq!(bare.get("profile"), Some("default"));
    for absent in ["mac-address", "limit-uptime", "limit-bytes-total", "comment"] {
        assert_eq!(bare.get(absent), None, "{absent}");
    }

    // Every input form of a time prints compactly.
    for (input, printed) in [("01:30:00", "1h30m"), ("90m", "1h30m"), ("1d", "1d"), ("1h30m", "1h30m"), ("86400", "1d")] {
        client.call(&["/ip/hotspot/user/set", "=.id=*2", &format!("=limit-uptime={input}")]).await;
        assert_eq!(emulator.user("bare").unwrap().limit_uptime.as_deref(), Some(printed), "{input}");
    }
    client
        .call(&["/ip/hotspot/user/set", "=numbers=*2", "=disabled=yes", "=comment=x", "=password=pw", "=mac-address=00:00:00:00:00:00"])
        .await;
    let bare = emulator.user("bare").unwrap();
    assert!(bare.disabled);
    assert_eq!((bare.comment.as_deref(), bare.password.as_str()), (Some("x"), "pw"));
    assert_eq!(bare.mac_address, None, "the all-zero MAC means any device");
    client.expect_trap(&["/ip/hotspot/user/set", "=.id=*2", "=mac-address=not-a-mac"], "invalid value for argument mac-address").await;
    assert_eq!(client.rows(&["/ip/hotspot/user/print", "?name=bare"]).await[0].get("disabled"), Some("true"));

    // Remove by comma list.
    client.ret(&["/ip/hotspot/user/add", "=name=third"]).await;
    assert_eq!(kinds(&client.call(&["/ip/hotspot/user/remove", "=.id=*1,*3"]).await), [ReplyKind::Done]);
    let names: Vec<String> = emulator.users().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["bare"]);
    assert_eq!(kinds(&client.call(&["/ip/hotspot/user/remove", "=numbers=*2"]).await), [ReplyKind::Done]);
    assert!(emulator.users().is_empty());
    // Ids are never reused.
    assert_eq!(client.ret(&["/ip/hotspot/user/add", "=name=again"]).await, "*4");
    emulator.stop().await;
}

#[tokio::test]
async fn hotspot_user_error_texts() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.ret(&["/ip/hotspot/user/add", "=name=taken", "=password=1"]).await;
    client
        .expect_trap(&["/ip/hotspot/user/add", "=name=taken", "=password=2"], "failure: already have user with this name for this server")
        .await;
    client.expect_trap(&["/ip/hotspot/user/add", "=name=p", "=profile=nope"], "input does not match any value of profile").await;
    client.expect_trap(&["/ip/hotspot/user/add", "=password=nameless"], "failure: name must be set").await;
    client.expect_trap(&["/ip/hotspot/user/add", "=name=s", "=server=hotspot9"], "input does not match any value of server").await;
    client.expect_trap(&["/ip/hotspot/user/add", "=name=t", "=limit-uptime=soon"], "invalid value for argument limit-uptime").await;
    client.expect_trap(&["/ip/hotspot/user/add", "=name=u", "=colour=red"], "unknown parameter").await;
    client.expect_trap(&["/ip/hotspot/user/set", "=.id=*99", "=password=x"], "no such item (4)").await;
    client.expect_trap(&["/ip/hotspot/user/set", "=.id=*1", "=profile=nope"], "input does not match any value of profile").await;
    client.expect_trap(&["/ip/hotspot/user/remove", "=.id=*99"], "no such item (4)").await;
    client.expect_trap(&["/ip/hotspot/user/remove", "=.id=*1,*99"], "no such item (4)").await;
    client.expect_trap(&["/ip/hotspot/user/remove"], "no such item (4)").await;
    // Failed commands changed nothing.
    assert_eq!(emulator.users().len(), 1);
    assert_eq!(emulator.user("taken").unwrap().password, "1");
    emulator.stop().await;
}

#[tokio::test]
async fn hotspot_user_profiles() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let id = client.ret(&["/ip/hotspot/user/profile/add", "=name=1h-50", "=rate-limit=2M/5M", "=shared-users=1"]).await;
    let rows = client.rows(&["/ip/hotspot/user/profile/print"]).await;
    let names: Vec<&str> = rows.iter().filter_map(|r| r.get("name")).collect();
    assert_eq!(names, ["default", "1h-50"]);
    assert_eq!(rows[1].get("rate-limit"), Some("2M/5M"));
    assert_eq!(rows[0].get("default"), Some("true"));
    client.expect_trap(&["/ip/hotspot/user/profile/add", "=name=1h-50"], "failure: already have profile with this name").await;
    client.ret(&["/ip/hotspot/user/add", "=name=a", "=profile=1h-50"]).await;
    client.expect_trap(&["/ip/hotspot/user/profile/remove", "=.id=*0"], "failure: cannot remove default profile").await;
    assert_eq!(kinds(&client.call(&["/ip/hotspot/user/profile/remove", &format!("=.id={id}")]).await), [ReplyKind::Done]);
    assert_eq!(emulator.profiles(), ["default"]);
    client.expect_trap(&["/ip/hotspot/user/profile/remove", &format!("=.id={id}")], "no such item (4)").await;
    emulator.add_profile("planted");
    assert_eq!(client.rows(&["/ip/hotspot/user/profile/print", "?name=planted"]).await.len(), 1);
    emulator.stop().await;
}

// ---------------------------------------------------------------- active, cookie, host

#[tokio::test]
async fn active_login_print_remove() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.ret(&["/ip/hotspot/user/add", "=name=0712345678", "=password=4821"]).await;
    let login = |ip: &str, mac: &str, password: &str| {
        vec![
            "/ip/hotspot/active/login".to_string(),
            "=user=0712345678".into(),
            format!("=password={password}"),
            format!("=ip={ip}"),
            format!("=mac-address={mac}"),
        ]
    };

    // The device must be known to the hotspot first.
    client.expect_trap(&strs(&login("10.5.50.23", "AA:BB:CC:00:00:01", "4821")), "failure: host not found").await;
    emulator.add_host("aa:bb:cc:00:00:01", "10.5.50.23");
    client.expect_trap(&strs(&login("10.5.50.23", "AA:BB:CC:00:00:01", "bad")), "invalid username or password").await;
    assert_eq!(kinds(&client.call(&strs(&login("10.5.50.23", "AA:BB:CC:00:00:01", "4821"))).await), [ReplyKind::Done]);
    let active = emulator.active();
    assert_eq!(active.len(), 1);
    assert_eq!(
        (active[0].user.as_str(), active[0].address.as_str(), active[0].mac_address.as_str()),
        ("0712345678", "10.5.50.23", "AA:BB:CC:00:00:01")
    );

    let row = &client.rows(&["/ip/hotspot/active/print", "?user=0712345678"]).await[0];
    for name in [".id", "server", "user", "address", "mac-address", "login-by", "uptime"] {
        assert!(row.get(name).is_some(), "{name} missing: {row:?}");
    }
    let host = &client.rows(&["/ip/hotspot/host/print"]).await[0];
    assert_eq!(
        (host.get("mac-address"), host.get("address"), host.get("authorized")),
        (Some("AA:BB:CC:00:00:01"), Some("10.5.50.23"), Some("true"))
    );

    let id = row.get(".id").unwrap().to_string();
    assert_eq!(kinds(&client.call(&["/ip/hotspot/active/remove", &format!("=.id={id}")]).await), [ReplyKind::Done]);
    assert!(emulator.active().is_empty());
    client.expect_trap(&["/ip/hotspot/active/remove", &format!("=.id={id}")], "no such item (4)").await;
    emulator.stop().await;
}

#[tokio::test]
async fn cookies_and_planted_sessions() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let cookie = emulator.add_cookie("0712345678", "aa:bb:cc:00:00:02");
    emulator.add_active("0712345678", "aa:bb:cc:00:00:02", "10.5.50.9");
    let rows = client.rows(&["/ip/hotspot/cookie/print"]).await;
    assert_eq!((rows[0].get("user"), rows[0].get("mac-address")), (Some("0712345678"), Some("AA:BB:CC:00:00:02")));
    assert_eq!(client.rows(&["/ip/hotspot/active/print", "?mac-address=AA:BB:CC:00:00:02"]).await[0].get("login-by"), Some("http-chap"));
    assert_eq!(client.rows(&["/ip/hotspot/host/print"]).await.len(), 1, "a planted session's device is a host");
    assert_eq!(kinds(&client.call(&["/ip/hotspot/cookie/remove", &format!("=.id={cookie}")]).await), [ReplyKind::Done]);
    assert!(emulator.cookies().is_empty());
    client.expect_trap(&["/ip/hotspot/cookie/remove", "=.id=*7"], "no such item (4)").await;
    client.expect_trap(&["/ip/hotspot/host/remove", "=.id=*1"], "no such command").await;
    emulator.stop().await;
}

// ---------------------------------------------------------------- system, unknown commands

#[tokio::test]
async fn system_identity_and_resource() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    assert_eq!(kinds(&client.call(&["/system/identity/set", "=name=shop-1"]).await), [ReplyKind::Done]);
    assert_eq!(client.rows(&["/system/identity/print"]).await[0].get("name"), Some("shop-1"));
    assert_eq!(emulator.identity(), "shop-1");

    let full = &client.rows(&["/system/resource/print"]).await[0];
    for name in ["uptime", "version", "board-name", "cpu-load", "free-memory", "total-memory", "architecture-name", "cpu-count"] {
        assert!(full.get(name).is_some(), "{name}");
    }
    assert_eq!(full.get("version"), Some("7.20.8 (long-term)"));
    assert_eq!(full.get("board-name"), Some("hAP ax^3"));
    let small = &client.rows(&["/system/resource/print", "=.proplist=uptime,version,board-name,cpu-load,free-memory"]).await[0];
    let names: Vec<&str> = small.attributes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["uptime", "version", "board-name", "cpu-load", "free-memory"]);
    emulator.stop().await;
}

#[tokio::test]
async fn unknown_menus_and_verbs() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.expect_trap(&["/ip/hotspot/nosuch/print"], "no such command prefix").await;
    client.expect_trap(&["/interface/print"], "no such command prefix").await;
    client.expect_trap(&["/ip/hotspot/user/frobnicate"], "no such command").await;
    client.expect_trap(&["/system/resource/set"], "no such command").await;
    client.expect_trap(&["/ip/hotspot/user"], "no such command").await;
    emulator.stop().await;
}

// ---------------------------------------------------------------- queries

#[tokio::test]
async fn print_queries() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    for (name, comment, bytes) in [("a", Some("paid"), 100u64), ("b", None, 5_000), ("c", Some("trial"), 20)] {
        let mut user = NewUser::new(name, "pw");
        user.comment = comment.map(str::to_string);
        user.limit_bytes_total = Some(bytes);
        emulator.add_user_by_hand(user);
    }
    let names = |rows: Vec<Reply>| rows.iter().map(|r| r.get("name").unwrap_or("?").to_string()).collect::<Vec<_>>();
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?name=b"]).await), ["b"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?=name=b"]).await), ["b"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?name=a", "?name=c", "?#|"]).await), ["a", "c"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?name=a", "?name=c", "?#|!"]).await), ["b"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?-comment"]).await), ["b"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?comment"]).await), ["a", "c"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?>limit-bytes-total=99"]).await), ["a", "b"]);
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?<limit-bytes-total=100"]).await), ["c"]);
    // Leftover stack items are ANDed.
    assert_eq!(names(client.rows(&["/ip/hotspot/user/print", "?comment", "?<limit-bytes-total=50"]).await), ["c"]);
    assert_eq!(client.ret(&["/ip/hotspot/user/print", "=count-only=", "?comment"]).await, "2");
    assert_eq!(client.ret(&["/ip/hotspot/user/print", "=count-only="]).await, "3");
    let rows = client.rows(&["/ip/hotspot/user/print", "=.proplist=.id,name", "?=name=c"]).await;
    assert_eq!(rows[0].attributes, [(".id".to_string(), "*3".to_string()), ("name".to_string(), "c".to_string())]);
    client.expect_trap(&["/ip/hotspot/user/print", "?#|"], "invalid query").await;
    emulator.stop().await;
}

// ---------------------------------------------------------------- fault switches

#[tokio::test]
async fn refused_connections_close_at_once() {
    let emulator = emulator().await;
    emulator.set_refuse_connections(true);
    let mut client = Client::connect(&emulator).await;
    // The write may or may not land before the close; either way nothing answers.
    let _ = client.stream.write_all(&encode_sentence(&["/login", "=name=admin", "=password=secret"])).await;
    client.expect_closed().await;
    assert_eq!(emulator.connections(), 0);
    assert_eq!(emulator.refused_connections(), 1);
    emulator.set_refuse_connections(false);
    let mut client = Client::logged_in(&emulator).await;
    assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn drop_after_sentences_closes_before_running_the_next() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    emulator.drop_after_sentences(Some(1));
    client.ret(&["/ip/hotspot/user/add", "=name=first"]).await;
    client.send(&["/ip/hotspot/user/add", "=name=second"]).await;
    client.expect_closed().await;
    assert!(emulator.user("first").is_some());
    assert!(emulator.user("second").is_none(), "the sentence that tripped the switch did not run");

    // New connections count from their start: login plus one more.
    emulator.drop_after_sentences(Some(2));
    let mut client = Client::logged_in(&emulator).await;
    assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    client.send(&["/system/identity/print"]).await;
    client.expect_closed().await;

    emulator.drop_after_sentences(None);
    let mut client = Client::logged_in(&emulator).await;
    for _ in 0..3 {
        assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    }
    emulator.stop().await;
}

#[tokio::test]
async fn reply_delay_holds_replies_but_not_effects() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    let delay = Duration::from_millis(300);
    emulator.set_reply_delay(delay);
    let sent = Instant::now();
    client.send(&["/ip/hotspot/user/add", "=name=slow"]).await;
    // The change is visible before the reply arrives...
    assert!(emulator.wait_until(WAIT, |e| e.user("slow").is_some()).await);
    let replies = client.until_done().await;
    // ...and the reply comes no sooner than the delay.
    assert!(sent.elapsed() >= delay, "reply after {:?}", sent.elapsed());
    assert_eq!(replies[0].get("ret"), Some("*1"));

    // Pipelined replies keep their order.
    client.send(&["/system/identity/print", ".tag=1"]).await;
    client.send(&["/system/resource/print", ".tag=2"]).await;
    let first = client.until_done().await;
    let second = client.until_done().await;
    assert_eq!((first[0].tag.as_deref(), second[0].tag.as_deref()), (Some("1"), Some("2")));

    // A kill during the delay loses the reply to a change that happened.
    client.send(&["/ip/hotspot/user/add", "=name=lost-reply"]).await;
    assert!(emulator.wait_until(WAIT, |e| e.user("lost-reply").is_some()).await);
    emulator.kill_connections();
    client.expect_closed().await;

    emulator.set_reply_delay(Duration::ZERO);
    let sent = Instant::now();
    let mut client = Client::logged_in(&emulator).await;
    assert_eq!(client.rows(&["/system/identity/print"]).await.len(), 1);
    assert!(sent.elapsed() < delay, "no delay once switched off");
    emulator.stop().await;
}

#[tokio::test]
async fn trap_next_fails_one_command_without_effect() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    emulator.trap_next("failure: simulated");
    let replies = client.call(&["/ip/hotspot/user/add", "=name=x", ".tag=5"]).await;
    assert_eq!(kinds(&replies), [ReplyKind::Trap, ReplyKind::Done]);
    assert_eq!(replies[0].get("message"), Some("failure: simulated"));
    assert!(replies.iter().all(|r| r.tag.as_deref() == Some("5")));
    assert!(emulator.user("x").is_none());
    assert_eq!(client.ret(&["/ip/hotspot/user/add", "=name=x"]).await, "*1");
    // A login does not take the trap.
    emulator.trap_next("boom");
    let mut second = Client::logged_in(&emulator).await;
    second.expect_trap(&["/system/identity/print"], "boom").await;
    assert_eq!(second.rows(&["/system/identity/print"]).await.len(), 1);
    // An aimed trap lets other commands pass until its command comes.
    emulator.trap_next_command("/ip/hotspot/user/remove", "failure: aimed");
    assert_eq!(second.rows(&["/system/identity/print"]).await.len(), 1);
    second.expect_trap(&["/ip/hotspot/user/remove", "=.id=*1"], "failure: aimed").await;
    assert!(emulator.user("x").is_some());
    assert_eq!(kinds(&second.call(&["/ip/hotspot/user/remove", "=.id=*1"]).await), [ReplyKind::Done]);
    emulator.stop().await;
}

#[tokio::test]
async fn trap_every_fails_a_command_until_switched_off() {
    let emulator = emulator().await;
    let mut client = Client::logged_in(&emulator).await;
    client.ret(&["/ip/hotspot/user/add", "=name=x"]).await;
    emulator.trap_every("/ip/hotspot/user/remove", NOT_ENOUGH_PERMISSIONS);
    for tag in ["1", "2", "3"] {
        let replies = client.call(&["/ip/hotspot/user/remove", "=.id=*1", &format!(".tag={tag}")]).await;
        assert_eq!(kinds(&replies), [ReplyKind::Trap, ReplyKind::Done], "{replies:?}");
        assert_eq!(replies[0].get("message"), Some(NOT_ENOUGH_PERMISSIONS));
        assert_eq!(replies[0].get("category"), None, "RouterOS sends this trap without a category");
        assert!(replies.iter().all(|r| r.tag.as_deref() == Some(tag)));
    }
    // Other commands, and other connections' logins, pass.
    assert_eq!(client.rows(&["/ip/hotspot/user/print"]).await.len(), 1);
    let mut second = Client::logged_in(&emulator).await;
    second.expect_trap(&["/ip/hotspot/user/remove", "=.id=*1"], NOT_ENOUGH_PERMISSIONS).await;
    assert!(emulator.user("x").is_some(), "a trapped command has no effect");
    emulator.stop_trapping("/ip/hotspot/user/remove");
    assert_eq!(kinds(&second.call(&["/ip/hotspot/user/remove", "=.id=*1"]).await), [ReplyKind::Done]);
    assert!(emulator.user("x").is_none());
    emulator.stop().await;
}

#[tokio::test]
async fn kill_closes_every_connection_and_later_ones_work() {
    let emulator = emulator().await;
    let mut a = Client::logged_in(&emulator).await;
    let mut b = Client::connect(&emulator).await;
    wait_connections(&emulator, 2).await;
    emulator.kill_connections();
    a.expect_closed().await;
    b.expect_closed().await;
    wait_connections(&emulator, 0).await;
    let mut c = Client::logged_in(&emulator).await;
    assert_eq!(c.rows(&["/system/identity/print"]).await.len(), 1);
    assert_eq!(emulator.connections(), 1);
    emulator.stop().await;
}

#[tokio::test]
async fn changes_and_the_command_log_follow_every_command() {
    let emulator = emulator().await;
    let mut changes = emulator.changes();
    let mut client = Client::logged_in(&emulator).await;
    let before = *changes.borrow_and_update();
    client.ret(&["/ip/hotspot/user/add", "=name=a"]).await;
    timeout(WAIT, changes.changed()).await.unwrap().unwrap();
    assert!(*changes.borrow() > before);
    client.rows(&["/ip/hotspot/user/print"]).await;
    client.call(&["/nope/print"]).await;
    assert_eq!(emulator.command_log(), ["/ip/hotspot/user/add", "/ip/hotspot/user/print", "/nope/print"]);
    // Edits by hand count as changes too.
    let seen = *changes.borrow_and_update();
    assert!(emulator.remove_user_by_hand("a"));
    assert!(!emulator.remove_user_by_hand("a"));
    assert!(*changes.borrow_and_update() > seen);
    emulator.stop().await;
}
