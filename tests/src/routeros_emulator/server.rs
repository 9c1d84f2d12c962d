//! The reading side: the accept loop (which honours the refuse switch) and one task per
//! connection that reads sentences, counts them for the drop switch, logs in, runs
//! commands and hands their replies, tagged, to the connection's [`outbox`](super::outbox).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jasiyo_agent::routeros::codec::read_sentence;
use jasiyo_agent::routeros::sentence::{ReplyKind, Request};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::login::LoginState;
use super::menus::{self, Context, Failure, Outcome};
use super::outbox::{self, Outgoing, encode, reply};

/// Accepts until `stop` fires; each connection gets a task and a token from the current
/// kill generation.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = tokio::select! {
            _ = shared.stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "emulator accept failed");
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        if shared.refuse.load(Ordering::SeqCst) {
            drop(stream);
            shared.refused.fetch_add(1, Ordering::SeqCst);
            shared.bump();
            continue;
        }
        // Reply sentences go out as separate writes: without this, Nagle's algorithm holds
        // each one until the client's delayed ACK (tens of milliseconds).
        let _ = stream.set_nodelay(true);
        let token = shared.generation.lock().expect("generation lock").child_token();
        tokio::spawn(serve(stream, shared.clone(), token));
    }
}

/// Counts an open connection for as long as it lives.
struct Open(Arc<Shared>);

impl Open {
    fn new(shared: &Arc<Shared>) -> Open {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        shared.bump();
        Open(shared.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
        self.0.bump();
    }
}

/// How the reading side ended.
enum End {
    /// Tear down at once: EOF, a malformed stream, a kill, the drop switch.
    Abort,
    /// A `!fatal` is queued: let the writer send it, then close.
    Fatal,
}

/// One client connection, from accept to close.
async fn serve(stream: TcpStream, shared: Arc<Shared>, token: CancellationToken) {
    let _open = Open::new(&shared);
    let (mut reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let writer_token = token.child_token();
    let writer_task = tokio::spawn(outbox::run(writer, rx, writer_token.clone(), shared.config.tag_first));
    let mut drop_switch = shared.drop_after.subscribe();
    let budget = *drop_switch.borrow_and_update();
    let mut connection =
        Connection { shared: shared.clone(), outbox: tx, login: LoginState::default(), logged_in: false, budget, drop_switch };
    let end = connection.read_loop(&mut reader, &token).await;
    drop(connection);
    if matches!(end, End::Abort) {
        writer_token.cancel();
    }
    let _ = writer_task.await;
}

struct Connection {
    shared: Arc<Shared>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    login: LoginState,
    logged_in: bool,
    /// Sentences this connection may still run before the drop switch closes it.
    budget: Option<usize>,
    drop_switch: watch::Receiver<Option<usize>>,
}

impl Connection {
    async fn read_loop(&mut self, reader: &mut OwnedReadHalf, token: &CancellationToken) -> End {
        loop {
            let read = tokio::select! {
                _ = token.cancelled() => return End::Abort,
                read = read_sentence(reader) => read,
            };
            let words = match read {
                Ok(Some(words)) => words,
                Ok(None) => return End::Abort,
                Err(error) => {
                    tracing::debug!(%error, "emulator closes a connection on a bad stream");
                    return End::Abort;
                }
            };
            if self.out_of_budget() {
                return End::Abort;
            }
            // RouterOS ignores empty sentences.
            let Some(request) = Request::parse(&words) else { continue };
            if let Some(end) = self.handle(request) {
                return end;
            }
        }
    }

    /// Takes one sentence from the budget; true when there was none left.
    fn out_of_budget(&mut self) -> bool {
        if self.drop_switch.has_changed().unwrap_or(false) {
            self.budget = *self.drop_switch.borrow_and_update();
        }
        match &mut self.budget {
            None => false,
            Some(0) => true,
            Some(n) => {
                *n -= 1;
                false
            }
        }
    }

    /// Runs one request; `Some` when the connection is to close.
    fn handle(&mut self, request: Request) -> Option<End> {
        let command = request.command.as_str();
        if command == "/login" {
            let (outcome, ok) = self.login.handle(&self.shared.config, &request);
            self.logged_in |= ok;
            self.queue(outcome, &request);
            self.shared.bump();
            return None;
        }
        if command == "/quit" {
            self.log(&request);
            let _ = self.outbox.send(Outgoing::Fatal("session terminated on request".into()));
            return Some(End::Fatal);
        }
        if !self.logged_in {
            let _ = self.outbox.send(Outgoing::Fatal("not logged in".into()));
            return Some(End::Fatal);
        }
        self.log(&request);
        if command == "/cancel" {
            let target = request.get("tag").map(str::to_string);
            let _ = self.outbox.send(Outgoing::Cancel { target, tag: request.tag.clone() });
        } else {
            let outcome = self.run(&request);
            self.queue(outcome, &request);
        }
        self.shared.bump();
        None
    }

    /// An ordinary command: the trap faults, or the menus.
    fn run(&self, request: &Request) -> Outcome {
        if let Some(message) = self.shared.trap_always.lock().expect("trap lock").get(&request.command) {
            return Err(Failure(message.clone()));
        }
        {
            let mut trap = self.shared.trap_next.lock().expect("trap lock");
            if trap.as_ref().is_some_and(|(only, _)| only.as_ref().is_none_or(|c| *c == request.command)) {
                let (_, message) = trap.take().expect("checked");
                return Err(Failure(message));
            }
        }
        let ctx = Context { config: &self.shared.config, started: self.shared.started };
        let mut state = self.shared.state.lock().expect("state lock");
        let outcome = menus::run(&mut state, &ctx, request);
        if super::saved::may_change_kept(&request.command) {
            self.shared.save(&state);
        }
        outcome
    }

    /// Records a command run after login.
    fn log(&self, request: &Request) {
        if self.logged_in {
            self.shared.log.lock().expect("log lock").push(request.command.clone());
        }
    }

    /// Turns an outcome into tagged reply sentences due after the reply delay.
    fn queue(&self, outcome: Outcome, request: &Request) {
        let tag = request.tag.as_ref();
        let mut replies = Vec::new();
        match outcome {
            Ok(output) => {
                let empty = output.is_print && output.rows.is_empty() && output.ret.is_none();
                replies.extend(output.rows.into_iter().map(|row| reply(ReplyKind::Re, tag, row)));
                if empty && self.shared.config.empty_replies {
                    replies.push(reply(ReplyKind::Empty, tag, Vec::new()));
                }
                let ret = output.ret.map(|r| vec![("ret".to_string(), r)]).unwrap_or_default();
                replies.push(reply(ReplyKind::Done, tag, ret));
            }
            Err(Failure(message)) => {
                replies.push(reply(ReplyKind::Trap, tag, vec![("message".to_string(), message)]));
                replies.push(reply(ReplyKind::Done, tag, Vec::new()));
            }
        }
        let due = Instant::now() + *self.shared.delay.lock().expect("delay lock");
        let bytes = encode(&replies, self.shared.config.tag_first);
        let _ = self.outbox.send(Outgoing::Replies { due, tag: request.tag.clone(), bytes });
    }
}
