//! The README cannot drift from the binaries: every `jasiyo-cloud ...` and `jasiyo-agent ...`
//! command in README.md's shell blocks is run against the real binaries, in README order,
//! on a data directory that also holds a tenant `T`, a router, a plan, a paid payment and
//! an open one,
//! with the README's placeholders filled in. Optional parts (`[...]`) are tried left out, all put
//! in, and each alternative (`a | b`) in turn. A refused command or flag fails the test, with
//! the README line and what the binary said.
//!
//! Long-running commands count as accepted once they are up: `serve` when its ready file
//! appears, `jasiyo-agent run` when it logs "agent ready" (the cloud URL in the README is
//! not reachable from here, so the agent then keeps retrying until it is stopped).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jasiyo_cloud::store::testing::{fresh_postgres_url, open_payment, paid_payment};
use jasiyo_cloud::token::{hash_token, operator_token_id};
use jasiyo_tests::processes::binary;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How long a long-running command may take to come up.
const UP_WITHIN: Duration = Duration::from_secs(20);

/// A command of the README: its text as shown (continuations joined, comment dropped).
#[derive(Clone, Debug)]
struct Documented {
    text: String,
}

/// Every `jasiyo-cloud` / `jasiyo-agent` command in README.md's shell blocks.
fn documented() -> Vec<Documented> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md");
    let mut found = Vec::new();
    let mut in_shell = false;
    let mut pending: Option<String> = None;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_shell = trimmed == "```sh";
            continue;
        }
        if !in_shell {
            continue;
        }
        let code = strip_comment(trimmed);
        let (code, continues) = match code.strip_suffix('\\') {
            Some(head) => (head.trim_end(), true),
            None => (code, false),
        };
        let joined = match pending.take() {
            Some(head) => format!("{head} {code}"),
            None if code.starts_with("jasiyo-cloud ") || code.starts_with("jasiyo-agent ") => code.to_string(),
            None => continue,
        };
        if continues {
            pending = Some(joined);
        } else {
            found.push(Documented { text: joined });
        }
    }
    found
}

/// The line without its `# comment` (a `#` outside quotes, after a space).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted && (i == 0 || line[..i].ends_with(' ')) => return line[..i].trim_end(),
            _ => {}
        }
    }
    line
}

/// A command line with its optional groups: literal text and `[a | b]` groups in order.
enum Part {
    Text(String),
    Optional(Vec<String>),
}

fn parts(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        parts.push(Part::Text(rest[..open].to_string()));
        let close = rest[open..].find(']').expect("an optional group is closed") + open;
        parts.push(Part::Optional(rest[open + 1..close].split(" | ").map(|a| a.trim().to_string()).collect()));
        rest = &rest[close + 1..];
    }
    parts.push(Part::Text(rest.to_string()));
    parts
}

/// The ways to run a command: every optional group left out; every group in (its first
/// alternative); and, for each later alternative of a group, that one in with the rest in.
fn variants(text: &str) -> Vec<String> {
    let parts = parts(text);
    let render = |choice: &dyn Fn(usize, &[String]) -> Option<String>| {
        let mut line = String::new();
        let mut group = 0;
        for part in &parts {
            match part {
                Part::Text(text) => line.push_str(text),
                Part::Optional(alternatives) => {
                    if let Some(picked) = choice(group, alternatives) {
                        line.push(' ');
                        line.push_str(&picked);
                        line.push(' ');
                    }
                    group += 1;
                }
            }
        }
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let mut out = vec![render(&|_, _| None), render(&|_, alts| Some(alts[0].clone()))];
    let groups: Vec<&Vec<String>> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Optional(alts) => Some(alts),
            Part::Text(_) => None,
        })
        .collect();
    for (g, alternatives) in groups.iter().enumerate() {
        for k in 1..alternatives.len() {
            out.push(render(&|group, alts| Some(if group == g { alts[k].clone() } else { alts[0].clone() })));
        }
    }
    out.dedup();
    out
}

/// The operator token `prepare` makes; `<token-id>` is its id.
const README_OPERATOR_TOKEN: &str = "readme-operator-token";

/// What the placeholders stand for in one data directory.
struct Fixture {
    /// Where an agent keeps its journal.
    data_dir: PathBuf,
    router: String,
    token: String,
    /// A paid payment.
    payment: String,
    /// A payment still waiting for the provider's word (a complaint to settle).
    open_payment: String,
    /// A plan of tenant `T`.
    plan: String,
    /// A voucher batch of tenant `T` on the router, and one of its codes.
    voucher: [String; 2],
    postgres: Option<String>,
    certs: PathBuf,
    /// A backup of the prepared data directory (what `restore --from` restores).
    backup: PathBuf,
}

/// Splits a command line as a POSIX shell would for these lines (double quotes only) and
/// fills the placeholders.
fn argv(line: &str, f: &Fixture) -> Vec<String> {
    let line = line
        .replace("<router-id>", &f.router)
        .replace("<id>", &f.router)
        .replace("<payment-id>", &f.payment)
        .replace("<open-payment-id>", &f.open_payment)
        .replace("<plan-id>", &f.plan)
        .replace("<batch-id>", &f.voucher[0]);
    let line = line.replace("<agent token>", &f.token);
    let line = line.replace("<token-id>", &operator_token_id(&hash_token(README_OPERATOR_TOKEN)));
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    // Values that must be real to be accepted.
    let mut filled = Vec::new();
    let mut previous = String::new();
    for word in words {
        let value = match (previous.as_str(), word.as_str()) {
            ("--mac", "M") => "AA:BB:CC:DD:EE:01".to_string(),
            ("--ip", "I") => "10.5.50.9".to_string(),
            ("--limit-bytes-total", "N") => "1000000".to_string(),
            ("--code", "C") => f.voucher[1].clone(),
            // Always ahead, whenever the test runs.
            ("--valid-until", _) => "2099-12-31".to_string(),
            ("--listen" | "--metrics-listen", _) => "127.0.0.1:0".to_string(),
            // A new file for each run (a backup never overwrites one), and a real backup.
            ("--to", _) => f.data_dir.with_file_name("backup.db").display().to_string(),
            ("--from", _) => f.backup.display().to_string(),
            ("--base-url", "URL") => "https://sandbox.safaricom.co.ke".to_string(),
            ("--database-url", url) if url.starts_with("postgres://") => f.postgres.clone().unwrap_or_default(),
            // Certificate files are named as in the README and lie in the working directory.
            ("--data-dir", _) => f.data_dir.display().to_string(),
            _ => word.clone(),
        };
        previous = word;
        filled.push(value);
    }
    filled
}

/// Prepares the data directory every command starts from: tenant `T` with a plan, a router
/// (its id and token), a paid payment and an open one, a voucher batch (its id and a code)
/// and an operator token, made with the binary and the library as an operator and a
/// customer would.
async fn prepare(dir: &Path) -> (String, String, String, String, String, [String; 2]) {
    let cloud = |args: &[&str]| {
        let out = std::process::Command::new(binary("jasiyo-cloud")).args(args).envs(base_env(dir)).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    cloud(&["tenant", "create", "--name", "T", "--json"]);
    let router = cloud(&["router", "add", "--tenant", "T", "--name", "gate", "--json"]);
    let (id, token) = (router["id"].as_str().unwrap().to_string(), router["token"].as_str().unwrap().to_string());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(binary("jasiyo-cloud")).args(args).envs(base_env(dir)).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["plan", "add", "--tenant", "T", "--name", "Daily", "--price", "50", "--duration", "1d"]);
    let plans = cloud(&["plan", "list", "--tenant", "T", "--json"]);
    let plan = plans.as_array().and_then(|p| p.first()).and_then(|p| p["id"].as_str()).expect("a plan").to_string();
    let store = jasiyo_cloud::store::connect(None, dir).await.unwrap();
    let payment = paid_payment(store.as_ref(), id.parse().unwrap(), 1_000, 4_000).await;
    let open = open_payment(store.as_ref(), id.parse().unwrap(), 5_000, "complaint").await;
    store.create_operator_token("readme", &hash_token(README_OPERATOR_TOKEN), 1_000).await.unwrap();
    let made = cloud(&["voucher", "create", "--tenant", "T", "--plan", "Daily", "--count", "3", "--router", &id, "--json"]);
    let voucher = [made["batch"]["id"].as_str().unwrap().to_string(), made["codes"][0].as_str().unwrap().to_string()];
    (id, token, payment.to_string(), open.to_string(), plan, voucher)
}

/// The environment every command runs in: the data directory, and nothing of the
/// developer's own `JASIYO_*` settings.
fn base_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("JASIYO_DATA_DIR".into(), dir.display().to_string()),
        ("JASIYO_TOKEN".into(), "agent-token-from-router-add".into()),
        ("JASIYO_ROUTEROS_PASSWORD".into(), "api-password".into()),
        ("RUST_LOG".into(), "info".into()),
        ("NO_COLOR".into(), "1".into()),
    ]
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Runs one command line to completion, or until a long-running one is up. `Err`: what
/// the binary said when it refused.
async fn run(argv: &[String], dir: &Path, work: &Path) -> Result<(), String> {
    let (program, args) = argv.split_first().expect("a command");
    let mut command = Command::new(binary(program));
    command.args(args).current_dir(work).stdin(Stdio::null()).kill_on_drop(true);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("JASIYO_")) {
        command.env_remove(name);
    }
    command.envs(base_env(dir));
    let serve = args.first().is_some_and(|a| a == "serve");
    let agent = program == "jasiyo-agent" && args.first().is_some_and(|a| a == "run");
    if !serve && !agent {
        let out = command.output().await.map_err(|e| e.to_string())?;
        return if out.status.success() {
            Ok(())
        } else {
            Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        };
    }
    let ready_file = work.join("ready");
    if serve {
        command.arg("--ready-file").arg(&ready_file);
    }
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let up = async {
        while let Ok(Some(line)) = lines.next_line().await {
            said.push_str(&line);
            said.push('\n');
            if (agent && line.contains("agent ready")) || (serve && ready_file.exists()) {
                return true;
            }
        }
        false
    };
    let up = tokio::time::timeout(UP_WITHIN, up).await.unwrap_or(false);
    let _ = child.kill().await;
    if up { Ok(()) } else { Err(said) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_is_accepted() {
    let commands = documented();
    let names: Vec<&str> = commands.iter().map(|c| c.text.split_whitespace().nth(1).unwrap_or("")).collect();
    for expected in ["serve", "tenant", "router", "command", "operator", "plan", "provider", "payment", "voucher", "run"] {
        assert!(names.contains(&expected), "README shows no `{expected}` command: {names:?}");
    }
    let root = TempDir::new().unwrap();
    let prepared = root.path().join("prepared");
    std::fs::create_dir_all(&prepared).unwrap();
    let (router, token, payment, open_payment, plan, voucher) = prepare(&prepared).await;
    let certs = root.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/tests/fixtures");
    for (from, to) in [("ca.pem", "ca.pem"), ("ca.pem", "private-ca.pem"), ("localhost.pem", "router.pem")] {
        std::fs::copy(fixtures.join(from), certs.join(to)).unwrap();
    }
    let postgres = fresh_postgres_url().await;
    let backup = root.path().join("backup.db");
    jasiyo_cloud::store::backup::backup(&prepared.join("jasiyo.db"), &backup).await.unwrap();
    let mut fixture = Fixture { data_dir: PathBuf::new(), router, token, payment, open_payment, plan, voucher, postgres, certs, backup };

    // The commands run in README order, as a reader following it would: each variant on a
    // fresh copy of the directory as the commands before it left it (so `router add` finds
    // the tenant `tenant create` made), then the plain form once more on that directory
    // (except a revoke).
    let walk = root.path().join("walk");
    copy_dir(&prepared, &walk);
    let mut refused = Vec::new();
    let mut ran = 0;
    for (i, documented) in commands.iter().enumerate() {
        for (j, variant) in variants(&documented.text).into_iter().enumerate() {
            let dir = root.path().join(format!("run-{i}-{j}"));
            fixture.data_dir = dir.join("agent");
            let argv = argv(&variant, &fixture);
            if argv.iter().any(String::is_empty) {
                eprintln!("SKIPPED: {variant} (needs TEST_POSTGRES_URL)");
                continue;
            }
            copy_dir(&walk, &dir);
            ran += 1;
            if let Err(said) = run(&argv, &dir, &fixture.certs).await {
                refused.push(format!("README: {}\nran: {}\nsaid: {}", documented.text, argv.join(" "), said.trim()));
            }
        }
        // A revoked router, or one with a new token, would refuse what follows with the
        // fixture's token: the walk keeps both as they were.
        if !documented.text.contains(" revoke ") && !documented.text.contains(" rotate-token ") {
            fixture.data_dir = walk.join("agent");
            let plain = argv(&variants(&documented.text)[0], &fixture);
            let _ = run(&plain, &walk, &fixture.certs).await;
        }
    }
    assert!(ran >= commands.len(), "ran {ran} variants of {} commands", commands.len());
    assert!(refused.is_empty(), "{} documented command(s) refused:\n\n{}", refused.len(), refused.join("\n\n"));
}

#[test]
fn optional_groups_and_placeholders_are_read_as_documented() {
    assert_eq!(
        variants("jasiyo-cloud x --a 1 [--b 2] [--c 3 | --d 4]"),
        ["jasiyo-cloud x --a 1", "jasiyo-cloud x --a 1 --b 2 --c 3", "jasiyo-cloud x --a 1 --b 2 --d 4"]
    );
    assert_eq!(strip_comment(r#"jasiyo-cloud tenant create --name "A #1"   # note"#), r#"jasiyo-cloud tenant create --name "A #1""#);
    let f = Fixture {
        data_dir: PathBuf::from("/d"),
        router: "R".into(),
        token: "TOK".into(),
        payment: "P1".into(),
        open_payment: "P2".into(),
        plan: "PL".into(),
        voucher: ["VB".into(), "VC".into()],
        postgres: None,
        certs: PathBuf::from("/c"),
        backup: PathBuf::from("/b.db"),
    };
    assert_eq!(
        argv(r#"jasiyo-cloud router add --tenant "Mama Mboga WiFi" --name <id> --token <agent token> --mac M"#, &f),
        ["jasiyo-cloud", "router", "add", "--tenant", "Mama Mboga WiFi", "--name", "R", "--token", "TOK", "--mac", "AA:BB:CC:DD:EE:01"]
    );
}
