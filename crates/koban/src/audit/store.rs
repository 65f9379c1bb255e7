//! The audit domain's SQL.

use crate::store::Backend;
use sqlx::{Any, AnyConnection, Row, Transaction};

/// One stored entry, as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct EntryRow {
    pub scope: String,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// A signed cut of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub signature: String,
}

/// The scope's head (last seq, its hash), locked for this transaction on
/// PostgreSQL; on SQLite the single writer already serialises appends.
pub async fn lock_head(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    scope: &str,
    genesis_hex: &str,
) -> Result<(i64, String), sqlx::Error> {
    sqlx::query("INSERT INTO audit_heads (scope, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (scope) DO NOTHING")
        .bind(scope)
        .bind(genesis_hex)
        .execute(&mut **tx)
        .await?;
    let sql = match backend {
        Backend::Postgres => "SELECT seq, hash FROM audit_heads WHERE scope = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT seq, hash FROM audit_heads WHERE scope = $1",
    };
    let row = sqlx::query(sql).bind(scope).fetch_one(&mut **tx).await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

/// Inserts entries (already hashed, in order) and moves the head to the last.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    entries: &[EntryRow],
) -> Result<(), sqlx::Error> {
    for e in entries {
        sqlx::query("INSERT INTO audit_entries (scope, seq, at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&e.scope)
            .bind(e.seq)
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.details)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(last) = entries.last() {
        sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE scope = $3")
            .bind(last.seq)
            .bind(&last.hash)
            .bind(&last.scope)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn entry(row: &sqlx::any::AnyRow) -> Result<EntryRow, sqlx::Error> {
    Ok(EntryRow {
        scope: row.try_get("scope")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str = "scope, seq, at, actor, action, target, details, prev_hash, hash";

/// Every entry of a scope after `after_seq`, in the order written (the row
/// id, not the claimed seq: a moved entry must show as moved).
pub async fn chain(
    conn: &mut AnyConnection,
    scope: &str,
    after_seq: i64,
) -> Result<Vec<EntryRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM audit_entries WHERE scope = $1 AND seq > $2 ORDER BY id");
    let rows = sqlx::query(&sql)
        .bind(scope)
        .bind(after_seq)
        .fetch_all(conn)
        .await?;
    rows.iter().map(entry).collect()
}

/// The scope's head: (seq, hash), or None before its first entry.
pub async fn head(
    conn: &mut AnyConnection,
    scope: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE scope = $1")
        .bind(scope)
        .fetch_optional(conn)
        .await?;
    row.map(|r| -> Result<(i64, String), sqlx::Error> {
        Ok((r.try_get("seq")?, r.try_get("hash")?))
    })
    .transpose()
}

/// The scope's newest checkpoint.
pub async fn last_checkpoint(
    conn: &mut AnyConnection,
    scope: &str,
) -> Result<Option<CheckpointRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seq, hash, at, signature FROM audit_checkpoints WHERE scope = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(scope)
    .fetch_optional(conn)
    .await?;
    row.map(|r| -> Result<CheckpointRow, sqlx::Error> {
        Ok(CheckpointRow {
            seq: r.try_get("seq")?,
            hash: r.try_get("hash")?,
            at: r.try_get("at")?,
            signature: r.try_get("signature")?,
        })
    })
    .transpose()
}

/// The entry `seq` of a scope, if stored.
pub async fn one(
    conn: &mut AnyConnection,
    scope: &str,
    seq: i64,
) -> Result<Option<EntryRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE scope = $1 AND seq = $2");
    let row = sqlx::query(&sql)
        .bind(scope)
        .bind(seq)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(entry).transpose()
}

/// Records a checkpoint at `seq` and prunes the entries up to it.
pub async fn cut(
    tx: &mut Transaction<'_, Any>,
    scope: &str,
    checkpoint: &CheckpointRow,
) -> Result<u64, sqlx::Error> {
    sqlx::query("INSERT INTO audit_checkpoints (scope, seq, hash, at, signature) VALUES ($1, $2, $3, $4, $5)")
        .bind(scope)
        .bind(checkpoint.seq)
        .bind(&checkpoint.hash)
        .bind(checkpoint.at)
        .bind(&checkpoint.signature)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("DELETE FROM audit_entries WHERE scope = $1 AND seq <= $2")
        .bind(scope)
        .bind(checkpoint.seq)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// What a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Entries before this sequence (the cursor).
    pub before_seq: i64,
}

/// A scope's entries, newest first, filtered; the statement names only the
/// filters given, so each one can use its index.
pub async fn list<'e, E>(
    executor: E,
    scope: &str,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<EntryRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let mut sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE scope = $1 AND seq < $2");
    let mut n = 2;
    let mut texts = Vec::new();
    for (column, value) in [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("target", &filter.target),
    ] {
        if let Some(v) = value {
            n += 1;
            sql.push_str(&format!(" AND {column} = ${n}"));
            texts.push(v.clone());
        }
    }
    let mut times = Vec::new();
    if let Some(from) = filter.from {
        times.push(from);
        sql.push_str(&format!(" AND at >= ${}", n + times.len()));
    }
    if let Some(to) = filter.to {
        times.push(to);
        sql.push_str(&format!(" AND at < ${}", n + times.len()));
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", limit.max(1)));
    let mut query = sqlx::query(&sql).bind(scope).bind(filter.before_seq);
    for t in texts {
        query = query.bind(t);
    }
    for t in times {
        query = query.bind(t);
    }
    let rows = query.fetch_all(executor).await?;
    rows.iter().map(entry).collect()
}

/// In every scope, the newest entry written before `before`: where
/// retention by age cuts.
pub async fn last_before<'e, E: sqlx::Executor<'e, Database = Any>>(
    executor: E,
    before: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT scope, MAX(seq) AS seq FROM audit_entries WHERE at < $1 GROUP BY scope ORDER BY scope",
    )
    .bind(before)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("scope")?, r.try_get("seq")?)))
        .collect()
}
