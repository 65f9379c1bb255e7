//! The demo's one question to the database: is there anything in it yet?
//! Everything it writes goes through the domains' service functions.

use crate::store::{col, Store, StoreError};

/// Whether the desk and the accounts are both empty: the demo fills a
/// fresh installation only, so it never mixes invented people with real ones.
pub async fn is_empty(store: &Store) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM desk_tickets) AS n",
    )
    .fetch_one(store.read())
    .await?;
    Ok(col::<i64>(&row, "n")? == 0)
}
