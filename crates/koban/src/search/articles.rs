//! Where help-center articles enter the index: one document per article
//! and language. A published version is indexed as readers read it (its
//! published text) and found by everyone; a version never published is
//! indexed as its draft and found by staff only (the scope's `Public`
//! condition). Deleted articles, and articles of deleted categories, are
//! not indexed. The help center's tables tell search of every change
//! through the triggers of `0043_search_articles.sql`; a change of kind
//! `article` deletes every language version of the article and adds what
//! [`load`] returns.

use super::documents::ArticleDoc;
use crate::helpcenter::store::{self, Indexed};
use crate::state::App;
use crate::store::StoreError;

fn doc(v: Indexed) -> ArticleDoc {
    ArticleDoc {
        id: v.article_id,
        language: v.lang,
        title: v.title,
        // Markdown's words, not its markup: `**` or a link's address never
        // match, and snippets read as text.
        body: crate::web::markdown::text(&v.body),
        category: None,
        published: v.published,
        created_at: v.created_at,
    }
}

/// Every current language version of these articles (drafts too: staff
/// find them; the scope keeps them from everyone else).
pub async fn load(app: &App, ids: &[i64]) -> Result<Vec<ArticleDoc>, StoreError> {
    Ok(store::indexed_of(app.store.read(), ids)
        .await?
        .into_iter()
        .map(doc)
        .collect())
}

/// The versions of up to `limit` articles with ids above `after`, in id
/// order: the rebuild's pages.
pub async fn all(app: &App, after: i64, limit: i64) -> Result<Vec<ArticleDoc>, StoreError> {
    Ok(store::indexed_after(app.store.read(), after, limit)
        .await?
        .into_iter()
        .map(doc)
        .collect())
}
