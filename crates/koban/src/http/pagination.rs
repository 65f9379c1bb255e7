//! Cursor pagination: lists are ordered by id, newest first; the cursor is
//! the opaque form of the last id seen.

use super::problem::Problem;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The most items one page holds.
pub const MAX_LIMIT: i64 = 100;

/// Query parameters every list takes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A page of items.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next_cursor: Option<String>,
}

impl PageQuery {
    /// (ids below this, how many) — the SQL asks for one more to know if a next page exists.
    pub fn bounds(&self) -> Result<(i64, i64), Problem> {
        let limit = self.limit.unwrap_or(20);
        // The document says the same (`#[param(minimum, maximum)]`); the conventions test holds them together.
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::field("limit", "invalid_value"));
        }
        let before = match &self.cursor {
            None => i64::MAX,
            Some(c) => decode(c).ok_or_else(|| Problem::field("cursor", "invalid_value"))?,
        };
        Ok((before, limit))
    }
}

impl PageQuery {
    /// For a list in its own order rather than newest first (say, by a
    /// position, then id): (the sort key and id of the last item seen, if
    /// any; how many). The next page starts after that item.
    pub fn after(&self) -> Result<(Option<(i64, i64)>, i64), Problem> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::field("limit", "invalid_value"));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => {
                Some(decode_key(c).ok_or_else(|| Problem::field("cursor", "invalid_value"))?)
            }
        };
        Ok((after, limit))
    }
}

fn decode_key(cursor: &str) -> Option<(i64, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let (key, id) = std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("at:")?
        .split_once(':')?;
    Some((key.parse().ok()?, id.parse().ok()?))
}

/// Builds a page from up to `limit + 1` rows read in a list's own order
/// (for [`PageQuery::after`]): the cursor names the last item's key and id.
pub fn page_after<T>(mut rows: Vec<T>, limit: i64, key_of: impl Fn(&T) -> (i64, i64)) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| {
            let (key, id) = key_of(r);
            URL_SAFE_NO_PAD.encode(format!("at:{key}:{id}"))
        })
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

fn decode(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("id:")?
        .parse()
        .ok()
}

/// Builds a page from up to `limit + 1` rows fetched newest first.
pub fn page<T>(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last()
            .map(|r| URL_SAFE_NO_PAD.encode(format!("id:{}", id_of(r))))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// Fills a page (up to `limit + 1` items, for [`page`]) from rows read in
/// batches with ids below a cursor, keeping only those `keep` accepts:
/// for filters judged in code rather than SQL, it reads on until the page
/// is full or the rows run out. `read(before, n)` answers at most `n`
/// items with ids below `before`, highest first.
pub async fn filled<T, E, Fut>(
    before: i64,
    limit: i64,
    mut read: impl FnMut(i64, i64) -> Fut,
    id_of: impl Fn(&T) -> i64,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, E>
where
    Fut: std::future::Future<Output = Result<Vec<T>, E>>,
{
    let batch_size = (limit + 1).max(100);
    let mut found = Vec::new();
    let mut cursor = before;
    loop {
        let batch = read(cursor, batch_size).await?;
        let exhausted = (batch.len() as i64) < batch_size;
        for item in batch {
            cursor = id_of(&item);
            if keep(&item) {
                found.push(item);
                if found.len() as i64 > limit {
                    return Ok(found);
                }
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}
