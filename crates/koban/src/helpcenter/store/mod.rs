//! The help center's SQL: categories, articles, their versions and
//! revisions, change records, votes and suggestions.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};
use std::collections::BTreeMap;

mod articles;
mod categories;
mod changes;
mod indexed;
mod readers;
mod versions;

pub use articles::*;
pub use categories::*;
pub use changes::*;
pub use indexed::*;
pub use readers::*;
pub use versions::*;

/// A category as stored; `names` by language tag.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: i64,
    pub position: i64,
    pub names: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An article's own row (its text is in its versions).
#[derive(Debug, Clone)]
pub struct ArticleRow {
    pub id: i64,
    pub category_id: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub views: i64,
}

/// One language of an article: its draft, and what readers read.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub article_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub updated_by: String,
    pub updated_at: i64,
    pub published_title: Option<String>,
    pub published_body: Option<String>,
    pub published_at: Option<i64>,
}

/// One recorded save, publish, unpublish or restore.
#[derive(Debug, Clone)]
pub struct RevisionRow {
    pub id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub action: String,
    pub restored_from: Option<i64>,
    pub actor: String,
    pub at: i64,
}

/// What readers did with an article.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub views: i64,
    pub helpful_yes: i64,
    pub helpful_no: i64,
    /// Times the ticket form suggested it.
    pub shown: i64,
    /// Times a requester opened it from the form's suggestion.
    pub taken: i64,
}

/// A published version as readers and the suggester read it.
#[derive(Debug, Clone)]
pub struct Published {
    pub article_id: i64,
    pub category_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub published_at: i64,
}

/// How the accounts an editor sees are named.
const WHO: &str = "COALESCE(a.email, a.phone, '')";
