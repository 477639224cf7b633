//! A fresh database for each test: a SQLite file in its own temporary folder, or a
//! PostgreSQL database created on the server of `BACKROOM_TEST_POSTGRES_URL`.

pub struct TestDatabase {
    pub url: String,
    admin: Option<(String, String)>,
    _dir: Option<TempDir>,
}

/// A directory removed on drop; small enough not to need a crate.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("backroom-test-{}", unique_suffix()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where servers on PostgreSQL test databases keep images (not in the checkout): one
/// folder for all, as image keys are unique.
pub fn postgres_media_folder() -> std::path::PathBuf {
    std::env::temp_dir().join("backroom-test-media")
}

/// A random suffix for names that must not collide between tests.
pub fn unique_suffix() -> String {
    backroom::domain::ids::random_suffix()
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("backroom.db").display());
        TestDatabase {
            url,
            admin: None,
            _dir: Some(dir),
        }
    }

    /// A new database on the test PostgreSQL server, or `None` when none is configured.
    /// A configured server that cannot create one fails the test.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("BACKROOM_TEST_POSTGRES_URL").ok()?;
        let name = format!("backroom_test_{}", unique_suffix());
        backroom::store::create_postgres_database(&admin_url, &name)
            .await
            .expect("BACKROOM_TEST_POSTGRES_URL is set but PostgreSQL cannot create a test database");
        let url = backroom::store::with_database_name(&admin_url, &name);
        Some(TestDatabase {
            url,
            admin: Some((admin_url, name)),
            _dir: None,
        })
    }

    pub async fn drop_database(&self) {
        if let Some((admin_url, name)) = &self.admin
            && let Err(error) = backroom::store::drop_postgres_database(admin_url, name).await
        {
            eprintln!("could not drop test database {name}: {error}");
        }
    }
}
