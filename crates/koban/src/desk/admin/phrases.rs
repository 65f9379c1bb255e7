//! Desk admins steer triage's rule layer with phrases of their own, beside
//! the built-in list: a new product name, a scam's wording this week. A
//! phrase takes effect at once on the node that took it and within
//! [`crate::desk::RELEARN_MS`] on the others; removing one keeps who and when.

use crate::desk::store;
use crate::desk::DeskError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::desk::triage::{category_index, phrase_line_reads};

/// The most phrases live at once: each is compiled into every node's
/// matcher, and a list longer than this is no longer one a person reads.
pub const MAX_PHRASES: i64 = 2000;
const MAX_PHRASE_CHARS: usize = 100;

/// A phrase added to triage.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TriagePhrase {
    pub id: i64,
    /// A category, `urgent`, `urgent@<category>`, or `-` (a guard that
    /// silences the shorter phrases it contains).
    pub target: String,
    /// The words; one `*` allows a few characters between two parts.
    pub phrase: String,
    pub weight: f64,
    pub created_by: i64,
    pub created_at: i64,
    pub removed_by: Option<i64>,
    pub removed_at: Option<i64>,
}

impl From<store::PhraseRow> for TriagePhrase {
    fn from(row: store::PhraseRow) -> TriagePhrase {
        TriagePhrase {
            id: row.id,
            target: row.target,
            phrase: row.phrase,
            weight: row.weight,
            created_by: row.created_by,
            created_at: row.created_at,
            removed_by: row.removed_by,
            removed_at: row.removed_at,
        }
    }
}

/// A phrase to add.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTriagePhrase {
    #[schema(max_length = 64)]
    pub target: String,
    #[schema(min_length = 1, max_length = 100)]
    pub phrase: String,
    /// 3 or more decides a category on its own; 2 or more makes a ticket urgent.
    #[schema(minimum = 0.1, maximum = 10.0)]
    pub weight: f64,
}

fn target_known(target: &str) -> bool {
    match target {
        "-" | "urgent" => true,
        t => category_index(t.strip_prefix("urgent@").unwrap_or(t)).is_some(),
    }
}

/// Every phrase ever added, removed ones included, oldest first.
pub async fn list(app: &App) -> Result<Vec<TriagePhrase>, DeskError> {
    let rows = store::phrases(app.store.read(), false).await?;
    Ok(rows.into_iter().map(TriagePhrase::from).collect())
}

/// Adds a phrase for `admin` (the caller checked the role).
pub async fn add(
    app: &App,
    admin: i64,
    input: &NewTriagePhrase,
) -> Result<TriagePhrase, DeskError> {
    let target = input.target.trim();
    let phrase = input.phrase.trim();
    if !target_known(target) {
        return Err(DeskError::field("target", "invalid_value"));
    }
    if phrase.is_empty() {
        return Err(DeskError::field("phrase", "required"));
    }
    if phrase.chars().count() > MAX_PHRASE_CHARS {
        return Err(DeskError::field("phrase", "too_long"));
    }
    if let Err(problem) = koban_policy::text::check_visible(phrase, false) {
        return Err(DeskError::field("phrase", problem.code()));
    }
    if !(0.1..=10.0).contains(&input.weight) {
        return Err(DeskError::field("weight", "invalid_value"));
    }
    if !phrase_line_reads(target, phrase, input.weight) {
        return Err(DeskError::field("phrase", "invalid_value"));
    }
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if store::phrase_exists(&mut tx, target, phrase).await? {
        return Err(DeskError::field("phrase", "duplicate"));
    }
    if store::live_phrase_count(&mut tx).await? >= MAX_PHRASES {
        return Err(DeskError::field("phrase", "too_many"));
    }
    let id = store::insert_phrase(&mut tx, target, phrase, input.weight, admin, now).await?;
    tx.commit().await?;
    crate::desk::current_model(app, true).await;
    Ok(TriagePhrase {
        id,
        target: target.to_string(),
        phrase: phrase.to_string(),
        weight: input.weight,
        created_by: admin,
        created_at: now,
        removed_by: None,
        removed_at: None,
    })
}

/// Removes a live phrase for `admin`; the record stays.
pub async fn remove(app: &App, admin: i64, id: i64) -> Result<(), DeskError> {
    let mut tx = app.store.write().begin().await?;
    if !store::remove_phrase(&mut tx, id, admin, now_ms()).await? {
        return Err(DeskError::NotFound);
    }
    tx.commit().await?;
    crate::desk::current_model(app, true).await;
    Ok(())
}
