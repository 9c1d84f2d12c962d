//! `scripts/cluster` as a test drives it: several real `jasiyo-cloud serve` processes on one
//! PostgreSQL database behind a real HAProxy, started, killed and restarted through the
//! script's own commands, as an operator would.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::processes::binary;

/// A running cluster; stopped when dropped.
pub struct Cluster {
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// The balancer's `host:port`.
    pub balancer: String,
    /// Each instance's `host:port`, instance 1 first.
    pub instances: Vec<String>,
}

/// Whether HAProxy is installed; `false` (after a loud skip) when it is not and
/// `JASIYO_REQUIRE_HAPROXY=1` does not demand it.
pub fn haproxy_installed() -> bool {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| dir.join("haproxy").is_file());
    if !found {
        assert!(std::env::var("JASIYO_REQUIRE_HAPROXY").as_deref() != Ok("1"), "haproxy is required here but not installed");
        eprintln!("SKIPPED: haproxy is not installed (apt-get install haproxy; JASIYO_REQUIRE_HAPROXY=1 makes this a failure)");
    }
    found
}

impl Cluster {
    /// `scripts/cluster start --instances n` on `database_url` (which must exist), with its
    /// state and logs in `dir` and `env` passed to every instance (flags as `JASIYO_*`).
    pub async fn start(dir: &Path, database_url: &str, n: usize, env: &[(&str, &str)]) -> Cluster {
        let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        env.push(("JASIYO_CLUSTER_DIR".into(), dir.display().to_string()));
        env.push(("JASIYO_CLUSTER_DATABASE_URL".into(), database_url.into()));
        env.push(("JASIYO_BIN_DIR".into(), binary("jasiyo-cloud").parent().expect("target dir").display().to_string()));
        let mut cluster = Cluster { dir: dir.to_path_buf(), env, balancer: String::new(), instances: Vec::new() };
        let out = cluster.run(&["start", "--instances", &n.to_string()]).await;
        for line in out.lines() {
            if let Some(rest) = line.strip_prefix("balancer: http://") {
                cluster.balancer = rest.split_whitespace().next().unwrap_or_default().to_string();
            }
            if line.starts_with("instance ") {
                cluster.instances.push(line.rsplit("http://").next().unwrap_or_default().to_string());
            }
        }
        assert!(!cluster.balancer.is_empty() && cluster.instances.len() == n, "scripts/cluster start printed:\n{out}");
        cluster
    }

    /// Runs `scripts/cluster args...`; panics with its output unless it succeeds.
    pub async fn run(&self, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster");
        let mut command = Command::new("bash");
        command.arg(script).args(args).stdin(Stdio::null());
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("JASIYO_")) {
            command.env_remove(name);
        }
        let out = command.envs(self.env.iter().map(|(k, v)| (k, v))).output().await.expect("run scripts/cluster");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "scripts/cluster {} failed:\n{text}", args.join(" "));
        text
    }

    /// The log lines instance `n` (1-based) has written so far.
    pub fn log(&self, n: usize) -> Vec<String> {
        std::fs::read_to_string(self.dir.join(format!("cloud{n}.log"))).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The process ids of the instances (instance 1 first) and then of HAProxy, from the
    /// script's state file.
    pub fn pids(&self) -> Vec<u32> {
        let state = std::fs::read_to_string(self.dir.join("state")).unwrap_or_default();
        let pid = |key: &str| state.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok());
        (1..=self.instances.len()).map(|n| format!("pid{n}")).chain(["haproxy_pid".to_string()]).filter_map(|key| pid(&key)).collect()
    }

    /// CPU seconds (user and system) process `pid` has used so far, from `/proc` (whose
    /// counts are in USER_HZ, 100 a second on Linux).
    pub fn cpu_seconds(pid: u32) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at the state, field 3.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    /// How many times each instance's log says `router`'s agent connected, instance 1 first.
    pub fn connections(&self, router: &str) -> Vec<usize> {
        (1..=self.instances.len())
            .map(|n| self.log(n).iter().filter(|l| l.contains("agent connected") && l.contains(router)).count())
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster");
        let _ = std::process::Command::new("bash")
            .arg(script)
            .arg("stop")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
