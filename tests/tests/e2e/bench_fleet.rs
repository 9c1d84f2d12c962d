//! `bench-fleet --restart` (the debug build, a small fleet on SQLite): the cloud is SIGKILLed
//! with every agent connected and started again, every agent comes back (reconnecting as the
//! real agent does), commands then reach them, and the CPU of both phases is reported.

/// The restart phase end to end, with the workers niced as `--worker-nice` allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_fleet_restart_brings_every_agent_back() {
    let out = tokio::process::Command::new(jasiyo_tests::processes::binary("bench-fleet"))
        .args(["--agents", "40", "--commands", "20", "--idle-secs", "1", "--restart", "--worker-nice", "5"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench-fleet --restart:\n{text}");
    assert!(text.contains("agents             40 connected of 40 (0 failed)"), "{text}");
    assert!(text.contains("40 of 40 agents back"), "{text}");
    assert!(text.contains("20 posted, 0 refused, 20 delivered, 0 lost"), "{text}");
    assert_eq!(text.matches("CPU meanwhile    cloud").count(), 2, "both phases' CPU: {text}");
}
