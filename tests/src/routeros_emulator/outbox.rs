//! The writing side of one connection: a task that owns the socket's write half, so reply
//! sentences never interleave. It holds each command's replies until they are due (the
//! reply-delay fault), drops the replies of cancelled commands in favour of
//! `!trap =category=2 =message=interrupted` + `!done`, and writes a `!fatal` then closes.

use std::collections::VecDeque;

use jasiyo_agent::routeros::codec::encode_sentence;
use jasiyo_agent::routeros::sentence::{Reply, ReplyKind};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What the reading side asks the writer to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One command's replies, already encoded, to be written at `due`.
    Replies { due: Instant, tag: Option<String>, bytes: Vec<u8> },
    /// `/cancel`: `target` names a tag, or `None` for every command still waiting; `tag`
    /// is the cancel's own tag.
    Cancel { target: Option<String>, tag: Option<String> },
    /// `!fatal <reason>`, then close.
    Fatal(String),
}

/// A command whose replies are not written yet.
struct Pending {
    due: Instant,
    tag: Option<String>,
    bytes: Vec<u8>,
}

/// Encodes replies, tag first or last.
pub(crate) fn encode(replies: &[Reply], tag_first: bool) -> Vec<u8> {
    replies.iter().flat_map(|r| encode_sentence(&r.to_words(tag_first))).collect()
}

/// A reply sentence.
pub(crate) fn reply(kind: ReplyKind, tag: Option<&String>, attributes: Vec<(String, String)>) -> Reply {
    Reply { kind, tag: tag.cloned(), attributes, reason: None }
}

/// Runs until the reader hangs up, a fatal is written, the socket fails or `token` fires.
pub(crate) async fn run(mut writer: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Outgoing>, token: CancellationToken, tag_first: bool) {
    let mut pending: VecDeque<Pending> = VecDeque::new();
    loop {
        // Replies go out in the order their commands came in; a later command with a
        // shorter delay waits behind an earlier one.
        while pending.front().is_some_and(|p| p.due <= Instant::now()) {
            let p = pending.pop_front().expect("front exists");
            if write(&mut writer, &p.bytes, &token).await.is_err() {
                return;
            }
        }
        let next_due = pending.front().map(|p| p.due);
        let message = tokio::select! {
            biased;
            _ = token.cancelled() => return,
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => continue,
            message = rx.recv() => message,
        };
        let bytes = match message {
            None => return,
            Some(Outgoing::Replies { due, tag, bytes }) => {
                pending.push_back(Pending { due, tag, bytes });
                continue;
            }
            Some(Outgoing::Cancel { target, tag }) => cancel(&mut pending, target, tag, tag_first),
            Some(Outgoing::Fatal(reason)) => {
                let fatal = Reply { kind: ReplyKind::Fatal, tag: None, attributes: Vec::new(), reason: Some(reason) };
                let _ = write(&mut writer, &encode(&[fatal], tag_first), &token).await;
                let _ = writer.shutdown().await;
                return;
            }
        };
        if write(&mut writer, &bytes, &token).await.is_err() {
            return;
        }
    }
}

/// Removes the cancelled commands' replies and builds what replaces them.
fn cancel(pending: &mut VecDeque<Pending>, target: Option<String>, tag: Option<String>, tag_first: bool) -> Vec<u8> {
    let mut replies = Vec::new();
    pending.retain(|p| {
        let hit = target.is_none() || p.tag == target;
        if hit {
            let interrupted = vec![("category".to_string(), "2".to_string()), ("message".to_string(), "interrupted".to_string())];
            replies.push(reply(ReplyKind::Trap, p.tag.as_ref(), interrupted));
            replies.push(reply(ReplyKind::Done, p.tag.as_ref(), Vec::new()));
        }
        !hit
    });
    // Cancelling a tag that already finished just gets `!done` (unverified).
    replies.push(reply(ReplyKind::Done, tag.as_ref(), Vec::new()));
    encode(&replies, tag_first)
}

async fn write(writer: &mut OwnedWriteHalf, bytes: &[u8], token: &CancellationToken) -> std::io::Result<()> {
    tokio::select! {
        _ = token.cancelled() => Err(std::io::ErrorKind::ConnectionAborted.into()),
        result = async { writer.write_all(bytes).await?; writer.flush().await } => result,
    }
}
