//! Versioned schema migrations, embedded in the binary. Each is applied in
//! its own transaction and recorded in `schema_migrations`.

use super::{now_ms, Store, StoreError};
use sqlx::Row;

/// (version, name, SQL template with dialect placeholders).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/0001_foundation.sql"),
    ),
    (
        2,
        "security",
        include_str!("../../migrations/0002_security.sql"),
    ),
    (
        3,
        "passkeys",
        include_str!("../../migrations/0003_passkeys.sql"),
    ),
    (
        4,
        "sign_in_history_index",
        include_str!("../../migrations/0004_sign_in_history_index.sql"),
    ),
    (
        5,
        "check_reservations",
        include_str!("../../migrations/0005_check_reservations.sql"),
    ),
    (
        6,
        "lock_references",
        include_str!("../../migrations/0006_lock_references.sql"),
    ),
    (
        7,
        "idempotent_answers",
        include_str!("../../migrations/0007_idempotent_answers.sql"),
    ),
    (
        8,
        "send_throttle_expiry",
        include_str!("../../migrations/0008_send_throttle_expiry.sql"),
    ),
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

impl Store {
    /// Applies every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.apply_migrations()
            .await
            .map_err(|e| e.doing("bringing the database schema up to date"))
    }

    async fn apply_migrations(&self) -> Result<usize, StoreError> {
        sqlx::query(LEDGER).execute(self.write()).await?;
        let mut applied = 0;
        for (version, name, template) in MIGRATIONS {
            let mut tx = self.write().begin().await?;
            if let Some(lock) = self.backend().migration_lock() {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let done = sqlx::query("SELECT 1 AS one FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if done {
                tx.rollback().await?;
                continue;
            }
            sqlx::raw_sql(&self.backend().schema(template))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(*name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
            applied += 1;
        }
        Ok(applied)
    }

    /// How many known migrations are not applied yet (0 when current).
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        sqlx::query(LEDGER).execute(self.write()).await?;
        self.pending_in_ledger().await
    }

    /// Like [`Store::pending_migrations`] but only reads, for probes that run
    /// every few seconds: it fails if the ledger does not exist yet.
    pub async fn pending_in_ledger(&self) -> Result<usize, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
            .fetch_one(self.read())
            .await?;
        let found: i64 = row.try_get("v")?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        Ok(MIGRATIONS.iter().filter(|m| m.0 > found).count())
    }
}
