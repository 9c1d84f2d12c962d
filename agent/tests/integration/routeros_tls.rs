//! API-SSL: the RouterOS client over rustls, trusting a CA or a pinned certificate, and
//! refusing anything else with an error that explains RouterOS's anonymous-DH default.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jasiyo_agent::routeros::codec::{read_sentence, write_sentence};
use jasiyo_agent::routeros::sentence::Request;
use jasiyo_agent::routeros::{ApiError, Router, RouterOsConfig, RouterTls, RouterTrust};
use jasiyo_shared::command::Password;
use rustls::ServerConfig;
use rustls::pki_types::PrivateKeyDer;
use tokio::net::TcpListener;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A TLS "router" that accepts any login and answers `/system/identity/print`.
async fn tls_router() -> std::net::SocketAddr {
    let certs = rustls_pemfile::certs(&mut BufReader::new(std::fs::File::open(fixture("localhost.pem")).unwrap()))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(std::fs::File::open(fixture("localhost.key")).unwrap())).unwrap().unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                while let Ok(Some(words)) = read_sentence(&mut tls).await {
                    let request = Request::parse(&words).unwrap();
                    let tag = format!(".tag={}", request.tag.unwrap_or_default());
                    if request.command == "/system/identity/print" {
                        write_sentence(&mut tls, &["!re", "=name=tls-router", &tag]).await.unwrap();
                    }
                    write_sentence(&mut tls, &["!done", &tag]).await.unwrap();
                }
            });
        }
    });
    addr
}

fn router(addr: std::net::SocketAddr, server_name: &str, trust: RouterTrust) -> Result<Router, ApiError> {
    Router::new(RouterOsConfig {
        addr: addr.to_string(),
        username: "admin".into(),
        password: Password("secret".into()),
        tls: Some(RouterTls { server_name: server_name.into(), trust }),
        timeout: Duration::from_secs(5),
    })
}

#[tokio::test]
async fn a_ca_signed_router_certificate_is_trusted() {
    let addr = tls_router().await;
    let router = router(addr, "localhost", RouterTrust::CaFile(fixture("ca.pem"))).unwrap();
    assert_eq!(router.info().await.unwrap().identity.as_deref(), Some("tls-router"));
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_whatever_its_name() {
    let addr = tls_router().await;
    let router = router(addr, "any-name.invalid", RouterTrust::Pinned(fixture("localhost.pem"))).unwrap();
    assert_eq!(router.info().await.unwrap().identity.as_deref(), Some("tls-router"));
}

#[tokio::test]
async fn anything_else_is_refused_with_the_anonymous_dh_hint() {
    let addr = tls_router().await;
    // Wrong pin: the CA certificate is not the router's.
    let router1 = router(addr, "localhost", RouterTrust::Pinned(fixture("ca.pem"))).unwrap();
    // Right CA, wrong name.
    let router2 = router(addr, "router.example", RouterTrust::CaFile(fixture("ca.pem"))).unwrap();
    for router in [router1, router2] {
        match router.info().await {
            Err(ApiError::Tls(message)) => assert!(message.contains("anonymous Diffie-Hellman"), "{message}"),
            other => panic!("expected a TLS error, got {other:?}"),
        }
    }
    // Unreadable trust files are refused up front.
    assert!(matches!(router(addr, "localhost", RouterTrust::CaFile(fixture("README.md"))), Err(ApiError::Tls(_))));
    assert!(matches!(router(addr, "localhost", RouterTrust::Pinned(fixture("missing.pem"))), Err(ApiError::Tls(_))));
}
