//! Provider settings at rest: bound to their tenant and kind, older ones sealed again when
//! the service starts, and a key file others can read refused at start.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jasiyo_cloud::model::{ProviderKind, StoredProvider};
use jasiyo_cloud::payments::providers_config::{open_settings, reseal_legacy, seal_settings};
use jasiyo_cloud::payments::sealer::{KeyFileAccess, Sealer, is_bound};
use jasiyo_cloud::providers::{ProviderConfig, Secret};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::{App, CloudConfig};
use tempfile::TempDir;

struct World {
    _dir: TempDir,
    url: String,
    store: Arc<dyn Store>,
}

impl World {
    async fn new(backend: Backend) -> Option<World> {
        let dir = TempDir::new().unwrap();
        let url = fresh_database_url(backend, dir.path()).await?;
        let store = jasiyo_cloud::store::connect(Some(&url), dir.path()).await.unwrap();
        Some(World { _dir: dir, url, store })
    }
}

fn paystack(key: &str) -> ProviderConfig {
    ProviderConfig::Paystack { secret_key: Secret(key.into()), base_url: None }
}

fn payhero() -> ProviderConfig {
    ProviderConfig::Payhero {
        username: Secret("u".into()),
        password: Secret("p".into()),
        channel_id: 7,
        channel: Default::default(),
        base_url: None,
    }
}

async fn sealed_settings_copied_to_another_tenant_or_kind_do_not_open(w: World) {
    let sealer = Sealer::new([5; 32]);
    let a = w.store.create_tenant("Alpha", now_ms()).await.unwrap();
    let b = w.store.create_tenant("Beta", now_ms()).await.unwrap();
    let a_sealed = seal_settings(&sealer, a.id, &paystack("sk_test_alpha")).unwrap();
    w.store.set_provider(a.id, ProviderKind::Paystack, &a_sealed, Some("hash-a"), now_ms()).await.unwrap();
    let a_stored = w.store.provider_settings(a.id, ProviderKind::Paystack).await.unwrap().unwrap();
    assert_eq!(open_settings(&sealer, &a_stored).unwrap(), paystack("sk_test_alpha"));

    // Someone with write access to the database copies Alpha's sealed keys to Beta's row.
    w.store.set_provider(b.id, ProviderKind::Paystack, &a_sealed, Some("hash-b"), now_ms()).await.unwrap();
    let b_stored = w.store.provider_settings(b.id, ProviderKind::Paystack).await.unwrap().unwrap();
    assert_eq!(b_stored.sealed, a_sealed);
    assert!(open_settings(&sealer, &b_stored).is_err(), "Alpha's settings do not open as Beta's");

    // ... or relabels them as another kind on Alpha's own row.
    let relabelled = StoredProvider { tenant_id: a.id, kind: ProviderKind::Payhero, sealed: a_sealed.clone() };
    assert!(open_settings(&sealer, &relabelled).is_err(), "Paystack settings do not open as PayHero's");
}

async fn settings_sealed_before_binding_open_and_are_sealed_again_at_start(w: World) {
    let key = [9u8; 32];
    let sealer = Sealer::new(key);
    let tenant = w.store.create_tenant("Kibanda", now_ms()).await.unwrap();
    // As the previous version wrote them: no associated data. PayHero first, then Paystack,
    // so PayHero's are kept in the history for payments in flight.
    let old_payhero = sealer.seal(&serde_json::to_vec(&payhero()).unwrap()).unwrap();
    w.store.set_provider(tenant.id, ProviderKind::Payhero, &old_payhero, Some("hash-1"), now_ms()).await.unwrap();
    let old_paystack = sealer.seal(&serde_json::to_vec(&paystack("sk_test_old")).unwrap()).unwrap();
    w.store.set_provider(tenant.id, ProviderKind::Paystack, &old_paystack, Some("hash-2"), now_ms()).await.unwrap();
    assert_eq!(w.store.legacy_sealed_providers().await.unwrap().len(), 2);
    let stored = w.store.provider_settings(tenant.id, ProviderKind::Paystack).await.unwrap().unwrap();
    assert_eq!(open_settings(&sealer, &stored).unwrap(), paystack("sk_test_old"), "old settings still open");

    // Starting the service seals them again, bound.
    let dir = TempDir::new().unwrap();
    let config = CloudConfig {
        database_url: Some(w.url.clone()),
        data_dir: dir.path().to_path_buf(),
        public_url: "http://127.0.0.1".into(),
        hub: Default::default(),
        sealing_key: Some(Secret(B64.encode(key))),
        trusted_proxies: Default::default(),
        key_file_access: KeyFileAccess::OwnerOnly,
        timeouts: Default::default(),
        limits: Default::default(),
        holds: Default::default(),
        paystack_email_domain: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    drop(App::build(config, listener).await.unwrap());

    assert!(w.store.legacy_sealed_providers().await.unwrap().is_empty(), "nothing left unbound");
    for (kind, config) in [(ProviderKind::Paystack, paystack("sk_test_old")), (ProviderKind::Payhero, payhero())] {
        let stored = w.store.provider_settings(tenant.id, kind).await.unwrap().unwrap();
        assert!(is_bound(&stored.sealed), "{kind:?} sealed again, bound");
        assert_eq!(open_settings(&sealer, &stored).unwrap(), config);
    }
    assert!(w.store.provider_by_callback_token("hash-2").await.unwrap().is_some(), "the callback token is kept");
    assert_eq!(reseal_legacy(w.store.as_ref(), &sealer).await.unwrap(), 0, "once is enough");
}

jasiyo_cloud::on_each_backend!(World::new;
    sealed_settings_copied_to_another_tenant_or_kind_do_not_open,
    settings_sealed_before_binding_open_and_are_sealed_again_at_start,
);

#[cfg(unix)]
#[tokio::test]
async fn the_service_refuses_a_key_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("secret.key");
    std::fs::write(&file, B64.encode([1u8; 32])).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = |access| CloudConfig {
        database_url: None,
        data_dir: dir.path().to_path_buf(),
        public_url: "http://127.0.0.1".into(),
        hub: Default::default(),
        sealing_key: None,
        trusted_proxies: Default::default(),
        key_file_access: access,
        timeouts: Default::default(),
        limits: Default::default(),
        holds: Default::default(),
        paystack_email_domain: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = App::build(config(KeyFileAccess::OwnerOnly), listener).await.err().expect("refused").to_string();
    assert!(error.contains("chmod 600"), "{error}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(App::build(config(KeyFileAccess::AllowReadable), listener).await.is_ok(), "allowed when the operator says so");
}
