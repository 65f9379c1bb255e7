//! Statements that need nothing from each other, sent to the database in
//! one trip. On SQLite every trip is two thread hand-offs (the tokio task to
//! sqlx's connection thread and back), which cost more than the inserts
//! themselves (docs/benchmarks-history.md, desk run 3); on PostgreSQL it is
//! a round trip to another process. SQLite runs the statements one after
//! another from one string; PostgreSQL runs all but the last as
//! data-modifying `WITH` clauses of the last, which it executes exactly
//! once each, on one snapshot: so no statement of a batch may depend on
//! another's effect, and only the last may return rows.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

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
    statements: Vec<String>,
    values: Vec<Value>,
}

impl Batch {
    /// Adds a statement whose parameters are numbered from `$1` as if it
    /// stood alone, with their values in that order.
    pub fn push(&mut self, sql: &str, values: Vec<Value>) {
        self.statements.push(shift(sql, self.values.len()));
        self.values.extend(values);
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The batch as one statement text for `backend`.
    fn text(&self, backend: super::Backend) -> String {
        match (backend, self.statements.split_last()) {
            (_, None) => String::new(),
            (super::Backend::Sqlite, _) => self.statements.join(";\n"),
            (super::Backend::Postgres, Some((last, before))) if !before.is_empty() => {
                let clauses: Vec<String> = before
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("batch_{i} AS ({s})"))
                    .collect();
                format!("WITH {}\n{last}", clauses.join(",\n"))
            }
            (super::Backend::Postgres, Some((last, _))) => last.clone(),
        }
    }

    /// Runs every statement in `tx`, in one trip; the rows the last returns.
    pub async fn run(self, tx: &mut Transaction<'_, Any>) -> Result<Vec<AnyRow>, sqlx::Error> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let backend = backend_of(tx);
        let text = self.text(backend);
        let mut query = sqlx::query(&text);
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
            };
        }
        query.fetch_all(&mut **tx).await
    }
}

/// Which database a transaction is on.
fn backend_of(tx: &mut Transaction<'_, Any>) -> super::Backend {
    if tx.backend_name().eq_ignore_ascii_case("sqlite") {
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
    fn one_statement_is_sent_as_it_is() {
        let mut batch = Batch::default();
        batch.push("UPDATE t SET x = $1", vec![Value::Int(None)]);
        assert_eq!(batch.text(Backend::Postgres), "UPDATE t SET x = $1");
        assert_eq!(batch.text(Backend::Sqlite), "UPDATE t SET x = $1");
    }
}
