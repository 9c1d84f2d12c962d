//! The cloud's log as a log pipeline reads it, from the real binaries: a full payment (portal,
//! provider emulator, callback, a `jasiyo-agent` process, the RouterOS emulator) with
//! `JASIYO_LOG_FORMAT=json`. Every line the cloud writes is one JSON object with the stable
//! field names; the request id comes back on the response (a client's own `X-Request-Id` is
//! not believed: it is no trusted proxy) and is on the request's lines; and no line of the
//! cloud's or the agent's names a secret: the router's token, the RouterOS password, the
//! customer's hotspot password, the receipt, the provider's credentials, the callback URL's
//! token, the portal's view key or the sealing key.

use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::processes::{AgentProcess, CloudProcess};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use jasiyo_tests::shop::{daraja_shop, sealing_key_env};
use serde_json::{Value, json};

use crate::metrics::value;

const MAC: &str = "02:AA:BB:CC:DD:31";
const IP: &str = "10.5.50.31";
const ROUTEROS_PASSWORD: &str = "ros-Pw-71c9e2";

async fn a_payment_logs_json_and_no_secret(world: World) {
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "till").await;
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &pay).await.unwrap();
    let (_, key) = sealing_key_env();
    let env = [("JASIYO_SEALING_KEY", key.as_str()), ("JASIYO_LOG_FORMAT", "json"), ("JASIYO_METRICS_LISTEN", "127.0.0.1:0")];
    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), "127.0.0.1:0", &env).await;
    let router = RouterOsEmulator::start(EmulatorConfig { password: ROUTEROS_PASSWORD.into(), ..EmulatorConfig::default() }).await;
    router.add_host(MAC, IP);
    let router_addr = router.addr().to_string();
    let agent_env = [("JASIYO_ROUTEROS_ADDR", router_addr.as_str()), ("JASIYO_ROUTEROS_PASSWORD", ROUTEROS_PASSWORD)];
    let (_agent, agent_log) = AgentProcess::spawn_with(&cloud.ws_url(), &creds, &world.agent_dir("till"), &agent_env).keep_output();

    let http = reqwest::Client::new();
    let base = format!("http://{}", cloud.addr);
    let body = json!({"plan_id": plan.id.to_string(), "phone": "0722000310", "mac": MAC, "ip": IP, "idempotency_key": "logs-1"});
    let started = http
        .post(format!("{base}/api/portal/{}/payments", creds.id))
        .header("x-request-id", "made-up-by-the-client")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 201);
    let request_id = started.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(request_id, "made-up-by-the-client", "only a trusted proxy's id is taken");
    assert_eq!(request_id.len(), 32, "{request_id}");
    let view: Value = started.json().await.unwrap();
    let (payment, view_key) = (view["id"].as_str().unwrap().to_string(), view["view_key"].as_str().unwrap().to_string());
    let prompt = pay.wait_for_prompt("254722000310", WAIT).await.expect("a prompt");
    pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    assert!(router.wait_until(WAIT, |r| r.users().len() == 1).await, "the user reached the router");
    let paid: Value = http
        .get(format!("{base}/api/portal/payments/{payment}"))
        .header("x-view-key", &view_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let password = paid["login"]["password"].as_str().expect("a login").to_string();
    let receipt = paid["receipt"].as_str().expect("a receipt").to_string();
    // The real binary serves its metrics where --metrics-listen (here its variable) says.
    let metrics = reqwest::get(format!("http://{}/metrics", cloud.metrics_addr.expect("metrics address logged")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(value(&metrics, r#"jasiyo_payments_total{provider="daraja",outcome="paid"}"#), 1.0);

    // The agent's results are logged when they reach the cloud, just after the router changed.
    cloud.until_logged("command applied").await;
    let cloud_log = cloud.log();
    let lines: Vec<Value> = cloud_log.iter().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "{field} in {line}");
        }
    }
    let about_payment = |line: &&Value| line["payment"] == payment.as_str();
    assert!(lines.iter().filter(about_payment).any(|l| l["message"] == "payment initiated" && l["request_id"] == request_id.as_str()));
    assert!(
        lines.iter().filter(about_payment).any(|l| l["message"] == "payment paid; user provisioned" && l["router"] == creds.id.to_string())
    );
    assert!(
        lines.iter().any(|l| l["span"] == "agent" && l["router"] == creds.id.to_string() && l["seq"].is_u64()),
        "a command's line names router and seq"
    );
    // Span fields are flat: `jq .router` works on every line of an agent's session, and
    // `jq .request_id` on every line of an HTTP request, not only where the event set them.
    let in_span = |name: &'static str| move |l: &&Value| l["span"] == name;
    assert!(lines.iter().any(|l| in_span("agent")(&l)) && lines.iter().any(|l| in_span("request")(&l)));
    for line in lines.iter().filter(in_span("agent")) {
        assert!(line["router"].is_string() && line.get("spans").is_none(), "{line}");
    }
    for line in lines.iter().filter(in_span("request")) {
        assert!(line["request_id"].is_string(), "{line}");
    }

    let callback_token = prompt.callback_url.as_deref().and_then(|url| url.rsplit('/').next()).expect("a callback URL").to_string();
    let accounts = pay.accounts();
    let secrets = [
        ("router token", creds.token.clone()),
        ("RouterOS password", ROUTEROS_PASSWORD.into()),
        ("hotspot password", password),
        ("receipt", receipt),
        ("Daraja consumer secret", accounts.daraja.consumer_secret.clone()),
        ("Daraja consumer key", accounts.daraja.consumer_key.clone()),
        ("Daraja passkey", accounts.daraja.passkey.clone()),
        ("callback token", callback_token),
        ("view key", view_key),
        ("sealing key", key.clone()),
    ];
    let agent_log = agent_log.lock().unwrap().clone();
    assert!(!agent_log.is_empty() && lines.len() > 10, "both logs were read");
    for (who, log) in [("cloud", &cloud_log), ("agent", &agent_log)] {
        for (what, secret) in &secrets {
            assert!(!secret.is_empty());
            if let Some(line) = log.iter().find(|line| line.contains(secret.as_str())) {
                panic!("the {who}'s log shows the {what}: {line}");
            }
        }
    }
    cloud.kill().await;
    pay.stop().await;
}

jasiyo_cloud::on_each_backend!(
    World::new;
    a_payment_logs_json_and_no_secret(),
);
