//! TLS for the link: rustls with the ring provider, the web's root CAs and an optional
//! private CA from a PEM file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::Connector;

/// Builds the connector used for `wss://` (it is ignored for `ws://`).
pub fn connector(ca_file: Option<&Path>) -> anyhow::Result<Connector> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let added = add_pem_file(&mut roots, path)?;
        tracing::info!(ca_file = %path.display(), certificates = added, "trusting extra CA certificates");
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("the ring crypto provider supports no safe TLS version")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

/// Adds every certificate in a PEM file; a file with none is an error (a wrong path is more
/// likely than an intentionally empty bundle).
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> anyhow::Result<usize> {
    let file = File::open(path).with_context(|| format!("cannot open CA file {}", path.display()))?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
        let cert = cert.with_context(|| format!("cannot read CA file {}", path.display()))?;
        roots.add(cert).with_context(|| format!("bad certificate in CA file {}", path.display()))?;
        added += 1;
    }
    if added == 0 {
        bail!("CA file {} holds no PEM certificates", path.display());
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_connector_builds() {
        assert!(matches!(connector(None).unwrap(), Connector::Rustls(_)));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        assert!(connector(Some(&path)).is_err());
        assert!(connector(Some(&dir.path().join("missing.pem"))).is_err());
    }
}
