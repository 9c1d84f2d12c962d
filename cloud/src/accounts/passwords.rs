//! Passwords: argon2id with the crate's default cost (19 MiB, 2 passes, 1 lane: OWASP's
//! minimum recommendation), stored as PHC strings; hashing runs off the async threads.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password accepted (NIST SP 800-63B's minimum for a chosen password).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest (a bound on the work one request can ask for).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Why a new password is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("the password must have at least 8 characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("the password must have at most 256 bytes")]
    TooLong,
}

/// Checks a new password's length.
pub fn check_new(password: &str) -> Result<(), WeakPassword> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Err(WeakPassword::TooShort)
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err(WeakPassword::TooLong)
    } else {
        Ok(())
    }
}

/// Hashes a password (argon2id, random salt) into a PHC string.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches the PHC string `stored`; with no stored hash, a hash of the
/// same cost is still checked (and fails), so an unknown account takes as long as a known one.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let Some(stored) = stored else {
            let _ = Argon2::default().hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng));
            return false;
        };
        match PasswordHash::new(&stored) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(error) => {
                tracing::error!(%error, "a stored password hash cannot be read");
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse").await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse", Some(&stored)).await);
        assert!(!verify("correct hors", Some(&stored)).await);
        assert!(!verify("correct horse", None).await);
        assert!(!verify("correct horse", Some("not a hash")).await);
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(check_new("1234567"), Err(WeakPassword::TooShort));
        assert_eq!(check_new("12345678"), Ok(()));
        assert_eq!(check_new(&"x".repeat(257)), Err(WeakPassword::TooLong));
    }
}
