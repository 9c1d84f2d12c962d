//! The cloud under test as a child process: started, restarted on its address, stopped,
//! and its log summed up.

use super::*;

/// How long the cloud may take to write its ready file.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The cloud under test, as a child process.
pub struct Cloud {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    pub log: PathBuf,
    /// How it was started, to start it again.
    bin: PathBuf,
    database_url: String,
    dir: PathBuf,
    heartbeat_secs: u64,
}

impl Cloud {
    pub(crate) async fn start(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64) -> anyhow::Result<Cloud> {
        Cloud::start_on(bin, database_url, dir, heartbeat_secs, "127.0.0.1:0").await
    }

    /// SIGKILLs it and starts it again on the same address (its log goes on in the same file).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        let _ = std::fs::remove_file(self.dir.join("addr"));
        let listen = self.addr.to_string();
        *self = Cloud::start_on(&self.bin, &self.database_url, &self.dir, self.heartbeat_secs, &listen).await?;
        Ok(())
    }

    pub(crate) async fn start_on(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64, listen: &str) -> anyhow::Result<Cloud> {
        let ready = dir.join("addr");
        let log = dir.join("cloud.log");
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let mut child = tokio::process::Command::new(bin)
            .arg("--database-url")
            .arg(database_url)
            .arg("--data-dir")
            .arg(dir)
            .args([
                "serve",
                "--listen",
                listen,
                "--allow-unreachable-callbacks",
                "--heartbeat-secs",
                &heartbeat_secs.to_string(),
                "--ready-file",
            ])
            .arg(&ready)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("the cloud exited at once")?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = loop {
            if let Ok(text) = tokio::fs::read_to_string(&ready).await {
                break text.trim().parse().with_context(|| format!("ready file holds {text:?}"))?;
            }
            if let Some(status) = child.try_wait()? {
                bail!("the cloud exited ({status}) before it was ready; its log:\n{}", read_tail(&log, 40));
            }
            if Instant::now() > deadline {
                bail!("the cloud wrote no ready file within {READY_TIMEOUT:?}; its log:\n{}", read_tail(&log, 40));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (bin, database_url, dir) = (bin.to_path_buf(), database_url.to_string(), dir.to_path_buf());
        Ok(Cloud { child, pid, addr, log, bin, database_url, dir, heartbeat_secs })
    }

    /// SIGTERM, then waits (SIGKILL after 30 s); returns how long it took to exit.
    pub(crate) async fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        // `kill` rather than libc: this crate forbids unsafe code.
        let sent = tokio::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await?;
        if !sent.success() {
            bail!("could not send SIGTERM to the cloud (pid {})", self.pid);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    println!("cloud exited with {status}");
                }
            }
            Err(_) => {
                println!("cloud still running 30 s after SIGTERM: killing it");
                self.child.kill().await?;
            }
        }
        Ok(started.elapsed())
    }
}

pub(crate) fn read_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Counts WARN and ERROR lines in the cloud's log and shows the commonest messages.
pub(crate) fn cloud_log_summary(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut by_message: BTreeMap<String, usize> = BTreeMap::new();
    let (mut warns, mut errors) = (0, 0);
    for line in text.lines() {
        let level = if line.contains(" WARN ") {
            warns += 1;
            "WARN"
        } else if line.contains("ERROR ") {
            errors += 1;
            "ERROR"
        } else {
            continue;
        };
        // Drop the timestamp and the per-router span so equal messages group together.
        let message = line.split_once(level).map_or(line, |(_, rest)| rest).trim();
        let message = match (message.find("agent{"), message.find("}: ")) {
            (Some(start), Some(end)) if start < end => {
                format!("{}agent{{..}}{}", &message[..start], &message[end + 1..])
            }
            _ => message.to_string(),
        };
        *by_message.entry(format!("{level} {message}")).or_default() += 1;
    }
    let mut common: Vec<(String, usize)> = by_message.into_iter().collect();
    common.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let mut out = format!("{warns} WARN, {errors} ERROR lines");
    for (message, count) in common.iter().take(6) {
        out.push_str(&format!("\n    {count:>6} x {}", shorten(message, 150)));
    }
    out
}

pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
