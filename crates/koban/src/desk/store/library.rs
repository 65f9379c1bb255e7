//! The SQL of the agents' library: canned responses, macros, and the record
//! of who changed them.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A canned response as stored; `bodies` is a JSON object by language.
#[derive(Debug, Clone)]
pub struct CannedRow {
    pub id: i64,
    pub name: String,
    pub bodies: String,
    pub updated_at: i64,
}

/// A macro as stored.
#[derive(Debug, Clone)]
pub struct MacroRow {
    pub id: i64,
    pub name: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub bodies: String,
    pub public: bool,
    pub updated_at: i64,
}

fn canned_of(r: &AnyRow) -> Result<CannedRow, sqlx::Error> {
    Ok(CannedRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        bodies: r.try_get("bodies")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn macro_of(r: &AnyRow) -> Result<MacroRow, sqlx::Error> {
    Ok(MacroRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        status: r.try_get("status")?,
        priority: r.try_get("priority")?,
        category: r.try_get("category")?,
        tag: r.try_get("tag")?,
        bodies: r.try_get("bodies")?,
        public: r.try_get::<i64, _>("public")? != 0,
        updated_at: r.try_get("updated_at")?,
    })
}

/// True when the error is a second row with the same unique name.
fn duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

/// Every canned response, by name (the list is short: a team's library).
pub async fn canned_all<'e, E>(executor: E) -> Result<Vec<CannedRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, name, bodies, updated_at FROM desk_canned_responses ORDER BY name LIMIT 1000",
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(canned_of).collect::<Result<_, _>>()?)
}

pub async fn canned<'e, E>(executor: E, id: i64) -> Result<Option<CannedRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row =
        sqlx::query("SELECT id, name, bodies, updated_at FROM desk_canned_responses WHERE id = $1")
            .bind(id)
            .fetch_optional(executor)
            .await?;
    Ok(row.as_ref().map(canned_of).transpose()?)
}

/// Stores a new canned response; None when the name is taken.
pub async fn insert_canned(
    tx: &mut Transaction<'_, Any>,
    name: &str,
    bodies: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let result = sqlx::query(
        "INSERT INTO desk_canned_responses (name, bodies, created_at, updated_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(name)
    .bind(bodies)
    .bind(now)
    .fetch_one(&mut **tx)
    .await;
    match result {
        Ok(row) => Ok(Some(row.try_get("id")?)),
        Err(e) if duplicate(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a canned response: Some(false) when there is none, None when
/// another has the name.
pub async fn update_canned(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    name: &str,
    bodies: &str,
    now: i64,
) -> Result<Option<bool>, StoreError> {
    let result = sqlx::query(
        "UPDATE desk_canned_responses SET name = $2, bodies = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(bodies)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(done) => Ok(Some(done.rows_affected() == 1)),
        Err(e) if duplicate(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a row of the library; false when there was none.
pub async fn delete_item(
    tx: &mut Transaction<'_, Any>,
    kind: Kind,
    id: i64,
) -> Result<bool, StoreError> {
    let table = kind.table();
    let done = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

const MACRO_COLUMNS: &str = "id, name, status, priority, category, tag, bodies, public, updated_at";

/// Every macro, by name.
pub async fn macros_all<'e, E>(executor: E) -> Result<Vec<MacroRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(&format!(
        "SELECT {MACRO_COLUMNS} FROM desk_macros ORDER BY name LIMIT 1000"
    ))
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(macro_of).collect::<Result<_, _>>()?)
}

pub async fn macro_by_id<'e, E>(executor: E, id: i64) -> Result<Option<MacroRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {MACRO_COLUMNS} FROM desk_macros WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.as_ref().map(macro_of).transpose()?)
}

/// Stores a macro (`id` None) or replaces one: its id, or None when the
/// name is taken by another. Replacing a missing one is `RowNotFound`, so
/// the caller checks it exists first.
pub async fn save_macro(
    tx: &mut Transaction<'_, Any>,
    id: Option<i64>,
    row: &MacroRow,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let sql = match id {
        None => "INSERT INTO desk_macros (name, status, priority, category, tag, bodies, public, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        Some(_) => "UPDATE desk_macros SET name = $1, status = $2, priority = $3, category = $4,
                    tag = $5, bodies = $6, public = $7, updated_at = $8 WHERE id = $9 RETURNING id",
    };
    let mut query = sqlx::query(sql)
        .bind(row.name.clone())
        .bind(row.status.clone())
        .bind(row.priority.clone())
        .bind(row.category.clone())
        .bind(row.tag.clone())
        .bind(row.bodies.clone())
        .bind(i64::from(row.public))
        .bind(now);
    if let Some(id) = id {
        query = query.bind(id);
    }
    match query.fetch_one(&mut **tx).await {
        Ok(r) => Ok(Some(r.try_get("id")?)),
        Err(e) if duplicate(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What a library change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Canned,
    Macro,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Canned => "canned",
            Kind::Macro => "macro",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Canned => "desk_canned_responses",
            Kind::Macro => "desk_macros",
        }
    }
}

/// Records who changed what in the library.
pub async fn record_change(
    tx: &mut Transaction<'_, Any>,
    kind: Kind,
    item_id: i64,
    actor: i64,
    action: &str,
    detail: &serde_json::Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_library_changes (item_kind, item_id, actor_account_id, action, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind.as_str())
    .bind(item_id)
    .bind(actor)
    .bind(action)
    .bind(detail.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
