//! Third-party clients against the RouterOS API emulator: `tests/peers/routeros_peers.py`
//! drives it with librouteros 4.2.2 and RouterOS-api 0.21.0 from PyPI, once per mode. This
//! shows the emulator speaks the protocol real clients speak, not only our own codec.
//!
//! Needs `JASIYO_PYTHON` (a Python with both packages). Without it the tests print
//! `SKIPPED` and pass, unless `JASIYO_REQUIRE_PEERS=1`, which turns a skip into a failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use tokio::process::Command;

/// The Python interpreter to use, or `None` to skip.
fn python() -> Option<String> {
    match std::env::var("JASIYO_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var("JASIYO_REQUIRE_PEERS").as_deref() == Ok("1") => {
            panic!("JASIYO_REQUIRE_PEERS=1 but JASIYO_PYTHON is not set")
        }
        _ => {
            println!("SKIPPED: set JASIYO_PYTHON to a Python with librouteros==4.2.2 and RouterOS-api==0.21.0");
            None
        }
    }
}

/// Starts an emulator in `config` and runs the peer script against it in `mode`.
async fn run_peers(mode: &str, config: EmulatorConfig) {
    let Some(python) = python() else { return };
    let config = EmulatorConfig { profiles: vec!["default".into(), "1h".into()], ..config };
    let emulator = RouterOsEmulator::start(config).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/routeros_peers.py");
    let child = Command::new(&python)
        .arg(&script)
        .args(["--port", &emulator.addr().port().to_string(), "--mode", mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("peer script timed out")
        .expect("peer script output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "peer script failed in mode {mode} ({}):\n{stdout}\n{stderr}", output.status);
    // The clients really talked to this emulator, and cleaned up after themselves.
    let log = emulator.command_log();
    for command in ["/ip/hotspot/user/add", "/ip/hotspot/user/print", "/ip/hotspot/user/remove", "/system/resource/print"] {
        assert!(log.iter().any(|c| c == command), "{command} never ran in mode {mode}: {log:?}");
    }
    assert!(emulator.users().is_empty(), "users left behind: {:?}", emulator.users());
    emulator.stop().await;
}

#[tokio::test]
async fn plain_login_with_empty_replies() {
    run_peers("plain", EmulatorConfig::default()).await;
}

#[tokio::test]
async fn legacy_md5_login() {
    run_peers("legacy", EmulatorConfig { legacy_login: true, ..EmulatorConfig::default() }).await;
}

#[tokio::test]
async fn without_empty_replies() {
    run_peers("no-empty", EmulatorConfig { empty_replies: false, ..EmulatorConfig::default() }).await;
}

#[tokio::test]
async fn tag_first() {
    run_peers("tag-first", EmulatorConfig { tag_first: true, ..EmulatorConfig::default() }).await;
}
