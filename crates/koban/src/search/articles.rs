//! Where help-center articles enter the index. The help center is being
//! built beside search; until it is wired, no article is indexed, and
//! everything else about the kind is in place: the document
//! ([`super::documents::article`]), the permission scope (published only
//! for requesters and signed-out readers), the API's `kind=article`, and
//! the change log's `article` kind.
//!
//! To hook it up: have the help center's tables write `('article', id)`
//! into `search_changes` with a trigger (as `0040_search.sql` does for the
//! desk), and fill [`load`] and [`all`] from its service functions. A change
//! of kind `article` deletes every language version of the article and
//! adds what [`load`] returns.

use super::documents::ArticleDoc;
use crate::state::App;
use crate::store::StoreError;

/// Every current language version of these articles (drafts too: staff
/// find them; the scope keeps them from everyone else).
pub async fn load(_app: &App, _ids: &[i64]) -> Result<Vec<ArticleDoc>, StoreError> {
    Ok(Vec::new())
}

/// Up to `limit` article versions of articles with ids above `after`, in
/// id order: the rebuild's pages.
pub async fn all(_app: &App, _after: i64, _limit: i64) -> Result<Vec<ArticleDoc>, StoreError> {
    Ok(Vec::new())
}
