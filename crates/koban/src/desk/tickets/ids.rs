//! A new ticket's id drawn from PostgreSQL's sequence before the ticket
//! is written, so that a plain opening can go to the database as one
//! statement with all its rows (`opening.rs`): each of them names the
//! ticket by that id. One id per trip, not a block ahead: the desk's lists
//! show the newest first by id, and a node's block would put its tickets
//! out of order beside another node's.

use crate::desk::error::DeskError;
use sqlx::{AnyConnection, Row};

/// An id for a new ticket on PostgreSQL, drawn on `conn`, the connection
/// the ticket is then written on.
pub(crate) async fn draw(conn: &mut AnyConnection) -> Result<i64, DeskError> {
    let row = sqlx::query("SELECT nextval(pg_get_serial_sequence('desk_tickets', 'id')) AS id")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("id")?)
}
