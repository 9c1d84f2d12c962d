//! The bench's summary, printed with its verdicts.

use super::bench::Summary;
use super::cloud::shorten;
use super::*;

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Summary {
    pub(crate) fn print(&mut self, args: &BenchArgs, cloud_bin: &Path, database_url: &str) {
        let backend = database_url.split(':').next().unwrap_or("?");
        let line = "=".repeat(78);
        println!("\n{line}\nbench-fleet summary\n{line}");
        println!("cloud              {} ({backend}, heartbeat {} s)", cloud_bin.display(), args.heartbeat_secs);
        if let Some(n) = args.cluster {
            println!(
                "cluster            {n} instances behind HAProxy (scripts/cluster); agents through the balancer, API requests \
                 on each instance in turn; memory, CPU and fds below are the instances' sums"
            );
        }
        println!(
            "open-file limit    {} per process; agents in {} worker process(es) of up to {}",
            self.nofile, self.workers, self.per_worker
        );
        let failed = args.agents - self.connected;
        let target = if args.agents < 20_000 { "n/a (fleet smaller than the target)" } else { verdict(self.connected >= 20_000) };
        println!(
            "agents             {} connected of {} ({failed} failed)        target 20,000 connected: {target}",
            self.connected, args.agents,
        );
        for (reason, n) in &self.failures {
            println!("    {n:>6} x {}", shorten(reason, 120));
        }
        println!(
            "connect rate       {:.0} agents/s ({} connected within {:.2} s, {} at a time; every attempt over after {:.2} s)",
            self.connected as f64 / self.connect_ok_secs,
            self.connected,
            self.connect_ok_secs,
            args.connect_concurrency,
            self.connect_secs
        );
        let (cloud_cpu, workers_cpu) = self.connect_cpu_secs;
        println!("  CPU meanwhile    cloud {cloud_cpu:.2} s, bench workers {workers_cpu:.2} s");
        let grown = self.rss_connected_kib.saturating_sub(self.rss_before_kib);
        let per_agent = grown as f64 / self.connected.max(1) as f64;
        println!(
            "cloud RSS          {:.1} MiB before, {:.1} MiB connected (+{:.1} MiB), {:.1} MiB after idling (peak {})",
            mib(self.rss_before_kib),
            mib(self.rss_connected_kib),
            mib(grown),
            mib(self.rss_after_kib),
            self.rss_peak
        );
        println!(
            "memory per agent   {per_agent:.1} KiB (RSS growth / connected agents)     target <= 32 KiB: {}",
            verdict(per_agent <= 32.0)
        );
        println!("cloud process      {} open fds, {} threads once connected", self.cloud_fds, self.cloud_threads);
        println!(
            "idle CPU           cloud {:.2} % of one core over {:.1} s (bench workers {:.2} %)",
            self.idle_cloud_cpu, self.idle_secs, self.idle_worker_cpu
        );
        if let Some(balancer) = self.idle_balancer_cpu {
            println!("                   HAProxy {balancer:.2} % of one core over the same time");
        }
        if let Some(restart) = &self.restart {
            restart.print();
        }
        if args.commands > 0 {
            self.print_commands(args);
        }
        if !self.dropped.is_empty() {
            println!("links dropped after connecting:");
            for (reason, n) in &self.dropped {
                println!("    {n:>6} x {}", shorten(reason, 120));
            }
        }
        match self.online_at_end {
            Some(online) => {
                println!("cloud's own count  {online} routers online (GET /api/v1/routers, at the end)")
            }
            None => println!("cloud's own count  unavailable (GET /api/v1/routers failed)"),
        }
        println!("cloud log          {}", self.cloud_log);
        if let Some(shutdown) = self.shutdown {
            println!("cloud shutdown     {:.2} s after SIGTERM, with {} agents connected", shutdown.as_secs_f64(), self.connected);
        }
        println!("{line}");
    }

    pub(crate) fn print_commands(&mut self, args: &BenchArgs) {
        let refused: usize = self.post_errors.values().sum();
        println!(
            "commands           {} posted, {refused} refused, {} delivered, {} lost, {} unexpected deliveries",
            self.posted,
            self.latencies_ms.len(),
            self.lost,
            self.unexpected_deliveries
        );
        for (error, n) in &self.post_errors {
            println!("    {n:>6} x {}", shorten(error, 120));
        }
        self.latencies_ms.sort_by(f64::total_cmp);
        self.post_rtt_ms.sort_by(f64::total_cmp);
        let l = &self.latencies_ms;
        let p99 = percentile(l, 0.99);
        println!(
            "latency            POST sent -> Deliver received: p50 {:.1} ms, p90 {:.1}, p99 {:.1}, max {:.1}   target p99 < 50 ms: {}",
            percentile(l, 0.5),
            percentile(l, 0.9),
            p99,
            l.last().copied().unwrap_or(f64::NAN),
            verdict(p99 < 50.0 && self.lost == 0 && self.posted == args.commands)
        );
        let r = &self.post_rtt_ms;
        println!(
            "POST round trip    p50 {:.1} ms, p90 {:.1}, p99 {:.1}, max {:.1} ({} in flight)",
            percentile(r, 0.5),
            percentile(r, 0.9),
            percentile(r, 0.99),
            r.last().copied().unwrap_or(f64::NAN),
            args.post_concurrency
        );
        println!(
            "throughput         {:.0} commands/s enqueued ({:.2} s), {:.0} commands/s first POST to last Deliver ({:.2} s)",
            self.posted as f64 / self.post_secs,
            self.post_secs,
            self.latencies_ms.len() as f64 / self.delivery_span_secs,
            self.delivery_span_secs
        );
        println!(
            "cloud CPU          {:.0} % of one core while commands flowed (CPU time / first POST to last Deliver)",
            self.commands_cloud_cpu
        );
    }
}
