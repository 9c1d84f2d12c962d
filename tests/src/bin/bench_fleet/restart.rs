//! `--restart`: in the middle of the bench (after the idle phase), the cloud is SIGKILLed
//! and started again on the same address and database, and the bench waits until every
//! agent that was connected has been welcomed again. The agents reconnect as the real one
//! does (its reconnect policy, the first try spread, a 503's `Retry-After` honoured), so the
//! time measured is the fleet's comeback without a thundering herd: how long from the kill
//! and from the new cloud's ready file to the last agent back, the spread of the comebacks,
//! and how many upgrades the cloud deferred with 503.

use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

use crate::cloud::Cloud;
use crate::fleet::Fleet;
use crate::proc_stats;
use crate::unix_us;

/// What the restart showed.
#[derive(Debug, Default)]
pub struct Restart {
    /// Agents expected back (connected before the kill).
    pub expected: usize,
    /// Agents back.
    pub back: usize,
    /// From the kill to the new cloud's ready file.
    pub down_secs: f64,
    /// From the ready file to each agent back, sorted (seconds).
    pub back_after_secs: Vec<f64>,
    /// Upgrades answered with 503, over all agents.
    pub busy_answers: usize,
    /// CPU seconds the new cloud (from its start) and the bench workers (from the kill)
    /// spent until the last agent was back.
    pub cpu_secs: (f64, f64),
    /// CPU seconds the new cloud spent starting, until its ready file.
    pub cloud_start_cpu_secs: f64,
}

/// Kills the cloud, starts it again, and waits (up to `limit`) for the fleet to come back.
pub async fn run(cloud: &mut Cloud, fleet: &mut Fleet, expected: usize, limit: Duration) -> anyhow::Result<Restart> {
    fleet.drain();
    fleet.state.back.clear();
    fleet.state.busy_answers = 0;
    println!("killing the cloud (SIGKILL) with {expected} agents connected, and starting it again...");
    let workers_before = proc_stats::cpu_ticks_sum(&fleet.pids());
    let killed = Instant::now();
    cloud.restart().await?;
    let ready_us = unix_us();
    let down_secs = killed.elapsed().as_secs_f64();
    let hz = proc_stats::clock_ticks_per_sec() as f64;
    let cloud_start_cpu_secs = cloud.cpu_ticks()? as f64 / hz;
    println!("cloud pid {} ready again after {down_secs:.2} s; waiting for the agents...", cloud.pid());
    let deadline = Instant::now() + limit;
    let all_back = fleet.pump_until(deadline, |s| s.back.len() >= expected).await?;
    let cpu_secs = (cloud.cpu_ticks()? as f64 / hz, proc_stats::cpu_ticks_sum(&fleet.pids()).saturating_sub(workers_before) as f64 / hz);
    let mut back_after_secs: Vec<f64> = fleet.state.back.values().map(|&at| (at - ready_us).max(0) as f64 / 1e6).collect();
    back_after_secs.sort_by(f64::total_cmp);
    let restart = Restart {
        expected,
        back: back_after_secs.len(),
        down_secs,
        back_after_secs,
        busy_answers: fleet.state.busy_answers,
        cpu_secs,
        cloud_start_cpu_secs,
    };
    if !all_back {
        println!("only {} of {expected} agents back within {limit:?}", restart.back);
    }
    if restart.back == 0 {
        bail!("no agent came back after the restart");
    }
    Ok(restart)
}

impl Restart {
    /// The summary's lines.
    pub fn print(&self) {
        let at = |p: f64| {
            let sorted = &self.back_after_secs;
            sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
        };
        println!(
            "restart            cloud SIGKILLed and ready again in {:.2} s; {} of {} agents back, the last {:.2} s after it was ready \
             (p50 {:.2} s, p99 {:.2} s); {} upgrades deferred with 503 + Retry-After",
            self.down_secs,
            self.back,
            self.expected,
            at(1.0),
            at(0.5),
            at(0.99),
            self.busy_answers
        );
        println!(
            "  back by          p1 {:.2} s, p10 {:.2} s, p25 {:.2} s, p75 {:.2} s, p90 {:.2} s after ready",
            at(0.01),
            at(0.1),
            at(0.25),
            at(0.75),
            at(0.9)
        );
        println!(
            "  CPU meanwhile    cloud {:.2} s (from its start; {:.2} s of it starting), bench workers {:.2} s (from the kill)",
            self.cpu_secs.0, self.cloud_start_cpu_secs, self.cpu_secs.1
        );
    }
}
