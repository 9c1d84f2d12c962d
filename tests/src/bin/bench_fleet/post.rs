//! Commands posted to the operator API over kept-alive connections ([`ApiConn`]), and
//! the routers it shows online.

use super::cloud::shorten;
use super::*;

/// What posting the commands produced.
pub(crate) struct Posted {
    pub(crate) conns: Vec<ApiConn>,
    /// `(router, seq, sent at)` of each command the API accepted.
    pub(crate) sent: Vec<(RouterId, u64, i64)>,
    pub(crate) errors: BTreeMap<String, usize>,
    pub(crate) rtt_ms: Vec<f64>,
    pub(crate) elapsed: Duration,
}

/// Posts `count` commands round-robin over `targets`, one task per API connection.
pub(crate) async fn post_commands(conns: Vec<ApiConn>, targets: Arc<Vec<RouterId>>, count: usize) -> Posted {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, targets) = (next.clone(), targets.clone());
            tokio::spawn(async move {
                let mut out = (Vec::new(), Vec::new(), BTreeMap::<String, usize>::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let router = targets[i % targets.len()];
                    match post_one(&mut conn, router, i).await {
                        Ok((seq, sent_at, rtt)) => {
                            out.0.push((router, seq, sent_at));
                            out.1.push(rtt);
                        }
                        Err(error) => *out.2.entry(format!("{error:#}")).or_default() += 1,
                    }
                }
                (conn, out)
            })
        })
        .collect();
    let mut posted = Posted { conns: Vec::new(), sent: Vec::new(), errors: BTreeMap::new(), rtt_ms: Vec::new(), elapsed: Duration::ZERO };
    for task in tasks {
        let (conn, (sent, rtt, errors)) = task.await.expect("poster task panicked");
        posted.conns.push(conn);
        posted.sent.extend(sent);
        posted.rtt_ms.extend(rtt);
        for (error, n) in errors {
            *posted.errors.entry(error).or_default() += n;
        }
    }
    posted.elapsed = started.elapsed();
    posted
}

/// Posts one command; returns its sequence number, when it was sent and the round trip.
pub(crate) async fn post_one(conn: &mut ApiConn, router: RouterId, i: usize) -> anyhow::Result<(u64, i64, f64)> {
    let command = jasiyo_shared::Command::RemoveHotspotUser { name: format!("bench-{i}") };
    let body = serde_json::to_string(&command)?;
    let path = format!("/api/v1/routers/{router}/commands");
    let sent_at = unix_us();
    let started = Instant::now();
    let (status, reply) = conn.request("POST", &path, &body).await?;
    let rtt = started.elapsed().as_secs_f64() * 1000.0;
    if status != 201 {
        bail!("HTTP {status}: {}", shorten(&String::from_utf8_lossy(&reply), 100));
    }
    let stored: serde_json::Value = serde_json::from_slice(&reply).context("reading the stored command")?;
    let seq = stored["seq"].as_u64().context("no seq in the reply")?;
    Ok((seq, sent_at, rtt))
}

/// How many routers the cloud itself reports online.
pub(crate) async fn count_online(conn: &mut ApiConn) -> anyhow::Result<usize> {
    let (status, body) = conn.request("GET", "/api/v1/routers", "").await?;
    if status != 200 {
        bail!("HTTP {status}");
    }
    let routers: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
    Ok(routers.iter().filter(|r| r["online"] == serde_json::Value::Bool(true)).count())
}

/// A minimal HTTP/1.1 client over one keep-alive connection, enough for the operator API.
pub(crate) struct ApiConn {
    addr: SocketAddr,
    auth: String,
    stream: Option<BufReader<tokio::net::TcpStream>>,
}

impl ApiConn {
    pub(crate) async fn open(addr: SocketAddr, token: &str) -> anyhow::Result<ApiConn> {
        let mut conn = ApiConn { addr, auth: format!("Bearer {token}"), stream: None };
        conn.reconnect().await?;
        Ok(conn)
    }

    pub(crate) async fn reconnect(&mut self) -> anyhow::Result<()> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.context("connecting to the operator API")?;
        stream.set_nodelay(true)?;
        self.stream = Some(BufReader::new(stream));
        Ok(())
    }

    /// Sends one request and reads the whole response: `(status, body)`. A kept connection
    /// the cloud has closed meanwhile (it closes connections silent for longer than its
    /// header-read timeout, as during the bench's idle phase) is opened again, once.
    pub(crate) async fn request(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let reused = self.stream.is_some();
        match self.request_once(method, path, body).await {
            Err(error) if reused => {
                self.stream = None;
                self.request_once(method, path, body).await.with_context(|| format!("again after {error:#}"))
            }
            other => other,
        }
    }

    async fn request_once(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        if self.stream.is_none() {
            self.reconnect().await?;
        }
        let stream = self.stream.as_mut().expect("connected above");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.addr,
            self.auth,
            body.len()
        );
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the response headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<usize>()?),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value == "close",
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk).await?;
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            stream.read_exact(&mut body).await?;
        } else {
            stream.read_to_end(&mut body).await?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}
