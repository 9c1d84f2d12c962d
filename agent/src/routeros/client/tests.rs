//! The client against a scripted router over an in-memory pipe with a tiny buffer.

use std::time::Duration;

use tokio::io::DuplexStream;

use super::*;
use crate::routeros::codec::{read_sentence, write_sentence};

/// The router side of a pipe: reads requests, lets the test answer.
struct Router {
    io: DuplexStream,
}

impl Router {
    async fn next(&mut self) -> Request {
        let words = tokio::time::timeout(Duration::from_secs(5), read_sentence(&mut self.io)).await.unwrap().unwrap().unwrap();
        Request::parse(&words).unwrap()
    }

    async fn send(&mut self, words: &[&str]) {
        write_sentence(&mut self.io, words).await.unwrap();
    }

    async fn reply(&mut self, kind: &str, tag: &str, attrs: &[&str], tag_first: bool) {
        let tag = format!(".tag={tag}");
        let mut words = vec![kind];
        if tag_first {
            words.push(&tag);
        }
        words.extend_from_slice(attrs);
        if !tag_first {
            words.push(&tag);
        }
        self.send(&words).await;
    }

    /// Answers the plain login with success.
    async fn accept_login(&mut self) {
        let login = self.next().await;
        assert_eq!(login.command, "/login");
        assert_eq!(login.get("name"), Some("admin"));
        assert_eq!(login.get("password"), Some("secret"));
        self.reply("!done", login.tag.as_deref().unwrap(), &[], false).await;
    }
}

async fn connected() -> (Client, Router) {
    let (ours, theirs) = tokio::io::duplex(7);
    let mut router = Router { io: theirs };
    let (client, ()) = tokio::join!(Client::login(ours, "admin", "secret", Duration::from_secs(5)), router.accept_login());
    (client.unwrap(), router)
}

#[test]
fn the_legacy_md5_answer_matches_the_go_routeros_vector() {
    assert_eq!(legacy_response("passTest", "abc123").unwrap(), "0021277bff9ac7caf06aa608e46616d47f");
    assert!(legacy_response("x", "not hex").is_err());
}

#[tokio::test]
async fn plain_login_then_a_command_with_rows() {
    let (client, mut router) = connected().await;
    let call = tokio::spawn(async move { client.call(Request::new("/ip/hotspot/user/print").query("=name=u1")).await });
    let request = router.next().await;
    assert_eq!(request.command, "/ip/hotspot/user/print");
    assert_eq!(request.queries, vec!["=name=u1"]);
    let tag = request.tag.unwrap();
    router.reply("!re", &tag, &["=.id=*1", "=name=u1", "=comment=a=b"], true).await;
    router.reply("!re", &tag, &["=.id=*2", "=name=u1"], false).await;
    router.reply("!done", &tag, &[], false).await;
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.rows.len(), 2);
    assert_eq!(response.rows[0][2], ("comment".to_string(), "a=b".to_string()));
}

#[tokio::test]
async fn an_answer_with_too_many_rows_fails_the_command() {
    let (client, mut router) = connected().await;
    let call = tokio::spawn(async move { client.call(Request::new("/ip/hotspot/user/print")).await });
    let tag = router.next().await.tag.unwrap();
    for n in 0..=MAX_ROWS {
        router.reply("!re", &tag, &[&format!("=name=u{n}")], true).await;
    }
    router.reply("!done", &tag, &[], false).await;
    let error = call.await.unwrap().unwrap_err();
    assert_eq!(error, ApiError::Protocol(format!("answer has more than {MAX_ROWS} rows")));
}

#[tokio::test]
async fn legacy_routers_get_the_challenge_answer() {
    let (ours, theirs) = tokio::io::duplex(64);
    let mut router = Router { io: theirs };
    let script = async {
        let first = router.next().await;
        router.reply("!done", first.tag.as_deref().unwrap(), &["=ret=abc123"], false).await;
        let second = router.next().await;
        assert_eq!(second.get("name"), Some("admin"));
        assert_eq!(second.get("response"), Some(legacy_response("secret", "abc123").unwrap().as_str()));
        router.reply("!done", second.tag.as_deref().unwrap(), &[], false).await;
    };
    let (client, ()) = tokio::join!(Client::login(ours, "admin", "secret", Duration::from_secs(5)), script);
    assert!(client.is_ok());
}

#[tokio::test]
async fn bad_credentials_are_a_login_error() {
    let (ours, theirs) = tokio::io::duplex(64);
    let mut router = Router { io: theirs };
    let script = async {
        let login = router.next().await;
        let tag = login.tag.unwrap();
        router.reply("!trap", &tag, &["=message=invalid user name or password (6)"], false).await;
        router.reply("!done", &tag, &[], false).await;
    };
    let (client, ()) = tokio::join!(Client::login(ours, "admin", "secret", Duration::from_secs(5)), script);
    assert_eq!(client.err(), Some(ApiError::Login("invalid user name or password (6)".into())));
}

#[tokio::test]
async fn concurrent_commands_are_matched_by_tag_whatever_the_order() {
    let (client, mut router) = connected().await;
    let client = Arc::new(client);
    let mut calls = Vec::new();
    for i in 0..5 {
        let client = client.clone();
        calls.push(tokio::spawn(async move { client.call(Request::new("/system/identity/print").attr("i", i.to_string())).await }));
    }
    let mut requests = Vec::new();
    for _ in 0..5 {
        requests.push(router.next().await);
    }
    // Answer in reverse order, with a trap for one and `!empty` for another.
    for request in requests.iter().rev() {
        let tag = request.tag.as_deref().unwrap();
        match request.get("i").unwrap() {
            "1" => {
                router.reply("!trap", tag, &["=category=1", "=message=first"], false).await;
                router.reply("!trap", tag, &["=message=second"], false).await;
            }
            "2" => router.reply("!empty", tag, &[], true).await,
            i => router.reply("!re", tag, &[&format!("=name=r{i}")], false).await,
        }
        router.reply("!done", tag, &["=ret=ok"], false).await;
    }
    for (i, call) in calls.into_iter().enumerate() {
        let result = call.await.unwrap();
        match i {
            1 => assert_eq!(result, Err(ApiError::Trap { category: Some(1), message: "first".into() })),
            2 => assert_eq!(result.unwrap().rows.len(), 0),
            _ => {
                let response = result.unwrap();
                assert_eq!(response.rows, vec![vec![("name".to_string(), format!("r{i}"))]]);
                assert_eq!(response.ret(), Some("ok"));
            }
        }
    }
}

#[tokio::test]
async fn fatal_fails_every_pending_command_and_the_client_stays_dead() {
    let (client, mut router) = connected().await;
    let client = Arc::new(client);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call(Request::new("/system/resource/print")).await })
        })
        .collect();
    for _ in 0..3 {
        router.next().await;
    }
    router.send(&["!fatal", "session terminated on request"]).await;
    for call in calls {
        assert_eq!(call.await.unwrap(), Err(ApiError::Fatal("session terminated on request".into())));
    }
    assert!(client.dead().is_some());
    assert!(matches!(client.call(Request::new("/x")).await, Err(ApiError::Fatal(_))));
}

#[tokio::test]
async fn a_silent_router_times_out_and_gets_a_cancel() {
    let (ours, theirs) = tokio::io::duplex(64);
    let mut router = Router { io: theirs };
    let (client, ()) = tokio::join!(Client::login(ours, "admin", "secret", Duration::from_millis(200)), router.accept_login());
    let client = client.unwrap();
    let call = tokio::spawn(async move {
        let result = client.call(Request::new("/ip/hotspot/active/print")).await;
        (result, client)
    });
    let request = router.next().await;
    let cancel = router.next().await;
    assert_eq!(cancel.command, "/cancel");
    assert_eq!(cancel.get("tag"), request.tag.as_deref());
    let (result, _client) = call.await.unwrap();
    assert!(matches!(result, Err(ApiError::Timeout(_))));
}

#[tokio::test]
async fn a_closed_connection_and_garbage_fail_cleanly() {
    let (client, router) = connected().await;
    drop(router);
    assert!(matches!(client.call(Request::new("/x")).await, Err(ApiError::Io(_))));

    let (client, mut router) = connected().await;
    let call = tokio::spawn(async move { client.call(Request::new("/x")).await });
    router.next().await;
    tokio::io::AsyncWriteExt::write_all(&mut router.io, &[0xF9, 0x00]).await.unwrap();
    assert!(matches!(call.await.unwrap(), Err(ApiError::Protocol(_))));

    let (client, mut router) = connected().await;
    let call = tokio::spawn(async move { client.call(Request::new("/x")).await });
    router.next().await;
    router.send(&["!bogus"]).await;
    assert!(matches!(call.await.unwrap(), Err(ApiError::Protocol(_))));
}

#[tokio::test]
async fn closed_wakes_when_the_router_goes_away_while_idle_or_the_client_is_dropped() {
    let (client, router) = connected().await;
    let closed = client.closed();
    // Idle: no command is running when the router closes the connection.
    drop(router);
    tokio::time::timeout(Duration::from_secs(5), closed).await.expect("closed when the router went away");
    assert!(matches!(client.dead(), Some(ApiError::Io(_))));

    let (client, _router) = connected().await;
    let closed = client.closed();
    drop(client);
    tokio::time::timeout(Duration::from_secs(5), closed).await.expect("closed when the client was dropped");
}
