//! The metrics and deploy/ with the real consumers: Debian's `prometheus` scrapes a cloud
//! during a payment and its HTTP API answers for the payment counter and the approval
//! latency histogram, and for every query of the Grafana dashboard; `promtool` checks the
//! alert rules and runs their unit tests. Without the tools the tests are skipped loudly,
//! or fail where `JASIYO_REQUIRE_PROMETHEUS=1` (CI, which installs them).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::Value;

use crate::payments::shop_with;

/// The tool `name` on the PATH, or `None` (after saying so, or failing where it is required).
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|dir| dir.join(name)).find(|p| p.is_file());
    if found.is_none() {
        assert!(std::env::var("JASIYO_REQUIRE_PROMETHEUS").as_deref() != Ok("1"), "{name} is required here but not installed");
        eprintln!("SKIPPED: {name} is not installed (apt-get install prometheus; JASIYO_REQUIRE_PROMETHEUS=1 makes this a failure)");
    }
    found
}

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[tokio::test]
async fn the_alert_rules_pass_promtool() {
    let Some(promtool) = tool("promtool") else { return };
    let dir = deploy().join("prometheus");
    for args in [["check", "rules", "jasiyo-alerts.yml"], ["test", "rules", "jasiyo-alerts.test.yml"]] {
        let output = tokio::process::Command::new(&promtool).args(args).current_dir(&dir).output().await.unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success() && said.contains("SUCCESS"), "promtool {args:?}: {said}");
    }
}

/// A port free now (Prometheus cannot say which port it took for `:0`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Asks Prometheus at `base` for `query` until `check` holds on its answer's `data`.
async fn until_answer(base: &str, query: &str, check: impl Fn(&Value) -> bool) -> Value {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    let mut last = Value::Null;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/api/v1/query")).query(&[("query", query)]).send().await
            && let Ok(body) = response.json::<Value>().await
        {
            if body["status"] == "success" && check(&body["data"]) {
                return body["data"].clone();
            }
            last = body;
        }
        // Prometheus scrapes on its own schedule: look again shortly.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("Prometheus never answered {query} as expected; last: {last}");
}

/// The first sample's value of an instant vector.
fn first_value(data: &Value) -> Option<f64> {
    data["result"].get(0)?["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_a_payment() {
    let Some(prometheus) = tool("prometheus") else { return };
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    let s = shop_with(world, ProviderKind::Daraja, |_| {}).await;
    let dir = tempfile::TempDir::new().unwrap();
    let config = dir.path().join("prometheus.yml");
    let rules = deploy().join("prometheus/jasiyo-alerts.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: jasiyo\n    static_configs:\n      - targets: ['{}']\n",
            rules.display(),
            s.cloud.metrics_addr
        ),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    until_answer(&base, r#"up{job="jasiyo"}"#, |d| first_value(d) == Some(1.0)).await;

    let (id, reference) = s.pay("0712 345 678").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    s.until_view(id, "online", |v| v["stage"] == "online").await;

    let paid = r#"jasiyo_payments_total{provider="daraja",outcome="paid"}"#;
    until_answer(&base, paid, |d| first_value(d) == Some(1.0)).await;
    let count = r#"jasiyo_payment_initiate_to_callback_seconds_count{provider="daraja"}"#;
    until_answer(&base, count, |d| first_value(d) == Some(1.0)).await;
    let median = r#"histogram_quantile(0.5, sum by (le) (jasiyo_payment_initiate_to_callback_seconds_bucket))"#;
    let data = until_answer(&base, median, |d| first_value(d).is_some_and(f64::is_finite)).await;
    assert!(first_value(&data).unwrap() > 0.0, "{data}");

    // Every query of the Grafana dashboard is one Prometheus takes.
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(deploy().join("grafana/jasiyo-dashboard.json")).unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| {
            panel["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap().replace("$__rate_interval", "1m"))
        })
        .collect();
    assert!(exprs.len() >= 15);
    for expr in &exprs {
        until_answer(&base, expr, |_| true).await;
    }
    // The alert rules are loaded and evaluate.
    let rules: Value = reqwest::get(format!("{base}/api/v1/rules")).await.unwrap().json().await.unwrap();
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "jasiyo", "{rules}");
    assert!(group["rules"].as_array().unwrap().len() >= 7, "{rules}");
    s.stop().await;
}
