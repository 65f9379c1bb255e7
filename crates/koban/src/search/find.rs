//! A query, a scope and filters to a ranked, highlighted page of hits.
//! Queries are built from tantivy's query types directly, never through
//! its query parser, so nothing a person types is syntax.

use super::engine::Engine;
use super::schema::Fields;
use koban_policy::search::query::{Clause, Query};
use koban_policy::search::scope::{Condition, Kind, Scope};
use std::ops::Bound;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{TantivyDocument, Term};

/// A title match counts for this much more than one in the body.
const TITLE_BOOST: f32 = 2.0;
/// Terms of an unquoted word found in their order rank above found apart.
const IN_ORDER_BOOST: f32 = 1.5;
/// The longest snippet, in bytes of the original text.
const SNIPPET_BYTES: usize = 240;

/// What is asked, checked by the caller.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub status: Option<String>,
    pub category: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<i64>,
    pub requester: Option<i64>,
    pub organization: Option<i64>,
    /// Created at or after (ms).
    pub from: Option<i64>,
    /// Created before (ms).
    pub to: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// One hit, as the API shows it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: Kind,
    pub reference: Option<String>,
    pub message_id: Option<i64>,
    pub article_id: Option<i64>,
    pub title: String,
    /// HTML: the text escaped, the matches in `<mark>`.
    pub snippet: String,
    pub status: Option<String>,
    pub category: Option<String>,
    pub team: Option<String>,
    pub language: Option<String>,
    pub internal: bool,
    pub created_at: i64,
    pub score: f32,
}

/// A page of hits and how many match in all.
pub struct Found {
    pub hits: Vec<Hit>,
    pub total: usize,
}

fn term(field: Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn filter(query: Box<dyn TQuery>) -> (Occur, Box<dyn TQuery>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

fn exact(term: Term) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

/// The terms at their offsets, in one field: a term, or a phrase.
fn in_order(field: Field, terms: &[(usize, String)]) -> Box<dyn TQuery> {
    if let [(_, only)] = terms {
        return Box::new(TermQuery::new(
            term(field, only),
            IndexRecordOption::WithFreqs,
        ));
    }
    let terms = terms.iter().map(|(p, t)| (*p, term(field, t))).collect();
    Box::new(PhraseQuery::new_with_offset(terms))
}

/// In the title (boosted) or the body.
fn either_field(f: &Fields, make: impl Fn(Field) -> Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            Box::new(BoostQuery::new(make(f.title), TITLE_BOOST)),
        ),
        (Occur::Should, make(f.body)),
    ]))
}

fn clause(f: &Fields, c: &Clause) -> Box<dyn TQuery> {
    if c.quoted || c.terms.len() == 1 {
        return either_field(f, |field| in_order(field, &c.terms));
    }
    // An unquoted word of several terms (a CJK or Thai run, an address)
    // needs them all; in order they rank higher.
    let mut parts: Vec<(Occur, Box<dyn TQuery>)> = c
        .terms
        .iter()
        .map(|(_, t)| {
            let one = [(0, t.clone())];
            (Occur::Must, either_field(f, |field| in_order(field, &one)))
        })
        .collect();
    parts.push((
        Occur::Should,
        Box::new(BoostQuery::new(
            either_field(f, |field| in_order(field, &c.terms)),
            IN_ORDER_BOOST,
        )),
    ));
    Box::new(BooleanQuery::new(parts))
}

/// Documents of the scope: one kind's conditions all met, for some kind.
fn scope_query(f: &Fields, scope: &Scope) -> Box<dyn TQuery> {
    let kinds = scope
        .kinds
        .iter()
        .map(|(kind, conditions)| {
            let mut must = vec![(Occur::Must, exact(term(f.kind, kind.as_str())))];
            for c in conditions {
                let t = match c {
                    Condition::RequesterIs(id) => Term::from_field_i64(f.requester, *id),
                    Condition::Public => Term::from_field_i64(f.public, 1),
                };
                must.push((Occur::Must, exact(t)));
            }
            (
                Occur::Should,
                Box::new(BooleanQuery::new(must)) as Box<dyn TQuery>,
            )
        })
        .collect();
    Box::new(BooleanQuery::new(kinds))
}

/// The whole query: text, scope and filters.
pub fn build(f: &Fields, query: &Query, scope: &Scope, ask: &Ask) -> Box<dyn TQuery> {
    if query.clauses.is_empty() || scope.kinds.is_empty() {
        return Box::new(EmptyQuery);
    }
    let mut parts: Vec<(Occur, Box<dyn TQuery>)> = query
        .clauses
        .iter()
        .map(|c| (Occur::Must, clause(f, c)))
        .collect();
    parts.push(filter(scope_query(f, scope)));
    for (field, value) in [
        (f.status, &ask.status),
        (f.category, &ask.category),
        (f.team, &ask.team),
    ] {
        if let Some(v) = value {
            parts.push(filter(exact(term(field, v))));
        }
    }
    for (field, value) in [
        (f.assignee, ask.assignee),
        (f.requester, ask.requester),
        (f.organization, ask.organization),
    ] {
        if let Some(v) = value {
            parts.push(filter(exact(Term::from_field_i64(field, v))));
        }
    }
    if ask.from.is_some() || ask.to.is_some() {
        let lower = ask
            .from
            .map(|v| Bound::Included(Term::from_field_i64(f.created_at, v)))
            .unwrap_or(Bound::Unbounded);
        let upper = ask
            .to
            .map(|v| Bound::Excluded(Term::from_field_i64(f.created_at, v)))
            .unwrap_or(Bound::Unbounded);
        parts.push(filter(Box::new(RangeQuery::new(lower, upper))));
    }
    Box::new(BooleanQuery::new(parts))
}

fn text(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_string))
}

fn number(doc: &TantivyDocument, field: Field) -> Option<i64> {
    doc.get_first(field).and_then(|v| v.as_i64())
}

/// The start of `text`, escaped, when no match is in it (a ticket found
/// by its subject).
fn opening(text: &str) -> String {
    let cut: String = text.chars().take(120).collect();
    let mut out = String::with_capacity(cut.len());
    for c in cut.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Runs the search (blocking: call from a blocking thread).
pub fn run(engine: &Engine, query: &Query, scope: &Scope, ask: &Ask) -> tantivy::Result<Found> {
    let f = &engine.fields;
    let q = build(f, query, scope, ask);
    let searcher = engine.reader.searcher();
    let collector = (
        TopDocs::with_limit(ask.limit.max(1))
            .and_offset(ask.offset)
            .order_by_score(),
        Count,
    );
    let (top, total) = searcher.search(&*q, &collector)?;
    let mut snippets = SnippetGenerator::create(&searcher, &*q, f.body)?;
    snippets.set_max_num_chars(SNIPPET_BYTES);
    let mut hits = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let kind = text(&doc, f.kind)
            .as_deref()
            .and_then(Kind::parse)
            .unwrap_or(Kind::Ticket);
        let mut snippet = snippets.snippet_from_doc(&doc);
        snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
        let snippet = if snippet.is_empty() {
            opening(&text(&doc, f.body).unwrap_or_default())
        } else {
            snippet.to_html()
        };
        let title = match kind {
            Kind::Message => text(&doc, f.context),
            _ => text(&doc, f.title),
        };
        hits.push(Hit {
            kind,
            reference: text(&doc, f.reference),
            message_id: number(&doc, f.message),
            article_id: number(&doc, f.article),
            title: title.unwrap_or_default(),
            snippet,
            status: text(&doc, f.status),
            category: text(&doc, f.category),
            team: text(&doc, f.team),
            language: text(&doc, f.language),
            internal: kind == Kind::Message && number(&doc, f.public) == Some(0),
            created_at: number(&doc, f.created_at).unwrap_or(0),
            score,
        });
    }
    Ok(Found { hits, total })
}
