//! The operator CLI, run as the real binary against a SQLite data directory.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jasiyo_cloud::model::{ProviderKind, TenantId};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::providers::{ProviderConfig, Secret};
use jasiyo_cloud::store::Store;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The binary on `dir`, with none of the operator's environment leaking in.
fn command(dir: &TempDir, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"));
    for name in ["JASIYO_DATABASE_URL", "JASIYO_SEALING_KEY", "JASIYO_SECRET_KEY", "JASIYO_PAYSTACK_SECRET_KEY", "JASIYO_PUBLIC_URL"] {
        command.env_remove(name);
    }
    command.env("JASIYO_DATA_DIR", dir.path()).env("RUST_LOG", "warn").envs(env.iter().copied());
    command
}

fn cloud(dir: &TempDir, args: &[&str]) -> std::process::Output {
    cloud_with(dir, &[], args)
}

fn cloud_with(dir: &TempDir, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    command(dir, env).args(args).output().expect("run jasiyo-cloud")
}

fn ok_json(dir: &TempDir, args: &[&str]) -> Value {
    ok_json_with(dir, &[], args)
}

fn ok_json_with(dir: &TempDir, env: &[(&str, &str)], args: &[&str]) -> Value {
    let out = cloud_with(dir, env, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn fails(dir: &TempDir, args: &[&str]) -> String {
    fails_with(dir, &[], args)
}

fn fails_with(dir: &TempDir, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = cloud_with(dir, env, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tenants_routers_and_commands_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    let tenant = ok_json(&dir, &["tenant", "create", "--name", "Kibanda WiFi", "--json"]);
    assert_eq!(tenant["name"], "Kibanda WiFi");
    assert!(fails(&dir, &["tenant", "create", "--name", "Kibanda WiFi"]).contains("already exists"));

    let router = ok_json(&dir, &["router", "add", "--tenant", "Kibanda WiFi", "--name", "gate", "--json"]);
    let id = router["id"].as_str().unwrap().to_string();
    let token = router["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(fails(&dir, &["router", "add", "--tenant", "nobody", "--name", "x"]).contains("no tenant"));

    let list = ok_json(&dir, &["router", "list", "--json"]);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["online"], false);
    assert!(!list.to_string().contains(token), "the token is never shown again");
    // The database keeps only a hash.
    let db = std::fs::read(dir.path().join("jasiyo.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));

    let human = cloud(&dir, &["router", "list"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("gate"));

    let enqueue = |kind: &[&str]| {
        let mut args = vec!["command", "enqueue", "--router", id.as_str(), "--json"];
        args.extend_from_slice(kind);
        ok_json(&dir, &args)
    };
    let created = enqueue(&[
        "create-user",
        "--name",
        "A1B2",
        "--password",
        "pw",
        "--profile",
        "daily",
        "--mac",
        "aa-bb-cc-dd-ee-ff",
        "--expires-in",
        "1h",
        "--limit-uptime",
        "30m",
        "--limit-bytes-total",
        "1000000",
        "--comment",
        "by cli",
    ]);
    assert_eq!(created["seq"], 1);
    let user = &created["command"]["upsert_hotspot_user"];
    assert_eq!(user["mac"], "AA:BB:CC:DD:EE:FF");
    assert_eq!(user["limit_uptime_secs"], 1800);
    let expiry = user["expires_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((expiry - now - 3600).abs() < 60, "expires in an hour");
    enqueue(&["create-user", "--name", "C3", "--password", "pw", "--expires-at", "2030-01-01T00:00:00Z"]);
    enqueue(&["remove-user", "--name", "A1B2"]);
    enqueue(&["login-device", "--user", "C3", "--password", "pw", "--mac", "02:00:00:00:00:09", "--ip", "10.5.50.9"]);
    enqueue(&["end-session", "--mac", "02:00:00:00:00:09"]);

    let commands = ok_json(&dir, &["command", "list", "--router", &id, "--json"]);
    let commands = commands.as_array().unwrap();
    assert_eq!(commands.len(), 5);
    assert!(commands.iter().all(|c| c["state"] == "queued"));
    assert_eq!(commands[0]["seq"], 5, "newest first");

    // Bad input is refused with a clear message and changes nothing.
    assert!(fails(&dir, &["command", "enqueue", "--router", &id, "remove-user", "--name", "has space"]).contains("spaces"));
    assert!(fails(&dir, &["command", "enqueue", "--router", &id, "end-session", "--mac", "zz"]).contains("MAC"));
    assert!(fails(&dir, &["command", "enqueue", "--router", &uuid(), "remove-user", "--name", "x"]).contains("not found"));
    assert_eq!(ok_json(&dir, &["command", "list", "--router", &id, "--json"]).as_array().unwrap().len(), 5);

    let revoked = ok_json(&dir, &["router", "revoke", &id, "--json"]);
    assert_eq!(revoked["revoked"], true);
    assert_eq!(ok_json(&dir, &["router", "revoke", &id, "--json"])["revoked"], false);
    assert_eq!(ok_json(&dir, &["router", "list", "--json"])[0]["revoked"], true);
    assert!(fails(&dir, &["router", "revoke", &uuid()]).contains("no router"));
}

fn uuid() -> String {
    "6f1c1d7e-0000-4000-8000-000000000000".into()
}

#[test]
fn postgres_is_chosen_by_url_and_garbage_urls_are_refused() {
    let dir = TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"))
        .args(["--database-url", "mysql://nope", "tenant", "create", "--name", "x"])
        .env("JASIYO_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

/// A sealing key (base64 of 32 bytes) and its bytes.
fn key(byte: u8) -> (String, [u8; 32]) {
    (B64.encode([byte; 32]), [byte; 32])
}

/// Creates tenant "T" and runs `[global...] provider set --tenant T paystack --secret-key
/// <paystack_key>`; returns the tenant's id.
fn set_paystack(dir: &TempDir, env: &[(&str, &str)], global: &[&str], paystack_key: &str) -> TenantId {
    ok_json(dir, &["tenant", "create", "--name", "T", "--json"]);
    let mut args = global.to_vec();
    args.extend(["provider", "set", "--tenant", "T", "--json", "paystack", "--secret-key", paystack_key]);
    let set = ok_json_with(dir, env, &args);
    assert_eq!(set["provider"], "paystack");
    set["tenant"].as_str().unwrap().parse().unwrap()
}

/// The tenant's stored Paystack settings, opened with `key`; `None` if they do not open.
fn stored_paystack(dir: &TempDir, tenant: TenantId, key: [u8; 32]) -> Option<ProviderConfig> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stored = runtime.block_on(async {
        let store = jasiyo_cloud::store::connect(None, dir.path()).await.unwrap();
        store.provider_settings(tenant, ProviderKind::Paystack).await.unwrap().expect("settings stored")
    });
    jasiyo_cloud::payments::providers_config::open_settings(&Sealer::new(key), &stored).ok()
}

fn paystack(secret_key: &str) -> Option<ProviderConfig> {
    Some(ProviderConfig::Paystack { secret_key: Secret(secret_key.into()), base_url: None })
}

/// The key in the data directory's key file, if one was created.
fn key_file(dir: &TempDir) -> Option<[u8; 32]> {
    let text = std::fs::read_to_string(dir.path().join("secret.key")).ok()?;
    Some(B64.decode(text.trim()).unwrap().try_into().unwrap())
}

const SK_TEST: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";

/// Issue 18: Paystack's `--secret-key` once shared its clap id with the global flag of the
/// key sealing credentials, so it was taken for that key and refused ("must be base64 of
/// 32 bytes").
#[test]
fn a_paystack_secret_key_leaves_the_sealing_key_alone() {
    let dir = TempDir::new().unwrap();
    let tenant = set_paystack(&dir, &[], &[], SK_TEST);
    let file_key = key_file(&dir).expect("without a sealing key, the key file is created and seals");
    assert_eq!(stored_paystack(&dir, tenant, file_key), paystack(SK_TEST));

    // Given a sealing key, that key seals.
    let dir = TempDir::new().unwrap();
    let (sealing, sealing_bytes) = key(1);
    let tenant = set_paystack(&dir, &[("JASIYO_SEALING_KEY", &sealing)], &[], SK_TEST);
    assert_eq!(stored_paystack(&dir, tenant, sealing_bytes), paystack(SK_TEST));
    assert_eq!(key_file(&dir), None);
}

#[test]
fn a_paystack_key_that_would_make_a_sealing_key_is_not_used_as_one() {
    let (lookalike, lookalike_bytes) = key(2);
    let dir = TempDir::new().unwrap();
    let tenant = set_paystack(&dir, &[], &[], &lookalike);
    let file_key = key_file(&dir).expect("the key file seals");
    assert_eq!(stored_paystack(&dir, tenant, file_key), paystack(&lookalike));
    assert_eq!(stored_paystack(&dir, tenant, lookalike_bytes), None);

    let dir = TempDir::new().unwrap();
    let (sealing, sealing_bytes) = key(1);
    let tenant = set_paystack(&dir, &[], &["--sealing-key", &sealing], &lookalike);
    assert_eq!(stored_paystack(&dir, tenant, sealing_bytes), paystack(&lookalike));
    assert_eq!(stored_paystack(&dir, tenant, lookalike_bytes), None);
}

#[test]
fn the_deprecated_jasiyo_secret_key_still_seals() {
    let dir = TempDir::new().unwrap();
    let (legacy, legacy_bytes) = key(1);
    let tenant = set_paystack(&dir, &[("JASIYO_SECRET_KEY", &legacy)], &[], SK_TEST);
    assert_eq!(stored_paystack(&dir, tenant, legacy_bytes), paystack(SK_TEST));
    assert_eq!(key_file(&dir), None);

    // The same key under both names is no conflict.
    let tenant = set_paystack_again(&dir, &[("JASIYO_SECRET_KEY", &legacy), ("JASIYO_SEALING_KEY", &legacy)]);
    assert_eq!(stored_paystack(&dir, tenant, legacy_bytes), paystack(SK_TEST));

    // `serve` reads it too: it comes up without creating a key file of its own.
    serve_until_ready(&dir, &[("JASIYO_SECRET_KEY", &legacy)]).expect("serve starts");
    assert_eq!(key_file(&dir), None);
}

#[test]
fn two_different_sealing_keys_are_refused() {
    let dir = TempDir::new().unwrap();
    let ((legacy, _), (sealing, _)) = (key(1), key(2));
    ok_json(&dir, &["tenant", "create", "--name", "T", "--json"]);
    let set = ["provider", "set", "--tenant", "T", "paystack", "--secret-key", SK_TEST];
    let refused = fails_with(&dir, &[("JASIYO_SECRET_KEY", &legacy), ("JASIYO_SEALING_KEY", &sealing)], &set);
    assert!(refused.contains("JASIYO_SECRET_KEY") && refused.contains("JASIYO_SEALING_KEY"), "{refused}");
    let mut flagged = vec!["--sealing-key", sealing.as_str()];
    flagged.extend(set);
    assert!(fails_with(&dir, &[("JASIYO_SECRET_KEY", &legacy)], &flagged).contains("JASIYO_SECRET_KEY"));
    assert_eq!(key_file(&dir), None, "nothing was sealed");

    let stderr = serve_until_ready(&dir, &[("JASIYO_SECRET_KEY", &legacy), ("JASIYO_SEALING_KEY", &sealing)]).unwrap_err();
    assert!(stderr.contains("JASIYO_SECRET_KEY"), "{stderr}");
}

#[test]
fn serve_refuses_callbacks_no_provider_can_reach() {
    let dir = TempDir::new().unwrap();
    let missing = serve_until_ready_with(&dir, &[], &[]).unwrap_err();
    assert!(missing.contains("no public URL") && missing.contains("--allow-unreachable-callbacks"), "{missing}");
    let words = serve_until_ready_with(&dir, &[], &["--public-url", "https://mpesa-wifi.example"]).unwrap_err();
    assert!(words.contains("\"mpesa\", which Safaricom refuses"), "{words}");
    let plain = serve_until_ready_with(&dir, &[], &["--public-url", "http://pay.example"]).unwrap_err();
    assert!(plain.contains("not https://"), "{plain}");
    serve_until_ready_with(&dir, &[], &["--public-url", "https://pay.example"]).expect("a public https URL serves");
    serve_until_ready_with(&dir, &[], &["--public-url", "http://127.0.0.1:8080", "--allow-unreachable-callbacks"])
        .expect("locally, with the flag, it serves (with a warning)");

    // `provider set` sets, and says what would keep the callbacks from arriving.
    ok_json(&dir, &["tenant", "create", "--name", "T", "--json"]);
    let args = [
        "provider",
        "set",
        "--tenant",
        "T",
        "--public-url",
        "https://safaricom-wifi.example",
        "--json",
        "paystack",
        "--secret-key",
        SK_TEST,
    ];
    let out = cloud(&dir, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("warning: the public URL contains \"safaricom\""), "{said}");
}

/// Sets tenant "T"'s Paystack key again (the tenant exists); returns its id.
fn set_paystack_again(dir: &TempDir, env: &[(&str, &str)]) -> TenantId {
    let set = ok_json_with(dir, env, &["provider", "set", "--tenant", "T", "--json", "paystack", "--secret-key", SK_TEST]);
    set["tenant"].as_str().unwrap().parse().unwrap()
}

/// Starts `serve` on an ephemeral port and stops it once it is listening; `Err` with its
/// stderr if it exited first.
fn serve_until_ready(dir: &TempDir, env: &[(&str, &str)]) -> Result<(), String> {
    serve_until_ready_with(dir, env, &["--allow-unreachable-callbacks"])
}

/// [`serve_until_ready`] with these flags instead of `--allow-unreachable-callbacks`.
fn serve_until_ready_with(dir: &TempDir, env: &[(&str, &str)], flags: &[&str]) -> Result<(), String> {
    use std::io::BufRead;
    let ready = dir.path().join("cloud.addr");
    let ready_arg = ready.to_str().unwrap();
    let mut child = command(dir, env)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .args(["serve", "--listen", "127.0.0.1:0", "--ready-file", ready_arg])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    // Its log is the event: "cloud listening" once it serves, or the end of stderr when it
    // exits first. Read on a thread so that a hang is a timeout, not a stuck test.
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut said = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("cloud listening") {
                let _ = tx.send(Ok(()));
                return;
            }
            said.push_str(&line);
            said.push('\n');
        }
        let _ = tx.send(Err(said));
    });
    let outcome = rx.recv_timeout(Duration::from_secs(30)).expect("serve neither listened nor exited");
    let _ = child.kill();
    let _ = child.wait();
    if outcome.is_ok() {
        assert!(ready.exists(), "serving, so the ready file was written first");
    }
    outcome
}

/// A paid payment recorded through the library in the data directory's database (see
/// `store::testing::paid_payment`).
fn paid_payment(dir: &TempDir, router: &str, created_ms: i64, expires_at: i64) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = jasiyo_cloud::store::connect(None, dir.path()).await.unwrap();
        jasiyo_cloud::store::testing::paid_payment(store.as_ref(), router.parse().unwrap(), created_ms, expires_at).await.to_string()
    })
}

/// `plan move` (up, down, to a place) changes the order `plan list` and the portal show;
/// a plan that does not exist, or no direction, is refused.
#[test]
fn plans_are_moved_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    ok_json(&dir, &["tenant", "create", "--name", "Kibanda WiFi", "--json"]);
    let mut ids = std::collections::HashMap::new();
    for (name, price, duration) in [("Daily", "50", "1d"), ("1 hour", "20", "1h"), ("30 minutes", "10", "30m")] {
        let plan =
            ok_json(&dir, &["plan", "add", "--tenant", "Kibanda WiFi", "--name", name, "--price", price, "--duration", duration, "--json"]);
        ids.insert(name, plan["id"].as_str().unwrap().to_string());
    }
    let order = || -> Vec<String> {
        let list = ok_json(&dir, &["plan", "list", "--tenant", "Kibanda WiFi", "--json"]);
        list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(order(), ["30 minutes", "1 hour", "Daily"]);

    let moved = ok_json(&dir, &["plan", "move", &ids["Daily"], "--up", "--json"]);
    assert_eq!(moved, json!({ "id": ids["Daily"], "position": 2 }));
    assert_eq!(order(), ["30 minutes", "Daily", "1 hour"]);
    let text = cloud(&dir, &["plan", "move", &ids["1 hour"], "--position", "1"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("plan 1 hour is now number 1"), "{text:?}");
    assert_eq!(order(), ["1 hour", "30 minutes", "Daily"]);
    ok_json(&dir, &["plan", "move", &ids["1 hour"], "--down", "--json"]);
    ok_json(&dir, &["plan", "move", &ids["Daily"], "--position", "9", "--json"]);
    assert_eq!(order(), ["30 minutes", "1 hour", "Daily"], "past the end is the end");
    let human = String::from_utf8_lossy(&cloud(&dir, &["plan", "list", "--tenant", "Kibanda WiFi"]).stdout).into_owned();
    assert!(human.starts_with("  1  ") && human.contains("30 minutes"), "{human}");

    assert!(fails(&dir, &["plan", "move", &uuid(), "--up"]).contains("no plan"));
    assert!(fails(&dir, &["plan", "move", &ids["Daily"]]).contains("--up, --down or --position"));
    assert!(fails(&dir, &["plan", "move", &ids["Daily"], "--up", "--down"]).contains("cannot be used with"));
    assert!(fails(&dir, &["plan", "move", &ids["Daily"], "--position", "0"]).contains("0"));
    assert_eq!(order(), ["30 minutes", "1 hour", "Daily"], "refusals change nothing");
}

/// Runs `then` on the data directory's database, through the library.
fn with_store<F: std::future::Future<Output = ()>>(dir: &TempDir, then: impl FnOnce(std::sync::Arc<dyn Store>) -> F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { then(jasiyo_cloud::store::connect(None, dir.path()).await.unwrap()).await })
}

/// `router list` says since when each router is online or offline, in its owner's zone.
#[test]
fn router_list_says_since_when() {
    let dir = TempDir::new().unwrap();
    ok_json(&dir, &["tenant", "create", "--name", "Kibanda WiFi", "--json"]);
    let router = ok_json(&dir, &["router", "add", "--tenant", "Kibanda WiFi", "--name", "gate", "--json"]);
    let id: jasiyo_shared::RouterId = router["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(ok_json(&dir, &["router", "list", "--json"])[0]["link"], json!({ "state": "offline", "since": null }));

    // Connected at 10:00 UTC on 1 March 2025, gone at 11:32:05 UTC (14:32 in Nairobi).
    let session = uuid::Uuid::new_v4();
    with_store(&dir, |store| async move {
        store.router_connected(id, session, "0.1.0", 1_740_823_200_000).await.unwrap();
        store.router_disconnected(id, session, 1_740_828_725_000).await.unwrap();
    });
    let list = ok_json(&dir, &["router", "list", "--json"]);
    assert_eq!(list[0]["link"], json!({ "state": "offline", "since": 1_740_828_725_000_i64 }));
    let human = String::from_utf8_lossy(&cloud(&dir, &["router", "list"]).stdout).into_owned();
    assert!(human.contains("SINCE") && human.contains("offline   1 Mar 2025 14:32 ("), "{human}");

    // Back three hours ago, heard from now.
    let back = jasiyo_cloud::store::now_ms() - 3 * 3_600_000;
    with_store(&dir, |store| async move {
        store.router_connected(id, uuid::Uuid::new_v4(), "0.1.0", back).await.unwrap();
        store.routers_seen(&[id], jasiyo_cloud::store::now_ms()).await.unwrap();
    });
    assert_eq!(ok_json(&dir, &["router", "list", "--json"])[0]["link"], json!({ "state": "online", "since": back }));
    let human = String::from_utf8_lossy(&cloud(&dir, &["router", "list"]).stdout).into_owned();
    let tz = jiff::tz::TimeZone::get("Africa/Nairobi").unwrap();
    let clock = jiff::Timestamp::from_millisecond(back).unwrap().to_zoned(tz).strftime("%H:%M").to_string();
    assert!(human.contains("online ") && human.contains(&format!("{clock} (3 h)")), "{human}");
}

/// Times are dates and times in the tenant's zone (Nairobi unless it chose another), never
/// raw milliseconds; `--json` keeps the numbers and adds RFC 3339 beside them.
#[test]
fn times_are_shown_as_dates_in_the_tenants_zone() {
    let dir = TempDir::new().unwrap();
    ok_json(&dir, &["tenant", "create", "--name", "Kibanda WiFi", "--json"]);
    let router = ok_json(&dir, &["router", "add", "--tenant", "Kibanda WiFi", "--name", "gate", "--json"]);
    let router = router["id"].as_str().unwrap().to_string();
    // 2026-12-07 11:32:05 UTC: 14:32:05 in Nairobi.
    let created_ms = 1_796_643_125_000;
    let payment = paid_payment(&dir, &router, created_ms, created_ms / 1000 + 3600);

    let out = cloud(&dir, &["payment", "show", &payment]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2026-12-07 14:32:05 EAT  initiated"), "{text}");
    assert!(text.contains("2026-12-07 14:32:14 EAT  paid"), "{text}");
    assert!(text.contains("hotspot user KX7Q2M until 2026-12-07 15:32:05 EAT"), "{text}");
    assert!(!text.contains("1796643125"), "no raw times: {text}");
    let list = cloud(&dir, &["payment", "list", "--router", &router]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("2026-12-07 14:32:05 EAT") && !text.contains("1796643125"), "{text}");

    let json = ok_json(&dir, &["payment", "show", &payment, "--json"]);
    assert_eq!(json["payment"]["created_at"], created_ms);
    assert_eq!(json["payment"]["created_at_rfc3339"], "2026-12-07T14:32:05.000+03:00");
    assert_eq!(json["timeline"][0]["at_rfc3339"], "2026-12-07T14:32:05.000+03:00");
    assert_eq!(json["entitlement"]["expires_at_rfc3339"], "2026-12-07T15:32:05.000+03:00");

    // Another tenant in another zone sees its own local times; a zone that does not exist
    // is refused.
    ok_json(&dir, &["tenant", "create", "--name", "Kampala Spot", "--time-zone", "Africa/Kampala", "--json"]);
    let tenant = ok_json(&dir, &["tenant", "create", "--name", "Lagos Spot", "--time-zone", "Africa/Lagos", "--json"]);
    assert_eq!(tenant["time_zone"], "Africa/Lagos");
    let other = ok_json(&dir, &["router", "add", "--tenant", "Lagos Spot", "--name", "gate", "--json"]);
    let other = other["id"].as_str().unwrap().to_string();
    let second = paid_payment(&dir, &other, created_ms, created_ms / 1000 + 3600);
    let text = String::from_utf8_lossy(&cloud(&dir, &["payment", "show", &second]).stdout).into_owned();
    assert!(text.contains("2026-12-07 12:32:05 WAT  initiated"), "{text}");
    let refused = fails(&dir, &["tenant", "create", "--name", "Nowhere", "--time-zone", "Mars/Olympus"]);
    assert!(refused.contains("unknown time zone"), "{refused}");
}

/// Issue 22, item 6: `provider set payhero --wallet` stores a wallet channel; without the
/// flag, an M-Pesa channel (as before).
#[test]
fn payhero_channel_type_is_a_provider_setting() {
    let dir = TempDir::new().unwrap();
    ok_json(&dir, &["tenant", "create", "--name", "T", "--json"]);
    let payhero = |extra: &[&str]| {
        let mut args = vec!["provider", "set", "--tenant", "T", "--json", "payhero", "--username", "u", "--password", "p"];
        args.extend(["--channel-id", "911"]);
        args.extend(extra);
        let set = ok_json(&dir, &args);
        let tenant: TenantId = set["tenant"].as_str().unwrap().parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let stored = runtime.block_on(async {
            let store = jasiyo_cloud::store::connect(None, dir.path()).await.unwrap();
            store.provider_settings(tenant, ProviderKind::Payhero).await.unwrap().expect("settings stored")
        });
        let key = key_file(&dir).expect("the key file seals");
        match jasiyo_cloud::payments::providers_config::open_settings(&Sealer::new(key), &stored).unwrap() {
            ProviderConfig::Payhero { channel, .. } => channel,
            other => panic!("not PayHero: {other:?}"),
        }
    };
    assert_eq!(payhero(&[]), jasiyo_cloud::providers::PayHeroChannel::Mpesa);
    assert_eq!(payhero(&["--wallet"]), jasiyo_cloud::providers::PayHeroChannel::Wallet);
}

/// Issue 22, item 6: the Paystack customer e-mail domain is checked when `serve` starts.
#[test]
fn a_reserved_paystack_email_domain_is_refused() {
    let dir = TempDir::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"))
        .args(["serve", "--listen", "127.0.0.1:0", "--paystack-email-domain", "hotspot.jasiyo.invalid"])
        .env("JASIYO_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--paystack-email-domain") && said.contains("reserved .invalid"), "{said}");
}
