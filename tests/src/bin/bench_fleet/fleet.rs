//! The worker processes that hold the simulated agents, and what they have reported.

use super::*;

/// The worker processes and what they have reported so far.
pub struct Fleet {
    workers: Vec<(Child, ChildStdin)>,
    events: mpsc::UnboundedReceiver<Option<Report>>,
    pub state: FleetState,
}

/// What the workers have reported.
#[derive(Default)]
pub struct FleetState {
    pub connected_reports: usize,
    pub connected: usize,
    pub last_connected_us: i64,
    pub failed: HashSet<usize>,
    pub failure_reasons: BTreeMap<String, usize>,
    pub dropped: BTreeMap<String, usize>,
    pub deliveries: HashMap<(RouterId, u64), i64>,
    pub duplicate_deliveries: usize,
    /// When each agent was last welcomed again after its link ended.
    pub back: HashMap<usize, i64>,
    /// Upgrades answered with 503 before those welcomes.
    pub busy_answers: usize,
}

impl FleetState {
    pub(crate) fn apply(&mut self, report: Report) {
        match report {
            Report::Failed { index, reason } => {
                self.failed.insert(index);
                *self.failure_reasons.entry(reason).or_default() += 1;
            }
            Report::Connected { ok, last_us } => {
                self.connected_reports += 1;
                self.connected += ok;
                self.last_connected_us = self.last_connected_us.max(last_us);
            }
            Report::Delivered { router, seq, at_us } => {
                if self.deliveries.insert((router, seq), at_us).is_some() {
                    self.duplicate_deliveries += 1;
                }
            }
            Report::Dropped { reason, .. } => *self.dropped.entry(reason).or_default() += 1,
            Report::Back { index, at_us, busy } => {
                self.back.insert(index, at_us);
                self.busy_answers += busy;
            }
        }
    }
}

impl Fleet {
    /// Starts the workers and hands each its agents (agent `i` to worker `i % count`, so
    /// consecutive routers, and so the commands, are spread over all workers).
    pub(crate) async fn spawn(args: &BenchArgs, cloud: SocketAddr, agents: &[AgentCred], count: usize) -> anyhow::Result<Fleet> {
        let exe = std::env::current_exe()?;
        let (tx, events) = mpsc::unbounded_channel();
        let mut workers = Vec::new();
        for w in 0..count {
            let mut command = tokio::process::Command::new("nice");
            command.arg("-n").arg(args.worker_nice.to_string()).arg(&exe);
            let mut child = command
                .arg("worker")
                .arg("--cloud")
                .arg(cloud.to_string())
                .arg("--connect-concurrency")
                .arg(args.connect_concurrency.div_ceil(count).max(1).to_string())
                .arg("--source-addrs")
                .arg(args.source_addrs.to_string())
                .args(args.restart.then_some("--reconnect"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .context("starting a worker")?;
            let mut stdin = child.stdin.take().expect("piped");
            let stdout = child.stdout.take().expect("piped");
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match Report::parse(&line) {
                        Some(report) => {
                            let _ = tx.send(Some(report));
                        }
                        None => eprintln!("worker {w}: unreadable report {line:?}"),
                    }
                }
                let _ = tx.send(None);
            });
            let mut batch = String::new();
            for agent in agents.iter().skip(w).step_by(count) {
                batch.push_str(&agent.to_line());
            }
            stdin.write_all(batch.as_bytes()).await.context("handing agents to a worker")?;
            workers.push((child, stdin));
        }
        Ok(Fleet { workers, events, state: FleetState::default() })
    }

    pub(crate) async fn start_connecting(&mut self) -> anyhow::Result<()> {
        for (_, stdin) in &mut self.workers {
            stdin.write_all(b"connect\n").await?;
            stdin.flush().await?;
        }
        Ok(())
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.workers.iter().filter_map(|(child, _)| child.id()).collect()
    }

    /// Applies reports until `done` holds (true) or `deadline` passes (false).
    pub async fn pump_until(&mut self, deadline: Instant, done: impl Fn(&FleetState) -> bool) -> anyhow::Result<bool> {
        while !done(&self.state) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => return Ok(false),
                Ok(Some(Some(report))) => self.state.apply(report),
                Ok(Some(None)) | Ok(None) => bail!("a worker exited during the bench (see its output above)"),
            }
        }
        Ok(true)
    }

    /// Applies the reports already received.
    pub fn drain(&mut self) {
        while let Ok(Some(report)) = self.events.try_recv() {
            self.state.apply(report);
        }
    }

    pub(crate) async fn stop(mut self) {
        for (child, stdin) in &mut self.workers {
            let _ = stdin.write_all(b"stop\n").await;
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }
}
