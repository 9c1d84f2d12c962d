//! The cloud under test: one child process (started, restarted on its address, stopped),
//! or, with `--cluster N`, N instances on one PostgreSQL behind HAProxy started by
//! `scripts/cluster` (agents connect through the balancer; the operator API is asked on
//! each instance in turn, so most commands are enqueued on an instance other than the one
//! holding their agent's link). Its processes' numbers are summed, and its logs summed up.

use jasiyo_tests::cluster::Cluster;

use super::*;

/// How long the cloud may take to write its ready file.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The cloud under test.
pub struct Cloud {
    run: Running,
    /// Where agents connect: the cloud, or the balancer.
    pub addr: SocketAddr,
    /// The cloud's processes (each instance of a cluster).
    pub pids: Vec<u32>,
    /// The balancer's process, for a cluster.
    pub balancer_pid: Option<u32>,
    /// Where the operator API is asked, in turn.
    pub api_addrs: Vec<SocketAddr>,
    /// The cloud's log files.
    pub logs: Vec<PathBuf>,
}

/// How the cloud runs.
enum Running {
    /// One process, and how it was started, to start it again.
    One { child: Child, bin: PathBuf, database_url: String, dir: PathBuf, heartbeat_secs: u64 },
    /// Instances behind HAProxy.
    Cluster(Cluster),
}

impl Cloud {
    pub(crate) async fn start(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64) -> anyhow::Result<Cloud> {
        Cloud::start_on(bin, database_url, dir, heartbeat_secs, "127.0.0.1:0").await
    }

    /// `scripts/cluster start --instances n` with `bin`'s directory's binaries, on
    /// `database_url` (PostgreSQL).
    pub(crate) async fn start_cluster(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64, n: usize) -> anyhow::Result<Cloud> {
        if !database_url.starts_with("postgres") {
            bail!("--cluster needs a PostgreSQL --database-url");
        }
        let heartbeat = heartbeat_secs.to_string();
        let bin_dir = bin.parent().context("the cloud binary's directory")?.display().to_string();
        let env = [("JASIYO_HEARTBEAT_SECS", heartbeat.as_str()), ("RUST_LOG", "warn"), ("JASIYO_BIN_DIR", bin_dir.as_str())];
        let cluster = Cluster::start(&dir.join("cluster"), database_url, n, &env).await;
        let mut pids = cluster.pids();
        let balancer_pid = pids.pop();
        let api_addrs = cluster.instances.iter().map(|a| a.parse()).collect::<Result<Vec<SocketAddr>, _>>()?;
        let logs = (1..=n).map(|i| dir.join("cluster").join(format!("cloud{i}.log"))).collect();
        let addr = cluster.balancer.parse()?;
        Ok(Cloud { run: Running::Cluster(cluster), addr, pids, balancer_pid, api_addrs, logs })
    }

    /// The one process's id (a cluster's first instance's).
    pub fn pid(&self) -> u32 {
        self.pids[0]
    }

    /// Resident memory of all the cloud's processes, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.pids.iter().map(|&pid| proc_stats::rss_kib(pid)).sum()
    }

    /// CPU ticks of all the cloud's processes.
    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        self.pids.iter().map(|&pid| proc_stats::cpu_ticks(pid)).sum()
    }

    /// A `/proc/PID/status` field of each process, joined with ` + `.
    pub fn status_field(&self, name: &str) -> String {
        let values: Vec<String> = self.pids.iter().map(|&pid| proc_stats::status_field(pid, name).unwrap_or_default()).collect();
        values.join(" + ")
    }

    /// Open file descriptors of all the cloud's processes.
    pub fn open_fds(&self) -> usize {
        self.pids.iter().map(|&pid| proc_stats::open_fds(pid).unwrap_or(0)).sum()
    }

    /// SIGKILLs it and starts it again on the same address (its log goes on in the same file).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let Running::One { child, bin, database_url, dir, heartbeat_secs } = &mut self.run else {
            bail!("--restart is for one cloud process, not a cluster");
        };
        child.kill().await?;
        let _ = std::fs::remove_file(dir.join("addr"));
        let listen = self.addr.to_string();
        let (bin, database_url, dir, heartbeat_secs) = (bin.clone(), database_url.clone(), dir.clone(), *heartbeat_secs);
        *self = Cloud::start_on(&bin, &database_url, &dir, heartbeat_secs, &listen).await?;
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
        let run = Running::One { child, bin, database_url, dir, heartbeat_secs };
        Ok(Cloud { run, addr, pids: vec![pid], balancer_pid: None, api_addrs: vec![addr], logs: vec![log] })
    }

    /// SIGTERM, then waits (SIGKILL after 30 s); returns how long it took to exit. A
    /// cluster: `scripts/cluster stop`.
    pub(crate) async fn stop(self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let pid = self.pid();
        let mut child = match self.run {
            Running::One { child, .. } => child,
            Running::Cluster(cluster) => {
                cluster.run(&["stop"]).await;
                return Ok(started.elapsed());
            }
        };
        // `kill` rather than libc: this crate forbids unsafe code.
        let sent = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
        if !sent.success() {
            bail!("could not send SIGTERM to the cloud (pid {pid})");
        }
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    println!("cloud exited with {status}");
                }
            }
            Err(_) => {
                println!("cloud still running 30 s after SIGTERM: killing it");
                child.kill().await?;
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

/// Counts WARN and ERROR lines in the cloud's logs and shows the commonest messages.
pub(crate) fn cloud_log_summary(paths: &[PathBuf]) -> String {
    let text: String = paths.iter().map(|path| std::fs::read_to_string(path).unwrap_or_default()).collect();
    let mut by_message: BTreeMap<String, usize> = BTreeMap::new();
    let (mut warns, mut errors) = (0, 0);
    for line in text.lines() {
        let json: Option<serde_json::Value> = line.starts_with('{').then(|| serde_json::from_str(line).ok()).flatten();
        let line = match &json {
            // `--log-format json` (a cluster's instances): the level and message as text.
            Some(v) => &format!(
                "{} {}",
                v["level"].as_str().unwrap_or(""),
                v["message"].as_str().or(v["fields"]["message"].as_str()).unwrap_or("")
            ),
            None => line,
        };
        let level = if line.contains(" WARN ") || line.starts_with("WARN ") {
            warns += 1;
            "WARN"
        } else if line.contains("ERROR ") || line.starts_with("ERROR ") {
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
