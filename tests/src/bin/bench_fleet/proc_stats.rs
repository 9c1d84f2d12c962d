//! What `/proc` says about a process: memory, CPU ticks, threads, open files.

use super::*;

/// Resident set size (`VmRSS`) in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let value = status_field(pid, "VmRSS")?;
    value.split_whitespace().next().and_then(|v| v.parse().ok()).with_context(|| format!("VmRSS {value:?}"))
}

/// One `Name:` field of `/proc/PID/status`, trimmed.
pub fn status_field(pid: u32, name: &str) -> anyhow::Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("no {name} in /proc/{pid}/status"))
}

/// User plus system CPU time, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name: state is the first, utime the 12th.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed stat");
    Ok(field(11)? + field(12)?)
}

/// The sum over several processes (missing ones count as zero).
pub fn cpu_ticks_sum(pids: &[u32]) -> u64 {
    pids.iter().map(|&pid| cpu_ticks(pid).unwrap_or(0)).sum()
}

/// `getconf CLK_TCK` (100 on every Linux we know).
pub fn clock_ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// The soft open-file limit of `pid` (`self` for this process).
pub fn nofile_limit(pid: &str) -> anyhow::Result<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let line = limits.lines().find(|l| l.starts_with("Max open files")).context("no open-file limit")?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next().unwrap_or("");
    Ok(if soft == "unlimited" { u64::MAX } else { soft.parse()? })
}
