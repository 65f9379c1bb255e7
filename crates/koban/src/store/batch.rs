//! Statements that need nothing from each other, sent to the database in
//! one trip. On SQLite every trip is two thread hand-offs (the tokio task to
//! sqlx's connection thread and back), which cost more than the inserts
//! themselves (docs/benchmarks-history.md, desk run 3); on PostgreSQL it is
//! a round trip to another process. SQLite runs the statements one after
//! another from one string; PostgreSQL runs all but the last as
//! data-modifying `WITH` clauses of the last, which it executes exactly
//! once each, on one snapshot: so no statement of a batch may depend on
//! another's effect, and only the last may return rows.
//!
//! One dependency is allowed, made explicit: a statement added with
//! [`Batch::push_with_id`] hands its row's `id` to the statements after it
//! ([`Earlier::id`]). PostgreSQL reads it from that statement's `WITH`
//! clause (`RETURNING id`); SQLite, which keeps no result between the
//! statements of a string, finds the row again with an expression the
//! caller gives (the statement's own unique values).

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

/// A parameter of a batched statement.
#[derive(Debug, Clone)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_string()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        Value::Text(v.map(str::to_string))
    }
}

impl From<Option<Vec<u8>>> for Value {
    fn from(v: Option<Vec<u8>>) -> Value {
        Value::Bytes(v)
    }
}

/// Statements collected to run in one trip.
#[derive(Debug, Default)]
pub struct Batch {
    statements: Vec<Statement>,
    values: Vec<Value>,
}

#[derive(Debug)]
struct Statement {
    sql: String,
    /// For a statement whose id later ones use: how SQLite finds its row
    /// again (parameters already renumbered).
    again: Option<String>,
}

/// A statement of a batch whose `id` the statements after it use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earlier(usize);

impl Earlier {
    /// The earlier statement's id, as a value in a later statement's text.
    pub fn id(self) -> String {
        format!("{{earlier_{}}}", self.0)
    }

    /// [`Earlier::id`] as text, to be joined with `||` into a text value.
    pub fn id_as_text(self) -> String {
        format!("CAST({} AS TEXT)", self.id())
    }
}

impl Batch {
    /// Adds a statement whose parameters are numbered from `$1` as if it
    /// stood alone, with their values in that order.
    pub fn push(&mut self, sql: &str, values: Vec<Value>) {
        self.statements.push(Statement {
            sql: shift(sql, self.values.len()),
            again: None,
        });
        self.values.extend(values);
    }

    /// Adds an `INSERT` or upsert (written without `RETURNING`) that
    /// yields exactly one row, whose `id` the statements added after it
    /// may use through the returned [`Earlier`]. `again` is a scalar
    /// subquery that finds that id on SQLite once the statement has run,
    /// run again in each later statement that uses it, so it must still
    /// find that row there; its `$n` count from `values` like `sql`'s.
    pub fn push_with_id(&mut self, sql: &str, values: Vec<Value>, again: &str) -> Earlier {
        let earlier = Earlier(self.statements.len());
        self.statements.push(Statement {
            sql: shift(sql, self.values.len()),
            again: Some(shift(again, self.values.len())),
        });
        self.values.extend(values);
        earlier
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The batch as one statement text for `backend`.
    fn text(&self, backend: super::Backend) -> String {
        let statements: Vec<String> = self
            .statements
            .iter()
            .map(|s| self.with_earlier_ids(&s.sql, backend))
            .collect();
        match (backend, statements.split_last()) {
            (_, None) => String::new(),
            (super::Backend::Sqlite, _) => statements.join(";\n"),
            (super::Backend::Postgres, Some((last, before))) if !before.is_empty() => {
                let clauses: Vec<String> = before
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match self.statements[i].again {
                        Some(_) => format!("batch_{i} AS ({s} RETURNING id)"),
                        None => format!("batch_{i} AS ({s})"),
                    })
                    .collect();
                format!("WITH {}\n{last}", clauses.join(",\n"))
            }
            (super::Backend::Postgres, Some((last, _))) => last.clone(),
        }
    }

    /// `sql` with each earlier statement's id written for `backend`.
    fn with_earlier_ids(&self, sql: &str, backend: super::Backend) -> String {
        let mut sql = sql.to_string();
        if !sql.contains("{earlier_") {
            return sql;
        }
        for (i, statement) in self.statements.iter().enumerate() {
            let Some(again) = &statement.again else {
                continue;
            };
            let token = Earlier(i).id();
            if !sql.contains(&token) {
                continue;
            }
            let value = match backend {
                super::Backend::Sqlite => again.clone(),
                super::Backend::Postgres => format!("(SELECT id FROM batch_{i})"),
            };
            sql = sql.replace(&token, &value);
        }
        sql
    }

    /// Runs every statement on `conn` (a transaction's, mostly), in one
    /// trip, and answers the id of `row`, an earlier statement's.
    pub async fn run_for_id(
        mut self,
        conn: &mut AnyConnection,
        row: Earlier,
    ) -> Result<i64, sqlx::Error> {
        use sqlx::Row;
        self.push(&format!("SELECT {} AS id", row.id()), Vec::new());
        let rows = self.run(conn).await?;
        rows.first().ok_or(sqlx::Error::RowNotFound)?.try_get("id")
    }

    /// Runs every statement on `conn` (a transaction's, mostly), in one
    /// trip; the rows the last returns (on SQLite too, where an earlier
    /// statement may return some). Outside a transaction the batch is
    /// still atomic on PostgreSQL, being one statement, but not on SQLite.
    pub async fn run(self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, sqlx::Error> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let backend = backend_of(conn);
        let text = self.text(backend);
        let mut query = sqlx::query(&text);
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
            };
        }
        // SQLite streams the rows of every statement of the string, each
        // statement's closed by its result: keep the last statement's.
        // (sqlx deprecates several statements in one string, launchbadge/
        // sqlx#3108, which the SQLite side of a batch is; its tests on both
        // databases would show the day it goes.)
        use futures_util::TryStreamExt;
        let mut rows = Vec::new();
        let mut last = Vec::new();
        #[allow(deprecated)]
        let mut stream = query.fetch_many(&mut *conn);
        while let Some(step) = stream.try_next().await? {
            match step {
                sqlx::Either::Left(_) => last = std::mem::take(&mut rows),
                sqlx::Either::Right(row) => rows.push(row),
            }
        }
        if !rows.is_empty() {
            last = rows;
        }
        Ok(last)
    }
}

/// Which database a connection is on.
fn backend_of(conn: &AnyConnection) -> super::Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        super::Backend::Sqlite
    } else {
        super::Backend::Postgres
    }
}

/// `sql` with every `$n` parameter renumbered `$(n + by)`. Koban's SQL
/// has no `$` in its literals, which this relies on.
fn shift(sql: &str, by: usize) -> String {
    if by == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Backend;

    #[test]
    fn parameters_are_numbered_on_from_the_statements_before() {
        let mut batch = Batch::default();
        batch.push(
            "INSERT INTO a (x, y) VALUES ($1, $2)",
            vec![1.into(), "y".into()],
        );
        batch.push("INSERT INTO b (x) VALUES ($1) RETURNING id", vec![2.into()]);
        assert_eq!(
            batch.text(Backend::Sqlite),
            "INSERT INTO a (x, y) VALUES ($1, $2);\nINSERT INTO b (x) VALUES ($3) RETURNING id"
        );
        assert_eq!(
            batch.text(Backend::Postgres),
            "WITH batch_0 AS (INSERT INTO a (x, y) VALUES ($1, $2))\nINSERT INTO b (x) VALUES ($3) RETURNING id"
        );
        assert_eq!(shift("($1, $10, $2)", 9), "($10, $19, $11)");
    }

    #[test]
    fn a_later_statement_uses_an_earlier_ones_id() {
        let mut batch = Batch::default();
        let contact = batch.push_with_id(
            "INSERT INTO c (email) VALUES ($1) ON CONFLICT (email) DO UPDATE SET email = excluded.email",
            vec!["a@example.com".into()],
            "(SELECT id FROM c WHERE email = $1)",
        );
        batch.push(
            &format!(
                "INSERT INTO t (c_id, x) VALUES ({}, $1) RETURNING id",
                contact.id()
            ),
            vec![2.into()],
        );
        assert_eq!(
            batch.text(Backend::Sqlite),
            "INSERT INTO c (email) VALUES ($1) ON CONFLICT (email) DO UPDATE SET email = excluded.email;\n\
             INSERT INTO t (c_id, x) VALUES ((SELECT id FROM c WHERE email = $1), $2) RETURNING id"
        );
        assert_eq!(
            batch.text(Backend::Postgres),
            "WITH batch_0 AS (INSERT INTO c (email) VALUES ($1) ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id)\n\
             INSERT INTO t (c_id, x) VALUES ((SELECT id FROM batch_0), $2) RETURNING id"
        );
    }

    #[test]
    fn one_statement_is_sent_as_it_is() {
        let mut batch = Batch::default();
        batch.push("UPDATE t SET x = $1", vec![Value::Int(None)]);
        assert_eq!(batch.text(Backend::Postgres), "UPDATE t SET x = $1");
        assert_eq!(batch.text(Backend::Sqlite), "UPDATE t SET x = $1");
    }
}
