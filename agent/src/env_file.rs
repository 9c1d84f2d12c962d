//! Settings from a file instead of the environment: `JASIYO_ENV_FILE=/data/agent.env` names a
//! file of `JASIYO_...=value` lines that fill in whatever the environment does not set.
//!
//! On a RouterOS container this keeps the token and the API password out of the container's
//! own settings, which `/export` prints: the install script writes them to a file on the
//! container's disk instead and passes only this variable. Blank lines and `#` comments are
//! skipped; a value is taken as it stands after the first `=` (no quotes, no escapes); only
//! `JASIYO_` names the agent reads are taken, and a flag or the environment wins over the
//! file (its values become the arguments' defaults).

use std::path::PathBuf;

/// The variable naming the file.
pub const ENV_FILE_VAR: &str = "JASIYO_ENV_FILE";

/// (name, value) pairs in file order.
pub type Settings = Vec<(String, String)>;

/// What a settings file holds.
pub fn parse(text: &str) -> Result<Settings, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').ok_or_else(|| format!("line {}: not NAME=value", n + 1))?;
        let name = name.trim();
        if !name.starts_with("JASIYO_")
            || name == ENV_FILE_VAR
            || !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!("line {}: {name:?} is not a JASIYO_ setting", n + 1));
        }
        out.push((name.to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// The settings file named by [`ENV_FILE_VAR`], if any: its path and what it holds.
pub fn load() -> Result<Option<(PathBuf, Settings)>, String> {
    let Some(path) = std::env::var_os(ENV_FILE_VAR).map(PathBuf::from) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{ENV_FILE_VAR}={}: {e}", path.display()))?;
    let pairs = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some((path, pairs)))
}

/// `command` with the file's settings as the defaults of the arguments read from those
/// variables (hidden from `--help`, which would print the token): a flag or the environment
/// still wins. The names it used, for the log; a name no argument reads is an error.
pub fn apply(mut command: clap::Command, pairs: &[(String, String)]) -> Result<(clap::Command, Vec<String>), String> {
    let mut used = Vec::new();
    for (name, value) in pairs {
        let mut found = false;
        for sub in command.get_subcommands_mut() {
            let ids: Vec<clap::Id> =
                sub.get_arguments().filter(|a| a.get_env().is_some_and(|e| e == name.as_str())).map(|a| a.get_id().clone()).collect();
            for id in ids {
                found = true;
                // Parsed once at start: leaking these few bytes gives clap the `'static` it wants.
                let value: &'static str = Box::leak(value.clone().into_boxed_str());
                *sub = std::mem::take(sub).mut_arg(id, |a| a.default_value(value).hide_default_value(true).required(false));
            }
        }
        if !found {
            return Err(format!("{name} is not a setting of the agent"));
        }
        used.push(name.clone());
    }
    Ok((command, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_refusals() {
        let parsed = parse("# the agent\n\nJASIYO_TOKEN=ab=cd\n  JASIYO_ROUTER_ID = 42 \n").unwrap();
        assert_eq!(parsed, [("JASIYO_TOKEN".into(), "ab=cd".into()), ("JASIYO_ROUTER_ID".into(), "42".into())]);
        assert_eq!(parse("PATH=/tmp\n").unwrap_err(), "line 1: \"PATH\" is not a JASIYO_ setting");
        assert_eq!(parse("JASIYO_TOKEN\n").unwrap_err(), "line 1: not NAME=value");
        assert!(parse("JASIYO_ENV_FILE=/x\n").is_err(), "no file names another");
    }
}
