//! `store::backup` on real SQLite files: a backup is a checked, complete copy; a restore
//! refuses a damaged file, one from a newer version and a database that holds data (unless
//! forced), and what it restores opens as the cloud's store with everything in it.

use std::path::Path;

use jasiyo_cloud::store::backup::{self, Contents};
use jasiyo_cloud::store::{SqliteStore, Store, now_ms};

async fn shop_db(file: &Path, tenants: &[&str]) {
    let store = SqliteStore::connect(&format!("sqlite://{}?mode=rwc", file.display())).await.unwrap();
    for name in tenants {
        store.create_tenant(name, now_ms()).await.unwrap();
    }
}

fn error_of(result: anyhow::Result<Contents>) -> String {
    format!("{:#}", result.expect_err("refused"))
}

#[tokio::test]
async fn a_backup_restores_and_the_checks_refuse_what_they_should() {
    let dir = tempfile::TempDir::new().unwrap();
    let live = dir.path().join("live.db");
    shop_db(&live, &["Mama Mboga", "Kibanda"]).await;
    let copy = dir.path().join("copy.db");
    let contents = backup::backup(&live, &copy).await.unwrap();
    assert_eq!(contents, Contents { tenants: 2, routers: 0, payments: 0 });
    assert!(!dir.path().join("copy.db.partial").exists());
    assert!(error_of(backup::backup(&live, &copy).await).contains("exists already"), "never over an old backup");

    // Into a new place: everything is there, and it opens as the cloud's store.
    let fresh = dir.path().join("fresh").join("jasiyo.db");
    assert_eq!(backup::restore(&copy, &fresh, false).await.unwrap().tenants, 2);
    let store = SqliteStore::connect(&format!("sqlite://{}", fresh.display())).await.unwrap();
    assert!(store.find_tenant("Kibanda").await.unwrap().is_some());
    drop(store);

    // Over a database with data: only when forced.
    let other = dir.path().join("other.db");
    shop_db(&other, &["Someone else"]).await;
    assert!(error_of(backup::restore(&copy, &other, false).await).contains("--force"));
    backup::restore(&copy, &other, true).await.unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}", other.display())).await.unwrap();
    assert!(store.find_tenant("Someone else").await.unwrap().is_none(), "replaced");
    assert!(store.find_tenant("Mama Mboga").await.unwrap().is_some());
    drop(store);

    // A damaged file, and a backup from a newer version, are refused.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    backup::restore(&garbage, &dir.path().join("g.db"), false).await.expect_err("not a database");
    let newer = dir.path().join("newer.db");
    std::fs::copy(&copy, &newer).unwrap();
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}", newer.display())).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101, 'future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    assert!(error_of(backup::restore(&newer, &dir.path().join("n.db"), false).await).contains("newer jasiyo-cloud"));
    assert!(!dir.path().join("n.db").exists() && !dir.path().join("g.db").exists(), "nothing written when refused");

    // PostgreSQL has its own tools.
    let postgres = backup::sqlite_file(Some("postgres://db/jasiyo"), dir.path()).unwrap_err();
    assert!(postgres.to_string().contains("pg_dump"));
}
