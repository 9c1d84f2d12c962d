//! The real `jasiyo-cloud` and `jasiyo-agent` binaries as child processes, for tests that
//! kill them, and the start of the emulators' processes ([`spawn_emulator`]). The binaries
//! must be built first (`cargo build --bins`, part of the README's
//! test command); they are looked up next to the test executable.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};
use tokio::time::Instant;

use crate::harness::{RouterCreds, WAIT};

/// Path of a workspace binary in the same target directory as the running test or binary.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let beside = exe.parent().expect("exe dir").join(name);
    // A binary of this crate (target/<profile>/chaos) finds its siblings beside it; a test,
    // target/<profile>/deps/<test>, one level up.
    let path = if beside.exists() { beside } else { exe.parent().and_then(Path::parent).expect("target dir").join(name) };
    assert!(path.exists(), "{} is missing: run `cargo build --bins` before the tests", path.display());
    path
}

/// Starts the emulator binary `name` with `args`, and reads from its banner the address
/// after each of `prefixes`, in that order (other lines are skipped, an `http://` dropped),
/// within [`WAIT`]. The rest of its output is drained; its standard error is shown only with
/// `JASIYO_TEST_VERBOSE`. Dropping the child kills it.
pub async fn spawn_emulator<const N: usize>(
    name: &str,
    args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    prefixes: [&str; N],
) -> anyhow::Result<(Child, [SocketAddr; N])> {
    let verbose = std::env::var_os("JASIYO_TEST_VERBOSE").is_some();
    let mut child = Command::new(binary(name))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if verbose { Stdio::inherit() } else { Stdio::null() })
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {name}"))?;
    let mut lines = BufReader::new(child.stdout.take().context("its standard output")?).lines();
    let deadline = Instant::now() + WAIT;
    let mut addrs = [SocketAddr::from(([0, 0, 0, 0], 0)); N];
    for (addr, prefix) in addrs.iter_mut().zip(prefixes) {
        *addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = tokio::time::timeout(left, lines.next_line()).await.with_context(|| format!("{name} printed no {prefix:?}"))??;
            let line = line.with_context(|| format!("{name} exited before starting"))?;
            if let Some(rest) = line.strip_prefix(prefix) {
                let rest = rest.trim();
                break rest.strip_prefix("http://").unwrap_or(rest).parse().with_context(|| format!("{name}: {line:?}"))?;
            }
        };
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addrs))
}

/// A `jasiyo-cloud serve` process.
pub struct CloudProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves `/metrics`, when started with `--metrics-listen`.
    pub metrics_addr: Option<SocketAddr>,
    /// Every line it wrote to standard error so far.
    log: Arc<Mutex<Vec<String>>>,
    /// Told of each line added to `log`.
    logged: tokio::sync::watch::Sender<()>,
}

impl CloudProcess {
    /// Starts the cloud on an ephemeral port and waits until it listens.
    pub async fn spawn(database_url: &str, data_dir: &Path) -> CloudProcess {
        CloudProcess::spawn_with(database_url, data_dir, "127.0.0.1:0", &[]).await
    }

    /// Starts the cloud listening on `listen` (an earlier instance's address, for callback
    /// URLs given out before it died), with extra environment variables `envs`, and waits
    /// until it listens.
    pub async fn spawn_with(database_url: &str, data_dir: &Path, listen: &str, envs: &[(&str, &str)]) -> CloudProcess {
        let mut child = Command::new(binary("jasiyo-cloud"))
            .args(["--database-url", database_url, "--data-dir"])
            .arg(data_dir)
            .args(["serve", "--listen", listen, "--heartbeat-secs", "1", "--allow-unreachable-callbacks"])
            .envs(envs.iter().copied())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn jasiyo-cloud");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut metrics_addr = None;
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.lock().unwrap().push(line.clone());
                if line.contains("metrics listening") {
                    metrics_addr = Some(logged_addr(&line));
                }
                if line.contains("cloud listening") {
                    return logged_addr(&line);
                }
            }
            panic!("jasiyo-cloud exited before listening");
        })
        .await
        .expect("jasiyo-cloud did not start listening");
        let logged = tokio::sync::watch::Sender::new(());
        tokio::spawn(keep(lines, log.clone(), Some(logged.clone()), "cloud"));
        CloudProcess { child, addr, metrics_addr, log, logged }
    }

    /// Every line it wrote to standard error so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to [`WAIT`]) until a line it wrote contains `needle`: what the cloud logs
    /// after the event a test waited on (an agent's result logged after the router changed).
    pub async fn until_logged(&self, needle: &str) {
        let mut logged = self.logged.subscribe();
        let found = async {
            while !self.log.lock().unwrap().iter().any(|line| line.contains(needle)) {
                logged.changed().await.expect("the log is kept while the process is");
            }
        };
        tokio::time::timeout(WAIT, found).await.unwrap_or_else(|_| panic!("the cloud never logged {needle:?}"));
    }

    /// `ws://` base URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Stops it with SIGKILL.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A `jasiyo-agent run` process whose log lines the test reads as events.
pub struct AgentProcess {
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
}

impl AgentProcess {
    /// Starts an agent (logging executor) for `creds`.
    pub fn spawn(cloud_url: &str, creds: &RouterCreds, data_dir: &Path) -> AgentProcess {
        let mut command = Command::new(binary("jasiyo-agent"));
        command
            .arg("run")
            .args(["--cloud-url", cloud_url, "--router-id", &creds.id.to_string(), "--data-dir"])
            .arg(data_dir)
            .env("JASIYO_TOKEN", &creds.token);
        AgentProcess::start(command)
    }

    /// [`AgentProcess::spawn`] with extra environment variables (`JASIYO_ROUTEROS_ADDR`...).
    pub fn spawn_with(cloud_url: &str, creds: &RouterCreds, data_dir: &Path, envs: &[(&str, &str)]) -> AgentProcess {
        let mut command = Command::new(binary("jasiyo-agent"));
        command
            .arg("run")
            .args(["--cloud-url", cloud_url, "--router-id", &creds.id.to_string(), "--data-dir"])
            .arg(data_dir)
            .env("JASIYO_TOKEN", &creds.token)
            .envs(envs.iter().copied());
        AgentProcess::start(command)
    }

    /// Starts an agent for `creds` driving the RouterOS API at `routeros` (the emulator's
    /// default `admin`/`secret` login), with its production reconnect policy.
    pub fn spawn_routeros(cloud_url: &str, creds: &RouterCreds, data_dir: &Path, routeros: SocketAddr) -> AgentProcess {
        let addr = routeros.to_string();
        let envs = [("JASIYO_ROUTEROS_ADDR", addr.as_str()), ("JASIYO_ROUTEROS_USER", "admin"), ("JASIYO_ROUTEROS_PASSWORD", "secret")];
        AgentProcess::spawn_with(cloud_url, creds, data_dir, &envs)
    }

    /// Starts `jasiyo-agent run` with nothing but `JASIYO_ENV_FILE=env_file` (and logging) in
    /// its environment.
    pub fn spawn_from_env_file(env_file: &Path) -> AgentProcess {
        let mut command = Command::new(binary("jasiyo-agent"));
        command.arg("run").env_clear().env("JASIYO_ENV_FILE", env_file);
        AgentProcess::start(command)
    }

    /// Runs `command` with logging on, its log read as events.
    fn start(mut command: Command) -> AgentProcess {
        let mut child = command
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn jasiyo-agent");
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        AgentProcess { child, lines }
    }

    /// The agent's next log line, or `None` once it has exited.
    pub async fn next_line(&mut self) -> Option<String> {
        self.lines.next_line().await.ok().flatten()
    }

    /// SIGKILL, no warning, no flush.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Keeps reading its output in the background into the returned list, and hands back
    /// the process.
    pub fn keep_output(self) -> (Child, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(keep(self.lines, log.clone(), None, "agent"));
        (self.child, log)
    }

    /// Keeps reading its output in the background (so it never blocks on a full pipe)
    /// and hands back the process.
    pub fn detach_output(self) -> Child {
        tokio::spawn(drain(self.lines, "agent"));
        self.child
    }
}

/// The `addr` field of a log line, as text (`addr=...`) or JSON (`"addr":"..."`).
fn logged_addr(line: &str) -> SocketAddr {
    let text = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(json) => json["addr"].as_str().map(str::to_string),
        Err(_) => line.split("addr=").nth(1).map(|rest| rest.split_whitespace().next().unwrap_or("").to_string()),
    };
    text.and_then(|addr| addr.parse().ok()).unwrap_or_else(|| panic!("no address in log line {line}"))
}

/// Reads a process's output to the end into `log` (so it never blocks on a full pipe).
/// Keeps every line in `log`, telling `logged` (if any) of each.
async fn keep<R: tokio::io::AsyncBufRead + Unpin>(
    mut lines: Lines<R>,
    log: Arc<Mutex<Vec<String>>>,
    logged: Option<tokio::sync::watch::Sender<()>>,
    who: &'static str,
) {
    let verbose = std::env::var_os("JASIYO_TEST_VERBOSE").is_some();
    while let Ok(Some(line)) = lines.next_line().await {
        if verbose {
            eprintln!("[{who}] {line}");
        }
        log.lock().unwrap().push(line);
        if let Some(logged) = &logged {
            logged.send_replace(());
        }
    }
}

async fn drain<R: tokio::io::AsyncBufRead + Unpin>(mut lines: Lines<R>, who: &'static str) {
    let verbose = std::env::var_os("JASIYO_TEST_VERBOSE").is_some();
    while let Ok(Some(line)) = lines.next_line().await {
        if verbose {
            eprintln!("[{who}] {line}");
        }
    }
}
