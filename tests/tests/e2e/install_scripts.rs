//! The RouterOS scripts an owner pastes into a router, as the real binary prints them,
//! checked against the command lists of real RouterOS versions (`tests/data/routeros/`):
//! every command and named argument they use exists there. RouterOS parses a whole script
//! before running any of it, so one unknown name fails the whole install.
//!
//! - The hotspot install script (and its one-line fetch command): every listed version,
//!   7.15.2 to 7.24.
//! - The container install script and the token update script: RouterOS 7.21 and later
//!   (they use `/container add env=` and `mount=`, which 7.21 introduced); on 7.20 the check
//!   finds exactly those, which shows the check can fail.

use std::path::Path;

use jasiyo_tests::processes::binary;
use jasiyo_tests::routeros_script::{Catalog, VERSIONS, check};
use serde_json::Value;

/// Runs `jasiyo-cloud` on `dir`: its standard output.
fn cloud(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(binary("jasiyo-cloud"))
        .args(args)
        .env("JASIYO_DATA_DIR", dir)
        .env_remove("JASIYO_TOKEN")
        .env_remove("JASIYO_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A router made with the binary: its id and token.
fn router(dir: &Path) -> (String, String) {
    cloud(dir, &["tenant", "create", "--name", "T", "--json"]);
    let added: Value = serde_json::from_str(&cloud(dir, &["router", "add", "--tenant", "T", "--name", "gate", "--json"])).unwrap();
    (added["id"].as_str().unwrap().to_string(), added["token"].as_str().unwrap().to_string())
}

/// A RouterOS string literal's text (its escapes undone).
fn unescape(literal: &str) -> String {
    let mut out = String::new();
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn problems(script: &str, version: &str) -> Vec<String> {
    check(script, &Catalog::load(version)).iter().map(ToString::to_string).collect()
}

#[test]
fn the_hotspot_install_script_uses_only_commands_of_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = router(dir.path());
    let script = cloud(dir.path(), &["router", "install-script", &id, "--token", &token, "--public-url", "https://pay.example"]);
    assert!(script.contains("html-directory-override=\"\""), "the script clears an override that would win");
    assert!(script.contains("check-certificate=yes"), "https downloads check the certificate");
    let command = script.lines().nth(2).unwrap().trim_start_matches("#   ");
    assert!(command.starts_with(":do { /tool fetch "), "{command}");
    for version in VERSIONS {
        assert_eq!(problems(&script, version), Vec::<String>::new(), "the install script on RouterOS {version}");
        assert_eq!(problems(command, version), Vec::<String>::new(), "the one-line command on RouterOS {version}");
    }
}

#[test]
fn the_container_scripts_use_only_commands_of_7_21_and_later() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = router(dir.path());
    let script = cloud(dir.path(), &["router", "container-script", &id, "--token", &token, "--public-url", "https://pay.example"]);
    assert!(script.contains(&format!("JASIYO_TOKEN={token}\\n")), "{script}");
    for version in ["7.21", "7.22", "7.24"] {
        assert_eq!(problems(&script, version), Vec::<String>::new(), "the container script on RouterOS {version}");
    }
    // The settings file the script writes is what the agent reads (JASIYO_ENV_FILE).
    let literal = script.split("contents=\"").nth(1).expect("the settings file").split("\"\n").next().unwrap();
    let settings = jasiyo_agent::env_file::parse(&unescape(literal)).expect("the agent reads the settings file");
    let names: Vec<&str> = settings.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "JASIYO_CLOUD_URL",
            "JASIYO_ROUTER_ID",
            "JASIYO_TOKEN",
            "JASIYO_ROUTEROS_ADDR",
            "JASIYO_ROUTEROS_USER",
            "JASIYO_ROUTEROS_PASSWORD",
            "JASIYO_DATA_DIR"
        ]
    );
    assert!(settings.contains(&("JASIYO_TOKEN".to_string(), token.clone())));
    let older = problems(&script, "7.20");
    assert!(!older.is_empty() && older.iter().all(|p| p.ends_with("no argument env") || p.ends_with("no argument mount")), "{older:?}");

    let update = jasiyo_cloud::portal::container::token_update_script(&jasiyo_cloud::portal::container::ContainerInstall {
        cloud_url: "https://pay.example",
        router: id.parse().unwrap(),
        router_name: "gate",
        token: &token,
        api_password: "pw",
    });
    for version in ["7.21", "7.22", "7.24"] {
        assert_eq!(problems(&update, version), Vec::<String>::new(), "the token update script on RouterOS {version}");
    }

    // The script is for the router's own token only.
    let out = std::process::Command::new(binary("jasiyo-cloud"))
        .args(["router", "container-script", &id, "--token", "not-the-token"])
        .env("JASIYO_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not router"), "{}", String::from_utf8_lossy(&out.stderr));
}
