//! Provider credentials at rest: sealed with ChaCha20-Poly1305 under a key the operator
//! supplies (the sealing key, base64 of 32 bytes) or a key file that the cloud creates
//! on first start (`<data-dir>/secret.key`, mode 0600). Losing the key loses the stored
//! credentials (owners enter them again); it never exposes them.
//!
//! A value sealed with associated data ([`Sealer::seal_bound`]: the tenant and provider it
//! belongs to) opens only with the same associated data, so a sealed value copied to another
//! row does not open there. It is written `v2.` + base64; values sealed before that
//! (plain base64, no associated data) still open with [`Sealer::open_legacy`] until they are
//! sealed again. The key file must be readable by its owner only ([`check_key_file`]).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::model::PaymentId;

/// HMAC-SHA256 of `data` under `key`.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Seals and opens secrets, and makes the payments' view keys.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// HMAC key for view keys, derived from the sealing key (so every instance sharing the
    /// key makes the same ones, and none can be made without it).
    views: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

/// Sealing failed or a sealed value is damaged (or was sealed under another key).
#[derive(Debug, thiserror::Error)]
#[error("secret store: {0}")]
pub struct SealError(pub String);

impl Sealer {
    /// A sealer from a 32-byte key.
    pub fn new(key: [u8; 32]) -> Sealer {
        let views = hmac_sha256(&key, b"jasiyo payment view keys v1");
        Sealer { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)), views }
    }

    /// The view key of a payment: the secret that lets its holder see the payment's login and
    /// receipt. Given only to whoever started the payment (and to whoever later proves it was
    /// theirs with the receipt and the phone); the payment id alone shows only its status.
    pub fn view_key(&self, payment: PaymentId) -> String {
        hex::encode(hmac_sha256(&self.views, payment.0.as_bytes()))
    }

    /// Whether `presented` is the payment's view key (compared in constant time).
    pub fn is_view_key(&self, payment: PaymentId, presented: &str) -> bool {
        let Ok(presented) = hex::decode(presented.trim()) else { return false };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.views).expect("HMAC takes any key length");
        mac.update(payment.0.as_bytes());
        mac.verify_slice(&presented).is_ok()
    }

    /// The sealer under `key` (base64) if given, else under the key in `file`, creating the
    /// file with a fresh random key if it does not exist. A key file that group or others
    /// can read is refused (see [`Sealer::from_key_or_file_allowing`]).
    pub fn from_key_or_file(key: Option<&str>, file: &Path) -> anyhow::Result<Sealer> {
        Sealer::from_key_or_file_allowing(key, file, KeyFileAccess::OwnerOnly)
    }

    /// [`Sealer::from_key_or_file`], with `access` deciding whether a key file readable by
    /// group or others is refused or only warned about.
    pub fn from_key_or_file_allowing(key: Option<&str>, file: &Path, access: KeyFileAccess) -> anyhow::Result<Sealer> {
        use anyhow::Context;
        if let Some(text) = key.filter(|k| !k.trim().is_empty()) {
            return Ok(Sealer::new(decode_key(text.trim()).context("the sealing key must be base64 of 32 bytes")?));
        }
        if file.exists() {
            check_key_file(file, access)?;
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            return Ok(Sealer::new(decode_key(text.trim()).with_context(|| format!("{} must hold base64 of 32 bytes", file.display()))?));
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_private(file, &B64.encode(key)).with_context(|| format!("writing {}", file.display()))?;
        tracing::warn!(key_file = %file.display(), "created a new secret key for provider credentials; back it up");
        Ok(Sealer::new(key))
    }

    /// Encrypts `plain` (with a fresh random nonce), without associated data.
    pub fn seal(&self, plain: &[u8]) -> Result<String, SealError> {
        Ok(B64.encode(self.encrypt(plain, b"")?))
    }

    /// Decrypts what [`Sealer::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        self.decrypt(&B64.decode(sealed).map_err(|_| SealError("not base64".into()))?, b"")
    }

    /// Encrypts `plain` bound to `aad` (what it belongs to): it opens only with the same `aad`.
    pub fn seal_bound(&self, plain: &[u8], aad: &[u8]) -> Result<String, SealError> {
        Ok(format!("{BOUND_PREFIX}{}", B64.encode(self.encrypt(plain, aad)?)))
    }

    /// Decrypts what [`Sealer::seal_bound`] produced under the same `aad`. A value sealed
    /// without associated data is refused here (see [`Sealer::open_legacy`]).
    pub fn open_bound(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(BOUND_PREFIX).ok_or_else(|| SealError("not sealed with associated data".into()))?;
        self.decrypt(&B64.decode(body).map_err(|_| SealError("not base64".into()))?, aad)
    }

    /// Decrypts a value sealed before associated data existed ([`Sealer::seal`]); `None` when
    /// `sealed` is a bound value (which must be opened with its associated data).
    pub fn open_legacy(&self, sealed: &str) -> Option<Result<Vec<u8>, SealError>> {
        (!is_bound(sealed)).then(|| self.open(sealed))
    }

    fn encrypt(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad }).map_err(|e| SealError(e.to_string()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn decrypt(&self, bytes: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if bytes.len() < 12 + 16 {
            return Err(SealError("too short".into()));
        }
        let (nonce, body) = bytes.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| SealError("cannot decrypt (damaged, sealed under another key, or belonging to another record)".into()))
    }
}

/// How a value sealed with associated data starts (base64 never holds a `.`).
const BOUND_PREFIX: &str = "v2.";

/// Whether `sealed` was sealed with associated data ([`Sealer::seal_bound`]).
pub fn is_bound(sealed: &str) -> bool {
    sealed.starts_with(BOUND_PREFIX)
}

/// Whether a sealing key file that group or others can read is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyFileAccess {
    /// Refuse it (the default): the key opens every tenant's provider credentials.
    #[default]
    OwnerOnly,
    /// Accept it with a loud warning (the operator said so: `--allow-readable-key-file`).
    AllowReadable,
}

/// Refuses (or, allowed, warns about) a key file that group or others can read.
#[cfg(unix)]
pub fn check_key_file(file: &Path, access: KeyFileAccess) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if access == KeyFileAccess::AllowReadable {
        tracing::warn!(key_file = %file.display(), mode = format!("{mode:o}"), "the sealing key file can be read by group or others; fix it with chmod 600");
        return Ok(());
    }
    anyhow::bail!(
        "the sealing key file {} can be read by group or others (mode {mode:o}); it opens every provider's credentials: \
         run `chmod 600 {}` (or start with --allow-readable-key-file to accept it anyway)",
        file.display(),
        file.display()
    )
}

/// Refuses (or, allowed, warns about) a key file that group or others can read: nothing to
/// check where files have no Unix modes.
#[cfg(not(unix))]
pub fn check_key_file(_file: &Path, _access: KeyFileAccess) -> anyhow::Result<()> {
    Ok(())
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64.decode(text)?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("not 32 bytes"))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal(b"passkey-123").unwrap();
        assert!(!sealed.contains("passkey"));
        assert_ne!(sealed, sealer.seal(b"passkey-123").unwrap(), "fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), b"passkey-123");
        assert!(Sealer::new([8; 32]).open(&sealed).is_err());
        assert!(sealer.open("garbage").is_err());
    }

    #[test]
    fn a_bound_value_opens_only_with_its_associated_data() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal_bound(b"passkey-123", b"tenant-a/daraja").unwrap();
        assert!(is_bound(&sealed) && !sealed.contains("passkey"));
        assert_eq!(sealer.open_bound(&sealed, b"tenant-a/daraja").unwrap(), b"passkey-123");
        assert!(sealer.open_bound(&sealed, b"tenant-b/daraja").is_err(), "another record's associated data");
        assert!(sealer.open_legacy(&sealed).is_none(), "a bound value is never opened without its associated data");
        assert!(sealer.open(&sealed).is_err());
        let legacy = sealer.seal(b"old").unwrap();
        assert!(!is_bound(&legacy));
        assert_eq!(sealer.open_legacy(&legacy).unwrap().unwrap(), b"old");
        assert!(sealer.open_bound(&legacy, b"").is_err(), "a legacy value is not a bound one");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_unless_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("secret.key");
        let sealed = Sealer::from_key_or_file(None, &file).unwrap().seal(b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Sealer::from_key_or_file(None, &file).unwrap_err().to_string();
        assert!(error.contains("chmod 600") && error.contains("--allow-readable-key-file"), "{error}");
        let allowed = Sealer::from_key_or_file_allowing(None, &file, KeyFileAccess::AllowReadable).unwrap();
        assert_eq!(allowed.open(&sealed).unwrap(), b"x");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(Sealer::from_key_or_file(None, &file).is_err(), "group-readable too");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Sealer::from_key_or_file(None, &file).is_ok());
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("secret.key");
        let sealed = Sealer::from_key_or_file(None, &file).unwrap().seal(b"x").unwrap();
        assert_eq!(Sealer::from_key_or_file(None, &file).unwrap().open(&sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let env = B64.encode([1u8; 32]);
        assert!(Sealer::from_key_or_file(Some(&env), &file).unwrap().open(&sealed).is_err());
        assert!(Sealer::from_key_or_file(Some("short"), &file).is_err());
    }
}
