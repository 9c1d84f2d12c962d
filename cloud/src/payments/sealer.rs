//! Provider credentials at rest: sealed with ChaCha20-Poly1305 under a key the operator
//! supplies (the sealing key, base64 of 32 bytes) or a key file that the cloud creates
//! on first start (`<data-dir>/secret.key`, mode 0600). Losing the key loses the stored
//! credentials (owners enter them again); it never exposes them.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
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
    /// file with a fresh random key if it does not exist.
    pub fn from_key_or_file(key: Option<&str>, file: &Path) -> anyhow::Result<Sealer> {
        use anyhow::Context;
        if let Some(text) = key.filter(|k| !k.trim().is_empty()) {
            return Ok(Sealer::new(decode_key(text.trim()).context("the sealing key must be base64 of 32 bytes")?));
        }
        if file.exists() {
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

    /// Encrypts `plain` (with a fresh random nonce).
    pub fn seal(&self, plain: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), plain).map_err(|e| SealError(e.to_string()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(B64.encode(out))
    }

    /// Decrypts what [`Sealer::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = B64.decode(sealed).map_err(|_| SealError("not base64".into()))?;
        if bytes.len() < 12 + 16 {
            return Err(SealError("too short".into()));
        }
        let (nonce, body) = bytes.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| SealError("cannot decrypt (damaged, or sealed under another key)".into()))
    }
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
