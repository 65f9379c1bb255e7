//! Versions as search indexes them.

use super::*;

/// A version as search indexes it: what readers read when it is
/// published, the draft otherwise (found by staff only).
#[derive(Debug, Clone)]
pub struct Indexed {
    pub article_id: i64,
    pub lang: String,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub created_at: i64,
}

const INDEXED: &str = "SELECT v.article_id, v.lang, v.title, v.body, v.published_title,
        v.published_body, v.published_at, a.created_at
     FROM help_versions v
     JOIN help_articles a ON a.id = v.article_id AND a.deleted_at IS NULL
     JOIN help_categories c ON c.id = a.category_id AND c.deleted_at IS NULL";

fn indexed(row: &AnyRow) -> Result<Indexed, sqlx::Error> {
    let published_at: Option<i64> = row.try_get("published_at")?;
    let published_title: Option<String> = row.try_get("published_title")?;
    let published_body: Option<String> = row.try_get("published_body")?;
    let (title, body, published) = match (published_at, published_title, published_body) {
        (Some(_), Some(title), Some(body)) => (title, body, true),
        _ => (row.try_get("title")?, row.try_get("body")?, false),
    };
    Ok(Indexed {
        article_id: row.try_get("article_id")?,
        lang: row.try_get("lang")?,
        title,
        body,
        published,
        created_at: row.try_get("created_at")?,
    })
}

/// Every version of these live articles, for search.
pub async fn indexed_of(pool: &sqlx::AnyPool, ids: &[i64]) -> Result<Vec<Indexed>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let marks = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{INDEXED} WHERE v.article_id IN ({marks})");
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(pool).await? {
            out.push(indexed(&row)?);
        }
    }
    Ok(out)
}

/// The versions of the first `limit` live articles with ids above
/// `after`, in id order: search's rebuild pages (an article is never
/// split across pages).
pub async fn indexed_after(
    pool: &sqlx::AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Indexed>, StoreError> {
    let sql = format!(
        "{INDEXED} WHERE v.article_id IN (
            SELECT a2.id FROM help_articles a2 WHERE a2.id > $1 AND a2.deleted_at IS NULL
            ORDER BY a2.id LIMIT $2)
         ORDER BY v.article_id, v.lang"
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(indexed).collect::<Result<_, _>>()?)
}
