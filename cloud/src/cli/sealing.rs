//! The key sealing provider credentials and alert webhook secrets at rest: `--sealing-key` / `JASIYO_SEALING_KEY`,
//! or the deprecated `JASIYO_SECRET_KEY`, read from the environment only (its flag,
//! `--secret-key`, was global and took Paystack's `--secret-key` for itself: issue 18).

use anyhow::bail;

use crate::providers::Secret;

/// The sealing key's variable.
pub const SEALING_KEY_ENV: &str = "JASIYO_SEALING_KEY";
/// The deprecated name of [`SEALING_KEY_ENV`], still read from the environment.
pub const DEPRECATED_SEALING_KEY_ENV: &str = "JASIYO_SECRET_KEY";

/// The key sealing provider credentials: `flag` (`--sealing-key`, or `JASIYO_SEALING_KEY`
/// as clap read it), else the deprecated `JASIYO_SECRET_KEY`; `None` means the key file in
/// the data directory. Both names set to different keys is an error, not a guess.
pub fn sealing_key(flag: Option<&str>) -> anyhow::Result<Option<Secret>> {
    let deprecated = match std::env::var(DEPRECATED_SEALING_KEY_ENV) {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => bail!("{DEPRECATED_SEALING_KEY_ENV} is not UTF-8"),
    };
    resolve(flag, deprecated.as_deref())
}

fn resolve(flag: Option<&str>, deprecated: Option<&str>) -> anyhow::Result<Option<Secret>> {
    match (given(flag), given(deprecated)) {
        (Some(key), Some(old)) if key != old => bail!(
            "{SEALING_KEY_ENV} (or --sealing-key) and the deprecated {DEPRECATED_SEALING_KEY_ENV} are both set, \
             to different keys; keep the one that sealed the stored credentials as {SEALING_KEY_ENV} and unset {DEPRECATED_SEALING_KEY_ENV}"
        ),
        (Some(key), _) => Ok(Some(Secret(key.to_string()))),
        (None, Some(old)) => {
            tracing::warn!(
                deprecated = DEPRECATED_SEALING_KEY_ENV,
                use_instead = SEALING_KEY_ENV,
                "deprecated variable for the sealing key"
            );
            Ok(Some(Secret(old.to_string())))
        }
        (None, None) => Ok(None),
    }
}

/// An empty value means "not set", as it always has (the key file is used).
fn given(key: Option<&str>) -> Option<&str> {
    key.map(str::trim).filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(flag: Option<&str>, deprecated: Option<&str>) -> Option<String> {
        resolve(flag, deprecated).unwrap().map(|secret| secret.0)
    }

    #[test]
    fn the_new_name_the_old_name_or_neither_but_never_two_keys() {
        assert_eq!(key(Some("a"), None), Some("a".into()));
        assert_eq!(key(None, Some("b")), Some("b".into()));
        assert_eq!(key(Some(" a "), Some("a")), Some("a".into()), "the same key twice is fine");
        assert_eq!(key(None, None), None);
        assert_eq!(key(Some(""), Some("  ")), None, "empty is unset");
        assert_eq!(key(Some(""), Some("b")), Some("b".into()));
        let error = resolve(Some("a"), Some("b")).unwrap_err().to_string();
        assert!(error.contains("JASIYO_SEALING_KEY") && error.contains("JASIYO_SECRET_KEY"), "{error}");
    }
}
