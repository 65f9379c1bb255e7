//! Reading the library's change log (migration 0012): who changed which
//! canned response or macro, and when, newest first.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row};

/// One recorded change, with who made it as the desk names agents.
#[derive(Debug, Clone)]
pub struct LibraryChangeRow {
    pub id: i64,
    pub item_kind: String,
    pub item_id: i64,
    pub actor_id: Option<i64>,
    /// The actor's email or phone; `None` when the account is gone.
    pub actor: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
    pub at: i64,
}

/// Up to `limit` changes before the cursor id, newest first, optionally of
/// one kind (`canned`, `macro`) and one item.
pub async fn changes<'e, E>(
    executor: E,
    kind: Option<&str>,
    item_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<LibraryChangeRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    // Neutral values switch a condition off, so one statement serves all.
    let rows = sqlx::query(
        "SELECT c.id, c.item_kind, c.item_id, c.actor_account_id,
                COALESCE(a.email, a.phone) AS actor, c.action, c.detail, c.at
         FROM desk_library_changes c
         LEFT JOIN accounts a ON a.id = c.actor_account_id
         WHERE c.id < $1
           AND ($2 = '' OR c.item_kind = $2)
           AND ($3 = -1 OR c.item_id = $3)
         ORDER BY c.id DESC LIMIT $4",
    )
    .bind(before)
    .bind(kind.unwrap_or_default().to_string())
    .bind(item_id.unwrap_or(-1))
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(LibraryChangeRow {
                id: r.try_get("id")?,
                item_kind: r.try_get("item_kind")?,
                item_id: r.try_get("item_id")?,
                actor_id: r.try_get("actor_account_id")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                // Written by this program as JSON; an unreadable one shows as empty.
                detail: serde_json::from_str(&detail).unwrap_or_default(),
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
