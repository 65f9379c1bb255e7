//! Which support line a requester writes on, and what an agent sees of
//! the organization behind a ticket. A signed-in member of an organization
//! who may open its support tickets (its administrators and support
//! contacts) writes on that organization's line, at the tier its plan
//! gives (enterprise: its own SLA policy and queue); the agent then sees
//! the organization's panel beside the ticket.
//!
//! Organizations are a domain above the desk, so they lend both through a
//! hook, as they lend their policies to sign-in: the enterprise domain
//! adds a [`SupportLine`] when it is composed. Without one everyone writes
//! on the standard line and tickets have no organization.

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

/// What an agent sees of a ticket's organization.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrgPanel {
    pub id: i64,
    pub name: String,
    /// `standard` or `enterprise`.
    pub plan: String,
    pub active_members: i64,
    pub suspended_members: i64,
    /// Its tickets not solved or closed.
    pub open_tickets: i64,
    /// The security policy's rules that are set (`two_factor`,
    /// `max_devices`, `allowed_countries`, …).
    pub policy_rules: Vec<&'static str>,
    /// Its latest audit entries, newest first.
    pub recent_audit: Vec<PanelAuditEntry>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PanelAuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
}

type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<Option<T>, sqlx::Error>> + Send + 'a>>;

/// What the enterprise domain lends the desk.
pub struct SupportLine {
    /// The line an account writes on.
    pub line: for<'a> fn(&'a App, i64) -> Answer<'a, Line>,
    /// The panel of an organization.
    pub panel: for<'a> fn(&'a App, i64) -> Answer<'a, OrgPanel>,
    /// Whether an account follows every ticket of an organization (its
    /// administrators): `Some(())` when it does.
    pub follows: for<'a> fn(&'a App, i64, i64) -> Answer<'a, ()>,
    /// Who asked to be mailed about support's replies on the
    /// organization's tickets and may still follow them.
    pub subscribers: for<'a> fn(&'a App, i64) -> Answer<'a, Vec<Subscriber>>,
}

/// An administrator mailed about support's replies on their
/// organization's tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub account_id: i64,
    /// Their verified email.
    pub email: String,
    /// Their account's language, when set.
    pub locale: Option<String>,
}

/// What a [`SupportLine`] function returns.
pub type LineFuture<'a, T> = Answer<'a, T>;

/// The line `account_id` writes on, if an organization's.
pub async fn line_of(app: &App, account_id: i64) -> Result<Option<Line>, DeskError> {
    match app.try_part::<SupportLine>() {
        Some(source) => Ok((source.line)(app, account_id).await?),
        None => Ok(None),
    }
}

/// Whether `account_id` follows the tickets of `org_id`: reads and writes
/// on them beside their requester.
pub async fn follows(app: &App, account_id: i64, org_id: i64) -> Result<bool, DeskError> {
    match app.try_part::<SupportLine>() {
        Some(source) => Ok((source.follows)(app, account_id, org_id).await?.is_some()),
        None => Ok(false),
    }
}

/// The panel of the organization a ticket was opened for.
pub async fn panel_of(app: &App, org_id: i64) -> Result<Option<OrgPanel>, DeskError> {
    match app.try_part::<SupportLine>() {
        Some(source) => Ok((source.panel)(app, org_id).await?),
        None => Ok(None),
    }
}

/// The subscribers of organization `org_id` (none without organizations).
pub async fn subscribers_of(app: &App, org_id: i64) -> Result<Vec<Subscriber>, sqlx::Error> {
    match app.try_part::<SupportLine>() {
        Some(source) => Ok((source.subscribers)(app, org_id).await?.unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}
