//! Test databases: a fresh SQLite file, and a fresh PostgreSQL database on the
//! local server (127.0.0.1:5432, or TAVERN_TEST_PG_URL), created per test and
//! dropped afterwards. Without a reachable PostgreSQL the PostgreSQL half says
//! it is skipped.

use std::future::Future;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

pub(crate) const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn unique(name: &str) -> String {
    format!(
        "tavern_test_{}_{}_{:08x}",
        name,
        std::process::id(),
        rand::random::<u32>()
    )
}

/// A fresh SQLite database URL in the temp dir.
pub(crate) fn sqlite_url(name: &str) -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    (
        format!("sqlite://{}?mode=rwc", dir.join("test.db3").display()),
        dir,
    )
}

/// A fresh PostgreSQL database; `None` (with a notice) when no server is reachable.
pub(crate) async fn postgres_url(name: &str) -> Option<(String, String)> {
    let admin_url =
        std::env::var("TAVERN_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
    let admin = match Database::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: PostgreSQL tests ({name}): no server at {admin_url}: {e}");
            return None;
        }
    };
    let db = unique(name);
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    Some((format!("{base}/{db}"), db))
}

pub(crate) async fn drop_postgres(db: &str) {
    let admin_url =
        std::env::var("TAVERN_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
    if let Ok(admin) = Database::connect(&admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await;
    }
}

/// Runs `test` with the URL of a migrated SQLite database, then of a
/// migrated PostgreSQL one (for what opens connections of its own).
pub(crate) async fn each_backend_url<F, Fut>(name: &str, test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let (url, dir) = sqlite_url(name);
    let conn = crate::store::connect(&url, 4).await.expect("sqlite");
    test(url).await;
    let _ = conn.close().await;
    let _ = std::fs::remove_dir_all(dir);
    if let Some((url, db)) = postgres_url(name).await {
        let conn = crate::store::connect(&url, 4).await.expect("postgres");
        test(url).await;
        let _ = conn.close().await;
        drop_postgres(&db).await;
    }
}

/// Runs `test` against a migrated SQLite database, then a migrated PostgreSQL one.
pub(crate) async fn each_backend<F, Fut>(name: &str, test: F)
where
    F: Fn(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let (url, dir) = sqlite_url(name);
    let conn = crate::store::connect(&url, 4).await.expect("sqlite");
    test(conn.clone()).await;
    let _ = conn.close().await;
    let _ = std::fs::remove_dir_all(dir);

    if let Some((url, db)) = postgres_url(name).await {
        let conn = crate::store::connect(&url, 4).await.expect("postgres");
        test(conn.clone()).await;
        let _ = conn.close().await;
        drop_postgres(&db).await;
    }
}
