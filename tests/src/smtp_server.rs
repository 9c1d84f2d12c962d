//! A small SMTP server for tests: it speaks the protocol a mail client (the cloud's, lettre)
//! speaks to a plain relay (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps
//! every message it accepts, and hands them to the test as they arrive. No TLS and no
//! authentication: like a relay on the same machine.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope's sender.
    pub from: String,
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The message (headers and body) with dot-stuffing undone.
    pub data: String,
}

impl ReceivedMail {
    /// The message as a mail client shows it: quoted-printable undone when the message says
    /// it is so encoded (soft line breaks joined, `=XX` decoded).
    pub fn text(&self) -> String {
        if !self.data.to_ascii_lowercase().contains("content-transfer-encoding: quoted-printable") {
            return self.data.clone();
        }
        let joined = self.data.replace("=\n", "");
        let mut out = Vec::with_capacity(joined.len());
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A running server.
pub struct SmtpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    received: mpsc::UnboundedReceiver<ReceivedMail>,
}

impl SmtpServer {
    /// Starts a server on an ephemeral loopback port.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP server");
        let addr = listener.local_addr().expect("bound");
        let (sender, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, sender.clone()));
            }
        });
        SmtpServer { addr, received }
    }

    /// `smtp://127.0.0.1:<port>`, for `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// A message already accepted and not yet taken, if any (without waiting).
    pub fn try_next_mail(&mut self) -> Option<ReceivedMail> {
        self.received.try_recv().ok()
    }

    /// The next message accepted, or `None` after `within`.
    pub async fn next_mail(&mut self, within: Duration) -> Option<ReceivedMail> {
        tokio::time::timeout(within, self.received.recv()).await.ok().flatten()
    }
}

/// The address inside `MAIL FROM:<a@b>` / `RCPT TO:<a@b>`.
fn address(argument: &str) -> String {
    argument.split_once(':').map(|(_, a)| a).unwrap_or("").trim().trim_start_matches('<').split('>').next().unwrap_or("").to_string()
}

async fn session(stream: TcpStream, sender: mpsc::UnboundedSender<ReceivedMail>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut from = String::new();
    let mut to = Vec::new();
    if write.write_all(b"220 jasiyo-test-smtp ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-jasiyo-test-smtp\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                from = address(&line);
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&line));
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "DATA" if !to.is_empty() => {
                if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                    data.push('\n');
                }
                let _ = sender.send(ReceivedMail { from: from.clone(), to: std::mem::take(&mut to), data });
                b"250 OK: queued\r\n"
            }
            "DATA" => b"503 RCPT first\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
