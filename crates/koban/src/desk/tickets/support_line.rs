//! Which support line a requester writes on: a signed-in member of an
//! organization who may open its support tickets (its administrators and
//! support contacts) writes on that organization's line, at the tier its
//! plan gives (enterprise: its own SLA policy and queue).
//!
//! Organizations are a domain above the desk, so they lend the answer
//! through a hook, as they lend their policies to sign-in: the enterprise
//! domain adds a [`LineSource`] when it is composed. Without one everyone
//! writes on the standard line.

use crate::desk::DeskError;
use crate::state::App;
use std::future::Future;
use std::pin::Pin;

/// The organization a ticket is opened for, and the tier it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub organization_id: i64,
    /// `standard` or `enterprise`.
    pub tier: &'static str,
}

/// What a [`LineSource`] returns.
pub type LineFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Line>, sqlx::Error>> + Send + 'a>>;

/// Reads the line an account writes on.
pub struct LineSource(pub for<'a> fn(&'a App, i64) -> LineFuture<'a>);

/// The line `account_id` writes on, if an organization's.
pub async fn line_of(app: &App, account_id: i64) -> Result<Option<Line>, DeskError> {
    match app.try_part::<LineSource>() {
        Some(source) => Ok((source.0)(app, account_id).await?),
        None => Ok(None),
    }
}
