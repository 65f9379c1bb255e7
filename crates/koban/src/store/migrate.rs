//! Versioned schema migrations, embedded in the binary. Each is applied in
//! its own transaction and recorded in `schema_migrations`.

use super::{now_ms, Store, StoreError};
use sqlx::Row;

/// One schema change: its number in the sequence all domains share, a
/// name, and its SQL template with dialect placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The schema from before domains carried their own migrations (accounts,
/// sessions, codes, deliveries, jobs and the audit log in one file), and
/// the job queue's later indexes.
pub const FOUNDATION: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../../migrations/0001_foundation.sql"),
    },
    Migration {
        version: 47,
        name: "job_queue_indexes",
        sql: include_str!("../../migrations/0047_job_queue_indexes.sql"),
    },
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

impl Store {
    /// Applies every migration of `known` not yet applied, in version
    /// order; returns how many ran.
    pub async fn migrate(&self, known: &[Migration]) -> Result<usize, StoreError> {
        self.apply_migrations(known)
            .await
            .map_err(|e| e.doing("bringing the database schema up to date"))
    }

    async fn apply_migrations(&self, known: &[Migration]) -> Result<usize, StoreError> {
        sqlx::query(LEDGER).execute(self.write()).await?;
        let mut sorted = known.to_vec();
        sorted.sort_by_key(|m| m.version);
        let mut applied = 0;
        for Migration {
            version,
            name,
            sql: template,
        } in sorted
        {
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
            .bind(name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
            applied += 1;
        }
        Ok(applied)
    }

    /// How many of `known` are not applied yet (0 when current).
    pub async fn pending_migrations(&self, known: &[Migration]) -> Result<usize, StoreError> {
        sqlx::query(LEDGER).execute(self.write()).await?;
        self.pending_in_ledger(known).await
    }

    /// Like [`Store::pending_migrations`] but only reads, for probes that run
    /// every few seconds: it fails if the ledger does not exist yet.
    pub async fn pending_in_ledger(&self, known: &[Migration]) -> Result<usize, StoreError> {
        let rows = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(self.read())
            .await?;
        let mut applied = std::collections::HashSet::new();
        for row in rows {
            applied.insert(row.try_get::<i64, _>("version")?);
        }
        // A version this binary does not know was applied by a newer one.
        if let Some(found) = applied
            .iter()
            .copied()
            .filter(|v| !known.iter().any(|m| m.version == *v))
            .max()
        {
            let known = known.iter().map(|m| m.version).max().unwrap_or(0);
            return Err(StoreError::SchemaTooNew { found, known });
        }
        Ok(known
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }
}
