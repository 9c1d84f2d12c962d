//! API-SSL (port 8729) through rustls.
//!
//! RouterOS offers only anonymous Diffie-Hellman suites on `api-ssl` unless a certificate is
//! assigned to the service, and rustls (rightly) has no anonymous suites. So: assign a
//! certificate (a self-signed one is fine) and either pin it (`--routeros-cert-pin-file`)
//! or trust the CA that signed it (`--routeros-ca-file`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::ApiError;

/// How the agent decides to trust the router's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterTrust {
    /// Certificates signed by a CA in this PEM file (the name must match `server_name`).
    CaFile(PathBuf),
    /// Exactly this certificate (PEM or DER file), whatever its name or issuer.
    Pinned(PathBuf),
}

/// API-SSL settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterTls {
    /// The name to check the certificate against (for [`RouterTrust::CaFile`]).
    pub server_name: String,
    /// What to trust.
    pub trust: RouterTrust,
}

/// What the error message says when a handshake fails, because the usual cause is
/// RouterOS's certificate-less anonymous-DH default.
pub const ADH_HINT: &str = "RouterOS offers only anonymous Diffie-Hellman on api-ssl when no certificate is \
    assigned, and rustls does not support that: assign a certificate to /ip service api-ssl and pin it \
    (--routeros-cert-pin-file) or trust its CA (--routeros-ca-file)";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the connector for these settings.
pub fn connector(tls: &RouterTls) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), ApiError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().map_err(|e| ApiError::Tls(e.to_string()))?;
    let config = match &tls.trust {
        RouterTrust::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certificates(path)? {
                roots.add(cert).map_err(|e| ApiError::Tls(format!("bad CA certificate in {}: {e}", path.display())))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        RouterTrust::Pinned(path) => {
            let pinned = read_certificates(path)?.into_iter().next().expect("read_certificates returns at least one");
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertificate { pinned, provider: provider() }))
                .with_no_client_auth()
        }
    };
    let name = ServerName::try_from(tls.server_name.clone())
        .map_err(|_| ApiError::Tls(format!("{:?} is not a valid TLS server name", tls.server_name)))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// Reads PEM certificates, or one DER certificate.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ApiError> {
    let bytes = std::fs::read(path).map_err(|e| ApiError::Tls(format!("cannot read {}: {e}", path.display())))?;
    let pem: Vec<_> = rustls_pemfile::certs(&mut bytes.as_slice()).filter_map(Result::ok).collect();
    if !pem.is_empty() {
        return Ok(pem);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    Err(ApiError::Tls(format!("{} holds no certificate (PEM or DER)", path.display())))
}

/// Trusts one exact certificate; still checks that the server holds its private key.
#[derive(Debug)]
struct PinnedCertificate {
    pinned: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the router's certificate is not the pinned one".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
