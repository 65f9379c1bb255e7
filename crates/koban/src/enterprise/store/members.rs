//! `org_members`: who belongs to an organization, with which roles.

use super::{join_keys, split_keys};
use crate::store::{col, Backend, Store};
use sqlx::{Any, Executor, Row, Transaction};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberRow {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    /// Role keys: built-in names and `custom:<id>`.
    pub roles: Vec<String>,
    /// Name it in a role change (`version`): a change made meanwhile by
    /// someone else is then refused instead of undone.
    pub version: i64,
    pub joined_at: i64,
    pub status_reason: Option<String>,
}

const COLUMNS: &str = "m.account_id, m.display_name, a.email, a.phone, m.status, m.roles, m.version, m.joined_at, m.status_reason";

fn from_row(row: &sqlx::any::AnyRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        account_id: col(row, "account_id")?,
        display_name: col(row, "display_name")?,
        email: col(row, "email")?,
        phone: col(row, "phone")?,
        status: col(row, "status")?,
        roles: split_keys(&col::<String>(row, "roles")?),
        version: col(row, "version")?,
        joined_at: col(row, "joined_at")?,
        status_reason: col(row, "status_reason")?,
    })
}

pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    display_name: &str,
    roles: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, version, joined_at, updated_at)
         VALUES ($1, $2, $3, 'active', $4, 1, $5, $5)",
    )
    .bind(org_id)
    .bind(account_id)
    .bind(display_name)
    .bind(join_keys(roles))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    account_id: i64,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND m.account_id = $2"
    ))
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// `text` lowercased with LIKE's wildcards taken literally.
fn like_escaped(text: &str) -> String {
    text.to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What the directory shows.
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    /// Part of a name, email or phone: anywhere in them from three
    /// characters on, their start when shorter (see [`SHORT_SEARCH`]).
    pub search: Option<String>,
    pub status: Option<String>,
    /// A role key the member holds.
    pub role: Option<String>,
}

/// Searches of fewer characters match the start of a name, email or phone
/// rather than anywhere: a trigram index cannot narrow them, and reading
/// every member of a large organization for one costs hundreds of
/// milliseconds (organizations run 1), while a start is an ordinary index's
/// range. Google Workspace's directory matches starts the same way.
pub const SHORT_SEARCH: usize = 3;

/// Above this many candidates from the indexes, a search matches so many
/// members that reading the directory in order finds a page sooner.
const CANDIDATE_CAP: usize = 1000;

/// The members of `org_id` below `before` whose name, email or phone the
/// search may match, from the indexes of migration 0034; `None` when more
/// than [`CANDIDATE_CAP`] may. A superset: [`list`] checks each one.
async fn candidates(
    store: &Store,
    org_id: i64,
    search: &str,
    before: i64,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let lowered = search.to_lowercase();
    let (sql, binds): (&str, Vec<String>) = if search.chars().count() < SHORT_SEARCH {
        // A start is the range [text, text + the last code point): UTF-8's
        // byte order is code point order, as SQLite's BINARY and
        // PostgreSQL's pattern operators compare.
        let end = format!("{lowered}\u{10FFFF}");
        let sql = match store.backend() {
            Backend::Sqlite => STARTS_SQLITE,
            Backend::Postgres => STARTS_POSTGRES,
        };
        (sql, vec![lowered, end])
    } else {
        match store.backend() {
            // FTS5's trigram tokenizer folds case and finds a quoted phrase
            // of three characters or more anywhere in the text.
            Backend::Sqlite => (
                CONTAINS_SQLITE,
                vec![format!("\"{}\"", lowered.replace('"', "\"\""))],
            ),
            Backend::Postgres => (
                CONTAINS_POSTGRES,
                vec![format!("%{}%", like_escaped(search))],
            ),
        }
    };
    let limit = CANDIDATE_CAP + 1;
    let sql = format!("{sql} LIMIT {limit}");
    let query = binds
        .iter()
        .fold(sqlx::query(&sql).bind(org_id).bind(before), |q, b| {
            q.bind(b.as_str())
        });
    let rows = query.fetch_all(store.read()).await?;
    if rows.len() > CANDIDATE_CAP {
        return Ok(None);
    }
    rows.iter()
        .map(|r| col::<i64>(r, "account_id"))
        .collect::<Result<_, _>>()
        .map(Some)
}

// CROSS JOIN keeps the index's matches as the outer loop (here and in
// STARTS_SQLITE): left to itself, SQLite's planner walks every member and
// asks the index once for each (277 ms to minutes at 100,000 members).
const CONTAINS_SQLITE: &str =
    "SELECT m.account_id FROM org_member_name_grams g CROSS JOIN org_members m ON m.rowid = g.rowid
      WHERE org_member_name_grams MATCH $3 AND m.org_id = $1 AND m.account_id < $2
     UNION
     SELECT m.account_id FROM account_contact_grams g
       CROSS JOIN org_members m ON m.account_id = g.rowid AND m.org_id = $1
      WHERE account_contact_grams MATCH $3 AND m.account_id < $2";

// pg_trgm's indexes take LIKE (backslash is PostgreSQL's escape already).
const CONTAINS_POSTGRES: &str = "SELECT account_id FROM org_members
      WHERE org_id = $1 AND account_id < $2 AND LOWER(display_name) LIKE $3
     UNION
     SELECT m.account_id FROM accounts a JOIN org_members m ON m.account_id = a.id AND m.org_id = $1
      WHERE a.id < $2 AND (LOWER(a.email) LIKE $3 OR a.phone LIKE $3)";

const STARTS_SQLITE: &str =
    "SELECT account_id FROM org_members
      WHERE org_id = $1 AND account_id < $2 AND LOWER(display_name) >= $3 AND LOWER(display_name) < $4
     UNION
     SELECT m.account_id FROM accounts a CROSS JOIN org_members m ON m.account_id = a.id AND m.org_id = $1
      WHERE a.id < $2 AND LOWER(a.email) >= $3 AND LOWER(a.email) < $4
     UNION
     SELECT m.account_id FROM accounts a CROSS JOIN org_members m ON m.account_id = a.id AND m.org_id = $1
      WHERE a.id < $2 AND a.phone >= $3 AND a.phone < $4";

const STARTS_POSTGRES: &str =
    "SELECT account_id FROM org_members
      WHERE org_id = $1 AND account_id < $2 AND LOWER(display_name) ~>=~ $3 AND LOWER(display_name) ~<~ $4
     UNION
     SELECT m.account_id FROM accounts a JOIN org_members m ON m.account_id = a.id AND m.org_id = $1
      WHERE a.id < $2 AND LOWER(a.email) ~>=~ $3 AND LOWER(a.email) ~<~ $4
     UNION
     SELECT m.account_id FROM accounts a JOIN org_members m ON m.account_id = a.id AND m.org_id = $1
      WHERE a.id < $2 AND a.phone ~>=~ $3 AND a.phone ~<~ $4";

/// Members with an account id below `before`, highest first.
///
/// A search reads the newest [`WINDOW`] members first: a search many
/// members match fills its page there, sooner than any index would give
/// its candidates. Below the window it asks the indexes ([`candidates`]),
/// or, when more than [`CANDIDATE_CAP`] may match, reads on in order.
pub async fn list(
    store: &Store,
    org_id: i64,
    filter: &DirectoryFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let Some(search) = &filter.search else {
        return select(store, org_id, filter, before, limit, Among::All).await;
    };
    let Some(floor) = nth_below(store, org_id, before, WINDOW).await? else {
        // The whole directory below `before` is smaller than the window.
        return select(store, org_id, filter, before, limit, Among::All).await;
    };
    let mut rows = select(store, org_id, filter, before, limit, Among::From(floor)).await?;
    let wanted = limit.max(1) - rows.len() as i64;
    if wanted <= 0 {
        return Ok(rows);
    }
    let among = match candidates(store, org_id, search, floor).await? {
        Some(ids) if ids.is_empty() => return Ok(rows),
        Some(ids) => Among::Ids(ids),
        None => Among::All,
    };
    rows.extend(select(store, org_id, filter, floor, wanted, among).await?);
    Ok(rows)
}

/// Members a search reads directly before it asks the indexes.
const WINDOW: i64 = 2000;

/// Which members below `before` a [`select`] reads.
enum Among {
    All,
    /// Those with an account id at least this.
    From(i64),
    /// Those with these account ids.
    Ids(Vec<i64>),
}

/// The account id of the `n`th member below `before`, newest first; `None`
/// when there are fewer.
async fn nth_below(
    store: &Store,
    org_id: i64,
    before: i64,
    n: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT account_id FROM org_members WHERE org_id = $1 AND account_id < $2
         ORDER BY account_id DESC LIMIT 1 OFFSET {}",
        n.max(1) - 1
    ))
    .bind(org_id)
    .bind(before)
    .fetch_optional(store.read())
    .await
}

// The members in order, each one's account read by its key as the page
// needs it (`OFFSET 0` keeps PostgreSQL from turning the subquery back into
// a join). PostgreSQL guesses that a LIKE of a few literal characters
// matches next to no one (a fixed fraction per character), so with a plain
// join it expects to read every member anyway and hashes all 100,000
// accounts first: 1,597 buffers and 50-90 ms for any search, where a
// common one needs 21 members (67 buffers, 0.1 ms) and the window at most
// 2,000 (organizations run 3).
const DIRECTORY_POSTGRES: &str = "org_members m CROSS JOIN LATERAL
      (SELECT email, phone FROM accounts WHERE id = m.account_id OFFSET 0) a";

async fn select(
    store: &Store,
    org_id: i64,
    filter: &DirectoryFilter,
    before: i64,
    limit: i64,
    among: Among,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let from = match store.backend() {
        Backend::Sqlite => "org_members m JOIN accounts a ON a.id = m.account_id",
        Backend::Postgres => DIRECTORY_POSTGRES,
    };
    let mut sql = format!("SELECT {COLUMNS} FROM {from} WHERE m.org_id = $1 AND m.account_id < $2");
    match among {
        Among::All => {}
        // Numbers the database gave, so safe to write into the statement.
        Among::From(floor) => sql.push_str(&format!(" AND m.account_id >= {floor}")),
        Among::Ids(ids) => {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            sql.push_str(&format!(" AND m.account_id IN ({})", ids.join(",")));
        }
    }
    // Only the filters given are in the statement (and bound, in order).
    let mut binds: Vec<String> = Vec::new();
    if let Some(search) = &filter.search {
        let escaped = like_escaped(search);
        binds.push(if search.chars().count() < SHORT_SEARCH {
            format!("{escaped}%")
        } else {
            format!("%{escaped}%")
        });
        let n = binds.len() + 2;
        sql.push_str(&format!(
            " AND (LOWER(m.display_name) LIKE ${n} ESCAPE '\\'
                   OR LOWER(COALESCE(a.email, '')) LIKE ${n} ESCAPE '\\'
                   OR COALESCE(a.phone, '') LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(status) = &filter.status {
        binds.push(status.clone());
        sql.push_str(&format!(" AND m.status = ${}", binds.len() + 2));
    }
    if let Some(role) = &filter.role {
        binds.push(format!("%,{role},%"));
        sql.push_str(&format!(
            " AND (',' || m.roles || ',') LIKE ${}",
            binds.len() + 2
        ));
    }
    sql.push_str(&format!(
        " ORDER BY m.account_id DESC LIMIT {}",
        limit.max(1)
    ));
    let query = binds
        .iter()
        .fold(sqlx::query(&sql).bind(org_id).bind(before), |q, b| {
            q.bind(b.as_str())
        });
    let rows = query.fetch_all(store.read()).await?;
    rows.iter().map(from_row).collect()
}

/// Active members holding the owner role.
pub async fn active_owners(tx: &mut Transaction<'_, Any>, org_id: i64) -> Result<u32, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM org_members
         WHERE org_id = $1 AND status = 'active' AND (',' || roles || ',') LIKE '%,owner,%'",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("n")?.max(0) as u32)
}

/// Members holding the role `key`.
pub async fn holding_role(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    key: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM org_members WHERE org_id = $1 AND (',' || roles || ',') LIKE $2",
    )
    .bind(org_id)
    .bind(format!("%,{key},%"))
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("n")
}

/// Replaces the member's roles if the row is still at `version`; false when
/// someone changed it first.
pub async fn set_roles(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    roles: &[String],
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE org_members SET roles = $1, version = version + 1, updated_at = $2
         WHERE org_id = $3 AND account_id = $4 AND version = $5",
    )
    .bind(join_keys(roles))
    .bind(now)
    .bind(org_id)
    .bind(account_id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_status(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    status: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE org_members SET status = $1, status_reason = $2, version = version + 1, updated_at = $3
         WHERE org_id = $4 AND account_id = $5",
    )
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(org_id)
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND account_id = $2")
        .bind(org_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The emails and phones of every member, for an import to skip them.
pub async fn contacts(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.email, a.phone FROM org_members m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len() * 2);
    for row in &rows {
        out.extend(col::<Option<String>>(row, "email")?);
        out.extend(col::<Option<String>>(row, "phone")?);
    }
    Ok(out)
}
