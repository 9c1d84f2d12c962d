//! `voucher create/list/show/export/revoke`, run as the real binary against a SQLite data
//! directory: a batch goes into the router's outbox, is counted, shown (with a code's data
//! used once its router reports it), exported as CSV and revoked.

use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

fn run(dir: &TempDir, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"));
    command.env_remove("JASIYO_DATABASE_URL").env("JASIYO_DATA_DIR", dir.path()).env("RUST_LOG", "warn");
    let out = command.args(args).output().expect("run jasiyo-cloud");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json(dir: &TempDir, args: &[&str]) -> Value {
    let out = run(dir, args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
}

#[test]
fn vouchers_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    run(&dir, &["tenant", "create", "--name", "Kibanda WiFi"]).unwrap();
    let router = json(&dir, &["router", "add", "--tenant", "Kibanda WiFi", "--name", "gate", "--json"]);
    let router = router["id"].as_str().unwrap().to_string();
    run(&dir, &["plan", "add", "--tenant", "Kibanda WiFi", "--name", "1 hour", "--price", "20", "--duration", "1h"]).unwrap();

    let created = json(
        &dir,
        &[
            "voucher",
            "create",
            "--tenant",
            "Kibanda WiFi",
            "--plan",
            "1 hour",
            "--count",
            "30",
            "--prefix",
            "kb",
            "--price",
            "50",
            "--valid-until",
            "2099-01-31",
            "--router",
            "gate",
            "--json",
        ],
    );
    let batch = created["batch"]["id"].as_str().unwrap().to_string();
    let codes: Vec<&str> = created["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(codes.len(), 30);
    assert!(codes.iter().all(|c| c.len() == 10 && c.starts_with("KB")), "{codes:?}");
    assert_eq!(created["batch"]["valid_until"], 4_073_587_199i64, "the end of 2099-01-31, UTC");
    // One command carrying a user per code waits in the router's outbox.
    let queued = json(&dir, &["command", "list", "--router", &router, "--json"]);
    assert_eq!(queued.as_array().unwrap().len(), 1);
    assert_eq!(queued[0]["command"]["upsert_hotspot_users"]["users"].as_array().map(Vec::len), Some(30), "{queued}");

    let listed = json(&dir, &["voucher", "list", "--tenant", "Kibanda WiFi", "--json"]);
    assert_eq!(listed[0]["counts"]["unused"], 30);
    let shown = json(&dir, &["voucher", "show", &batch, "--json"]);
    assert_eq!(shown["codes"].as_array().unwrap().len(), 30);
    assert_eq!(shown["codes"][0]["state"], "unused");
    let csv = run(&dir, &["voucher", "export", &batch, "--csv"]).unwrap();
    assert!(csv.starts_with("code,state,first_used_at,device_mac,plan,price_kes,valid_until\n"), "{csv}");
    assert_eq!(csv.lines().count(), 31);
    assert!(codes.iter().all(|c| csv.contains(&format!("{c},unused,,,\"1 hour\",50,2099-01-31T23:59:59Z"))), "{csv}");

    // The router reports a code's traffic: `voucher show` gives its state, first login and
    // data used, in JSON and in text.
    let gate: jasiyo_shared::RouterId = router.parse().unwrap();
    let traffic = jasiyo_shared::UserUsage { name: codes[2].into(), bytes_in: 2_000_000, bytes_out: 30_000_000 };
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let store = jasiyo_cloud::store::connect(None, dir.path()).await.unwrap();
        store.record_usage(gate, &[traffic], jasiyo_cloud::store::now_ms()).await.unwrap();
    });
    let shown = json(&dir, &["voucher", "show", &batch, "--json"]);
    let line = shown["codes"].as_array().unwrap().iter().find(|l| l["code"] == codes[2]).unwrap();
    assert_eq!(
        (&line["state"], &line["usage"]["bytes_in"], &line["usage"]["bytes_out"]),
        (&"in_use".into(), &2_000_000.into(), &30_000_000.into())
    );
    let text = run(&dir, &["voucher", "show", &batch]).unwrap();
    let row = text.lines().find(|l| l.starts_with(codes[2])).unwrap();
    assert!(row.contains("in_use") && row.contains("Z  -") && row.ends_with("30.0 MB down, 2.0 MB up"), "{row}");
    let unused = text.lines().find(|l| l.starts_with(codes[3])).unwrap();
    assert!(unused.split_whitespace().skip(1).eq(["unused", "-", "-", "-"]), "{unused}");

    let one = run(&dir, &["voucher", "revoke", &batch, "--code", codes[0]]).unwrap();
    assert!(one.starts_with("1 code(s) revoked"), "{one}");
    let rest = run(&dir, &["voucher", "revoke", &batch]).unwrap();
    assert!(rest.starts_with("29 code(s) revoked"), "{rest}");
    assert_eq!(json(&dir, &["voucher", "show", &batch, "--json"])["counts"]["revoked"], 30);
    let queued = json(&dir, &["command", "list", "--router", &router, "--json", "--limit", "100"]);
    let removals = queued.as_array().unwrap().iter().filter(|c| c["command"]["remove_hotspot_user"].is_object()).count();
    assert_eq!(removals, 30);

    // Mistakes are refused clearly.
    let too_many = run(&dir, &["voucher", "create", "--tenant", "Kibanda WiFi", "--plan", "1 hour", "--count", "5001", "--router", "gate"]);
    assert!(too_many.unwrap_err().contains("5001"));
    let short = run(
        &dir,
        &["voucher", "create", "--tenant", "Kibanda WiFi", "--plan", "1 hour", "--count", "1", "--length", "4", "--router", "gate"],
    );
    assert!(short.unwrap_err().contains("7 to 16"));
    let nowhere = run(&dir, &["voucher", "create", "--tenant", "Kibanda WiFi", "--plan", "1 hour", "--count", "1", "--router", "attic"]);
    assert!(nowhere.unwrap_err().contains("no router \"attic\""));
}
