//! The operator CLI, run as the real binary against a SQLite data directory.

use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

fn cloud(dir: &TempDir, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"))
        .env_remove("JASIYO_DATABASE_URL")
        .env("JASIYO_DATA_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .expect("run jasiyo-cloud")
}

fn ok_json(dir: &TempDir, args: &[&str]) -> Value {
    let out = cloud(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn fails(dir: &TempDir, args: &[&str]) -> String {
    let out = cloud(dir, args);
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
        "create-user", "--name", "A1B2", "--password", "pw", "--profile", "daily", "--mac", "aa-bb-cc-dd-ee-ff",
        "--expires-in", "1h", "--limit-uptime", "30m", "--limit-bytes-total", "1000000", "--comment", "by cli",
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
