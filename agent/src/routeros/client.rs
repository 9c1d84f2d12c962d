//! One API connection to a router: login (plain, with the legacy MD5 challenge as a
//! fallback), every command tagged, several in flight at once, per-command timeouts.
//!
//! A reader task owns the read half and routes each reply sentence to its command by tag.
//! `!fatal`, a protocol error or a closed socket fail every pending command and mark the
//! connection dead (waking whoever waits on [`Client::closed`]); [`crate::routeros::Router`]
//! then opens a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncWrite, BufReader, WriteHalf};
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::codec::{protocol_error, read_sentence, write_sentence};
use super::error::ApiError;
use super::sentence::{Reply, ReplyKind, Request};

/// Any byte stream to a router: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

type BoxStream = Box<dyn Stream>;

/// A finished command: its `!re` rows and the attributes of its `!done` (such as `ret`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// One entry per `!re`, attributes in order.
    pub rows: Vec<Vec<(String, String)>>,
    /// Attributes of the `!done`.
    pub done: Vec<(String, String)>,
}

impl Response {
    /// The `=ret=` of the `!done`, if any.
    pub fn ret(&self) -> Option<&str> {
        self.done.iter().find(|(n, _)| n == "ret").map(|(_, v)| v.as_str())
    }
}

struct Pending {
    rows: Vec<Vec<(String, String)>>,
    trap: Option<ApiError>,
    reply: oneshot::Sender<Result<Response, ApiError>>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<String, Pending>>,
    /// Set once the connection is unusable, with the reason.
    dead: Mutex<Option<ApiError>>,
    /// Cancelled once the connection is unusable, or dropped.
    closed: CancellationToken,
}

impl Shared {
    fn fail_all(&self, error: ApiError) {
        let mut dead = self.dead.lock().unwrap_or_else(|p| p.into_inner());
        if dead.is_none() {
            *dead = Some(error.clone());
        }
        drop(dead);
        self.closed.cancel();
        let pending: Vec<Pending> = self.pending.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, p)| p).collect();
        for p in pending {
            let _ = p.reply.send(Err(error.clone()));
        }
    }
}

/// A logged-in API connection.
pub struct Client {
    writer: tokio::sync::Mutex<WriteHalf<BoxStream>>,
    shared: Arc<Shared>,
    next_tag: AtomicU64,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
}

impl Client {
    /// Takes over an open stream, starts the reader and logs in.
    pub async fn login(stream: impl Stream, user: &str, password: &str, timeout: Duration) -> Result<Client, ApiError> {
        let (read, write) = tokio::io::split(Box::new(stream) as BoxStream);
        let shared = Arc::new(Shared::default());
        let reader = tokio::spawn(read_loop(BufReader::new(read), shared.clone()));
        let client = Client { writer: tokio::sync::Mutex::new(write), shared, next_tag: AtomicU64::new(1), timeout, reader };
        client.authenticate(user, password).await?;
        Ok(client)
    }

    async fn authenticate(&self, user: &str, password: &str) -> Result<(), ApiError> {
        let plain = Request::new("/login").attr("name", user).attr("password", password);
        let response = self.call(plain).await.map_err(login_error)?;
        // A router older than 6.43 ignores the password and answers with a challenge.
        if let Some(challenge) = response.ret() {
            let response = legacy_response(password, challenge)?;
            let legacy = Request::new("/login").attr("name", user).attr("response", response);
            self.call(legacy).await.map_err(login_error)?;
        }
        Ok(())
    }

    /// Runs one command and waits for its `!done`. A `!trap` becomes [`ApiError::Trap`]
    /// (the first one, if there were several).
    pub async fn call(&self, mut request: Request) -> Result<Response, ApiError> {
        if let Some(error) = self.dead() {
            return Err(error);
        }
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed).to_string();
        request.tag = Some(tag.clone());
        let (reply, answer) = oneshot::channel();
        self.lock_pending().insert(tag.clone(), Pending { rows: Vec::new(), trap: None, reply });
        let sent = {
            let mut writer = self.writer.lock().await;
            write_sentence(&mut *writer, &request.to_words()).await
        };
        if let Err(e) = sent {
            self.lock_pending().remove(&tag);
            let error = ApiError::Io(e.to_string());
            self.shared.fail_all(error.clone());
            return Err(error);
        }
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(self.dead().unwrap_or_else(|| ApiError::Io("connection closed".into()))),
            Err(_) => {
                self.lock_pending().remove(&tag);
                // Best effort: tell the router to stop; a late `!done` for the tag is ignored.
                let cancel = Request::new("/cancel").attr("tag", tag);
                let mut writer = self.writer.lock().await;
                let _ = tokio::time::timeout(self.timeout, write_sentence(&mut *writer, &cancel.to_words())).await;
                Err(ApiError::Timeout(self.timeout))
            }
        }
    }

    /// Resolves once the connection is unusable (or the client dropped). It holds no
    /// reference to the client.
    pub fn closed(&self) -> WaitForCancellationFutureOwned {
        self.shared.closed.clone().cancelled_owned()
    }

    /// Why the connection is unusable, if it is.
    pub fn dead(&self) -> Option<ApiError> {
        self.shared.dead.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.shared.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
        self.shared.closed.cancel();
    }
}

fn login_error(error: ApiError) -> ApiError {
    match error {
        ApiError::Trap { message, .. } => ApiError::Login(message),
        ApiError::Fatal(reason) => ApiError::Login(reason),
        other => other,
    }
}

/// The pre-6.43 login answer: `00` + hex(md5(0x00 ‖ password ‖ challenge)).
pub fn legacy_response(password: &str, challenge_hex: &str) -> Result<String, ApiError> {
    let challenge = hex::decode(challenge_hex).map_err(|_| ApiError::Protocol(format!("login challenge {challenge_hex:?} is not hex")))?;
    let mut md5 = Md5::new();
    md5.update([0u8]);
    md5.update(password.as_bytes());
    md5.update(&challenge);
    Ok(format!("00{}", hex::encode(md5.finalize())))
}

async fn read_loop<R: AsyncRead + Unpin>(mut reader: R, shared: Arc<Shared>) {
    loop {
        let words = match read_sentence(&mut reader).await {
            Ok(Some(words)) => words,
            Ok(None) => return shared.fail_all(ApiError::Io("router closed the connection".into())),
            Err(e) => {
                let error = match protocol_error(&e) {
                    Some(p) => ApiError::Protocol(p.to_string()),
                    None => ApiError::Io(e.to_string()),
                };
                return shared.fail_all(error);
            }
        };
        let reply = match Reply::parse(&words) {
            Ok(reply) => reply,
            Err(e) => return shared.fail_all(ApiError::Protocol(e.to_string())),
        };
        if reply.kind == ReplyKind::Fatal {
            let reason = reply.reason.clone().or_else(|| reply.get("message").map(str::to_string)).unwrap_or_default();
            tracing::warn!(%reason, "router sent !fatal");
            return shared.fail_all(ApiError::Fatal(reason));
        }
        let Some(tag) = reply.tag.clone() else {
            // We tag everything; an untagged reply cannot be routed.
            tracing::warn!(kind = reply.kind.word(), "untagged reply from the router ignored");
            continue;
        };
        route(&shared, &tag, reply);
    }
}

/// The most `!re` rows one command's answer may bring; beyond, the command fails (rows
/// dropped) rather than the agent growing without bound on a router's say-so.
const MAX_ROWS: usize = if cfg!(test) { 100 } else { 50_000 };

fn route(shared: &Shared, tag: &str, reply: Reply) {
    let mut pending = shared.pending.lock().unwrap_or_else(|p| p.into_inner());
    let Some(entry) = pending.get_mut(tag) else {
        // A command we gave up on (timeout) finishing late.
        return;
    };
    match reply.kind {
        ReplyKind::Re if entry.rows.len() < MAX_ROWS => entry.rows.push(reply.attributes),
        ReplyKind::Re => {
            if entry.trap.is_none() {
                tracing::warn!(tag, max = MAX_ROWS, "router answer has too many rows; the command fails");
                entry.trap = Some(ApiError::Protocol(format!("answer has more than {MAX_ROWS} rows")));
            }
        }
        ReplyKind::Empty | ReplyKind::Fatal => {}
        ReplyKind::Trap => {
            if entry.trap.is_none() {
                let category = reply.get("category").and_then(|c| c.parse().ok());
                let message = reply.get("message").unwrap_or("unknown error").to_string();
                entry.trap = Some(ApiError::Trap { category, message });
            }
        }
        ReplyKind::Done => {
            let entry = pending.remove(tag).expect("present above");
            let result = match entry.trap {
                Some(trap) => Err(trap),
                None => Ok(Response { rows: entry.rows, done: reply.attributes }),
            };
            let _ = entry.reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests;
