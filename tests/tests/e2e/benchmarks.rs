//! The benchmarks' machine reference: `scripts/machine-reference` run as a real process, and
//! the ratios `scripts/lib/reference.sh` prints from its figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIELDS: [&str; 12] = [
    "cpu",
    "cores",
    "load1",
    "cpu_sha256_mb/s",
    "fsync/s",
    "fsync_dir",
    "fsync_fs",
    "postgres",
    "pgbench_write_tps_c1",
    "pgbench_write_tps_c8",
    "pgbench_select_tps_c1",
    "pgbench_select_tps_c8",
];
/// Always measurable on Linux (the rest may be n/a).
const MACHINE: [&str; 4] = ["cores", "load1", "cpu_sha256_mb/s", "fsync/s"];
const PGBENCH: [&str; 4] = ["pgbench_write_tps_c1", "pgbench_write_tps_c8", "pgbench_select_tps_c1", "pgbench_select_tps_c8"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = Command::new(program).args(args).envs(env.iter().copied()).current_dir(repo()).output().unwrap();
    assert!(output.status.success(), "{program} {args:?}: {}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    output
}

fn machine_reference(args: &[&str], env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let stdout = String::from_utf8(run("scripts/machine-reference", args, env).stdout).unwrap();
    let pairs: Vec<(String, String)> =
        stdout.lines().map(|line| line.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).expect(line)).collect();
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, FIELDS, "{stdout}");
    pairs.into_iter().collect()
}

fn is_number(v: &str) -> bool {
    v.parse::<f64>().is_ok_and(|x| x.is_finite() && x >= 0.0)
}

#[test]
fn machine_reference_prints_every_field() {
    let fields = machine_reference(&["--kv", "--fsync-seconds", "1", "--pgbench-seconds", "1"], &[]);
    assert!(!fields["cpu"].is_empty() && fields["cpu"] != "n/a", "{fields:?}");
    for key in MACHINE {
        assert!(is_number(&fields[key]), "{key} = {} is not a number", fields[key]);
    }
    assert!(fields["cores"].parse::<u32>().unwrap() >= 1);
    assert!(Path::new(&fields["fsync_dir"]).is_dir(), "{fields:?}");
    let postgres_required = std::env::var("JASIYO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    for key in PGBENCH.iter().chain(&["postgres"]) {
        let value = &fields[*key];
        if postgres_required {
            assert!(is_number(value), "JASIYO_REQUIRE_POSTGRES=1 but {key} = {value}");
        } else {
            assert!(is_number(value) || value == "n/a", "{key} = {value}");
        }
    }
    if fields["postgres"] == "n/a" {
        eprintln!("SKIPPED: the PostgreSQL part of machine-reference (no server or no pgbench)");
    }
}

#[test]
fn machine_reference_fails_soft_without_postgres() {
    // Nothing listens on port 1: the PostgreSQL fields are n/a (null), the rest is measured.
    let env = [("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:1/postgres")];
    let out = run("scripts/machine-reference", &["--json", "--fsync-seconds", "0.2"], &env);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let object = json.as_object().unwrap();
    assert_eq!(object.keys().map(String::as_str).collect::<std::collections::BTreeSet<_>>(), FIELDS.into_iter().collect());
    for key in MACHINE {
        assert!(object[key].is_number(), "{key} = {}", object[key]);
    }
    for key in PGBENCH.iter().chain(&["postgres"]) {
        assert!(object[*key].is_null(), "{key} = {} with no server", object[*key]);
    }
    assert!(object["cpu"].is_string() && object["fsync_fs"].is_string(), "{json}");

    // The default form: one greppable line.
    let out = run("scripts/machine-reference", &["--no-postgres", "--fsync-seconds", "0.2"], &[]);
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("reference: cpu=") && line.lines().count() == 1, "{line}");
    for key in FIELDS {
        assert!(line.contains(&format!(" {key}=")), "no {key} in {line}");
    }
    assert!(line.contains(" pgbench_write_tps_c8=n/a"), "{line}");
}

#[test]
fn benchmark_ratios_come_from_the_reference() {
    // Two references (before and after) written by hand; the ratios use their geometric mean.
    let script = r#"
        set -euo pipefail
        source scripts/lib/reference.sh
        trap 'rm -rf "$reference_dir"' EXIT
        printf 'fsync/s=100\npgbench_write_tps_c8=1600\npgbench_write_tps_c1=n/a\n' >"$reference_dir/before"
        printf 'fsync/s=400\npgbench_write_tps_c8=n/a\n' >"$reference_dir/after"
        reference_rate "PostgreSQL throughput" 400 payments/s 1000 pgbench_write_tps_c8
        reference_rate "SQLite throughput" 500 payments/s 100 fsync/s
        reference_time "SQLite p50" 4 fsyncs fsync/s
        reference_time "PostgreSQL p50" 4 "pgbench write transactions" pgbench_write_tps_c1
    "#;
    let out = run("bash", &["-c", script], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "ratio: PostgreSQL throughput: 400 payments/s = 250 per 1000 pgbench_write_tps_c8 (pgbench_write_tps_c8 1600)",
            "ratio: SQLite throughput: 500 payments/s = 250 per 100 fsync/s (fsync/s 100 before, 400 after: geomean 200)",
            "ratio: SQLite p50: 4 ms = 0.8 fsyncs (fsync/s 100 before, 400 after: geomean 200)",
            "ratio: PostgreSQL p50: 4 ms = n/a pgbench write transactions (pgbench_write_tps_c1 n/a)",
        ],
        "{text}"
    );
}
