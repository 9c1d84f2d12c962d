//! Several instances as an operator runs them: `scripts/cluster` starts three real
//! `jasiyo-cloud serve` processes on one PostgreSQL database behind a real HAProxy (the
//! configuration in `deploy/haproxy/`); the agent phones home through the balancer and
//! customers pay through any instance. The instance holding the agent's link is SIGKILLed:
//! the agent reconnects through the balancer to another, and every paid customer is on the
//! router exactly once. Skipped loudly without HAProxy or PostgreSQL; CI requires both.

use std::time::Duration;

use jasiyo_cloud::model::PaymentState;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::cluster::{Cluster, haproxy_installed};
use jasiyo_tests::harness::{RouterCreds, WAIT, World};
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::processes::AgentProcess;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use jasiyo_tests::shop::{daraja_shop, sealing_key_env};

/// A customer pays through `base` (an instance or the balancer) and approves the prompt;
/// the provider calls back to the cloud's public URL, the balancer. Returns the payment's
/// idempotency key.
async fn pay(cluster: &Cluster, base: &str, creds: &RouterCreds, plan: &str, pay: &PaymentEmulator, phone: &str, mac: &str) -> String {
    let key = format!("cluster-{phone}");
    let body = serde_json::json!({"plan_id": plan, "phone": phone, "mac": mac, "ip": "10.5.50.9",
        "idempotency_key": key});
    let response = reqwest::Client::new().post(format!("http://{base}/api/portal/{}/payments", creds.id)).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "initiate through {base}: {}", response.status());
    let prompt = pay.wait_for_prompt(phone, WAIT).await.expect("the prompt reached the phone");
    let callback = prompt.callback_url.clone().unwrap_or_default();
    assert!(callback.starts_with(&format!("http://{}/", cluster.balancer)), "callbacks go to the balancer: {callback}");
    pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_haproxy_serve_each_customer_once_through_a_crash() {
    if !haproxy_installed() {
        return;
    }
    let Some(world) = World::new(Backend::Postgres).await else { return };
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "cluster-shop").await;
    let provider = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &provider).await.unwrap().id.to_string();
    let (key_name, key) = sealing_key_env();
    let cluster =
        Cluster::start(&world.dir.path().join("cluster"), &world.database_url, 3, &[(key_name, &key), ("JASIYO_HEARTBEAT_SECS", "1")])
            .await;

    let router = RouterOsEmulator::start(EmulatorConfig::default()).await;
    let agent =
        AgentProcess::spawn_routeros(&format!("ws://{}", cluster.balancer), &creds, &world.agent_dir("cluster-shop"), router.addr());
    let mut agent = agent.detach_output();
    let id = creds.id.to_string();
    let users = |n: usize| move |r: &RouterOsEmulator| r.users().len() >= n;

    // Initiated on instance 1 and on instance 2, called back through the balancer.
    let first = pay(&cluster, &cluster.instances[0], &creds, &plan, &provider, "0722000801", "02:00:00:00:08:01").await;
    let second = pay(&cluster, &cluster.instances[1], &creds, &plan, &provider, "0722000802", "02:00:00:00:08:02").await;
    assert!(router.wait_until(WAIT, users(2)).await, "both customers on the router: {:?}", router.users());
    let held = cluster.connections(&id);
    assert_eq!(held.iter().sum::<usize>(), 1, "one link, on one instance: {held:?}");
    let holder = held.iter().position(|n| *n == 1).unwrap() + 1;

    // The instance holding the agent's link dies; the agent comes back through the balancer.
    cluster.run(&["kill", &holder.to_string()]).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while cluster.connections(&id).iter().sum::<usize>() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the agent did not reconnect through the balancer: {:?}", cluster.connections(&id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.connections(&id)[holder - 1], 1, "not back on the dead instance");
    let third = pay(&cluster, &cluster.balancer, &creds, &plan, &provider, "0722000803", "02:00:00:00:08:03").await;
    assert!(router.wait_until(WAIT, users(3)).await, "the third customer on the router: {:?}", router.users());

    // The dead instance comes back on its address and takes requests again.
    cluster.run(&["restart", &holder.to_string()]).await;
    let status = cluster.run(&["status"]).await;
    assert_eq!(status.matches("readyz 200").count(), 3, "{status}");

    for payment in [first, second, third] {
        let payment = store.payment_by_idempotency(creds.id, &payment).await.unwrap().expect("written");
        assert_eq!(payment.state, PaymentState::Paid, "{payment:?}");
        assert!(store.entitlement_for_payment(payment.id).await.unwrap().is_some());
    }
    let commands = store.list_commands(creds.id, 100).await.unwrap();
    let users_added = commands.iter().filter(|c| c.command.kind() == "upsert_hotspot_user").count();
    assert_eq!(users_added, 3, "one user per paid customer, once");
    assert_eq!(router.users().len(), 3, "three users on the router: {:?}", router.users());
    let _ = agent.kill().await;
    provider.stop().await;
}

/// A self-signed certificate and key in `dir` (`cert.pem`, `key.pem`, and both in
/// `both.pem`, as HAProxy takes them), made by `openssl`.
fn self_signed(dir: &std::path::Path) {
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=cloud.example", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    let both = std::fs::read_to_string(dir.join("cert.pem")).unwrap() + &std::fs::read_to_string(dir.join("key.pem")).unwrap();
    std::fs::write(dir.join("both.pem"), both).unwrap();
}

/// `haproxy -c` and `nginx -t` accept the configurations in `deploy/` as they are, with only
/// the certificate paths pointed at a test certificate.
#[test]
fn the_balancer_configurations_are_valid() {
    if !haproxy_installed() {
        return;
    }
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path());
    let haproxy = std::fs::read_to_string(deploy.join("haproxy/jasiyo.cfg")).unwrap();
    assert!(haproxy.contains("/etc/haproxy/certs/jasiyo.pem"));
    std::fs::write(
        dir.path().join("haproxy.cfg"),
        haproxy.replace("/etc/haproxy/certs/jasiyo.pem", &dir.path().join("both.pem").display().to_string()),
    )
    .unwrap();
    let out = std::process::Command::new("haproxy").arg("-c").arg("-f").arg(dir.path().join("haproxy.cfg")).output().unwrap();
    assert!(out.status.success(), "haproxy -c: {}", String::from_utf8_lossy(&out.stderr));

    let nginx_found = std::path::Path::new("/usr/sbin/nginx").exists();
    if !nginx_found {
        assert!(std::env::var("JASIYO_REQUIRE_HAPROXY").as_deref() != Ok("1"), "nginx is required here but not installed");
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx)");
        return;
    }
    let site = std::fs::read_to_string(deploy.join("nginx/jasiyo.conf")).unwrap();
    let site = site
        .replace("/etc/nginx/certs/jasiyo.crt", &dir.path().join("cert.pem").display().to_string())
        .replace("/etc/nginx/certs/jasiyo.key", &dir.path().join("key.pem").display().to_string());
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    let main = format!(
        "pid {0}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{ access_log off; include {0}/site.conf; }}\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let out = std::process::Command::new("/usr/sbin/nginx").arg("-t").arg("-c").arg(dir.path().join("nginx.conf")).output().unwrap();
    assert!(out.status.success(), "nginx -t: {}", String::from_utf8_lossy(&out.stderr));
}

/// `bench-fleet --cluster 3` (the debug build, a small fleet): every agent connects through
/// the balancer, and every command posted on one instance or another reaches its agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_fleet_runs_against_three_instances() {
    if !haproxy_installed() {
        return;
    }
    let Some(world) = World::new(Backend::Postgres).await else { return };
    let out = tokio::process::Command::new(jasiyo_tests::processes::binary("bench-fleet"))
        .args(["--agents", "30", "--commands", "90", "--idle-secs", "1", "--heartbeat-secs", "1", "--cluster", "3"])
        .args(["--database-url", &world.database_url])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench-fleet --cluster 3:\n{text}");
    assert!(text.contains("3 instances behind HAProxy"), "{text}");
    assert!(text.contains("agents             30 connected of 30 (0 failed)"), "{text}");
    assert!(text.contains("90 posted, 0 refused, 90 delivered, 0 lost, 0 unexpected deliveries"), "{text}");
    assert!(text.contains("30 routers online"), "{text}");
}
