//! Rows to index documents. A ticket's document holds its subject, its
//! form answers and its opening message (what the requester asked), so a
//! ticket is found by what it is about; each later message is a document
//! of its own. A message carries its ticket's fields, so a filter by status
//! or team and the permission filter apply to it as to the ticket; any
//! change to a ticket or one of its messages re-indexes the whole ticket.

use super::schema::Fields;
use super::store::{MessageDoc, TicketDoc};
use koban_policy::search::scope::Kind;
use tantivy::TantivyDocument;

/// A help-center article version, as the help center hands it to search
/// ([`super::articles`]): one document per article and language.
#[derive(Debug, Clone)]
pub struct ArticleDoc {
    pub id: i64,
    pub language: String,
    pub title: String,
    /// The body as plain text (Markdown's text, not its markup).
    pub body: String,
    pub category: Option<String>,
    /// Only published versions are found by requesters and signed-out readers.
    pub published: bool,
    pub created_at: i64,
}

pub fn ticket_key(id: i64) -> String {
    format!("t:{id}")
}

pub fn message_key(id: i64) -> String {
    format!("m:{id}")
}

pub fn article_key(id: i64, language: &str) -> String {
    format!("a:{id}:{language}")
}

/// What the requester and agents read of a form's answers: every string
/// and number in it, one per line (secrets were masked when stored).
fn answers_text(fields: &str) -> String {
    fn walk(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Number(n) => {
                out.push_str(&n.to_string());
                out.push('\n');
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(fields) {
        walk(&value, &mut out);
    }
    out
}

/// The fields a ticket and each of its messages share.
fn ticket_fields(f: &Fields, t: &TicketDoc, doc: &mut TantivyDocument) {
    doc.add_i64(f.ticket, t.id);
    doc.add_text(f.reference, &t.reference);
    doc.add_text(f.status, &t.status);
    doc.add_text(f.category, &t.category);
    doc.add_text(f.channel, &t.channel);
    doc.add_text(f.language, &t.language);
    if let Some(team) = &t.team {
        doc.add_text(f.team, team);
    }
    if let Some(a) = t.assignee_id {
        doc.add_i64(f.assignee, a);
    }
    for r in [t.requester_account_id, t.contact_account_id]
        .into_iter()
        .flatten()
    {
        doc.add_i64(f.requester, r);
    }
    if let Some(o) = t.organization_id {
        doc.add_i64(f.organization, o);
    }
}

/// The documents of a ticket and its conversation (`messages` in any order).
pub fn conversation(f: &Fields, t: &TicketDoc, messages: &[&MessageDoc]) -> Vec<TantivyDocument> {
    let opening = messages.iter().min_by_key(|m| m.id).copied();
    let mut docs = vec![ticket(f, t, opening)];
    docs.extend(
        messages
            .iter()
            .filter(|m| Some(m.id) != opening.map(|o| o.id))
            .map(|m| message(f, t, m)),
    );
    docs
}

fn ticket(f: &Fields, t: &TicketDoc, opening: Option<&MessageDoc>) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.key, ticket_key(t.id));
    doc.add_text(f.kind, Kind::Ticket.as_str());
    ticket_fields(f, t, &mut doc);
    doc.add_text(f.title, &t.subject);
    // Found as stored (11 digits) and as people write it (4-4-3).
    doc.add_text(f.title, &t.reference);
    doc.add_text(f.title, crate::desk::tickets::api::formatted(&t.reference));
    let mut body = opening.map(|m| m.body.clone()).unwrap_or_default();
    body.push('\n');
    body.push_str(&answers_text(&t.fields));
    doc.add_text(f.body, body.trim());
    doc.add_i64(f.public, 1);
    doc.add_i64(f.created_at, t.created_at);
    doc
}

fn message(f: &Fields, t: &TicketDoc, m: &MessageDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.key, message_key(m.id));
    doc.add_text(f.kind, Kind::Message.as_str());
    ticket_fields(f, t, &mut doc);
    doc.add_i64(f.message, m.id);
    doc.add_text(f.context, &t.subject);
    doc.add_text(f.body, &m.body);
    doc.add_i64(f.public, i64::from(m.public));
    doc.add_i64(f.created_at, m.created_at);
    doc
}

pub fn article(f: &Fields, a: &ArticleDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.key, article_key(a.id, &a.language));
    doc.add_text(f.kind, Kind::Article.as_str());
    doc.add_i64(f.article, a.id);
    doc.add_text(f.language, &a.language);
    doc.add_text(f.title, &a.title);
    doc.add_text(f.body, &a.body);
    if let Some(c) = &a.category {
        doc.add_text(f.category, c);
    }
    doc.add_i64(f.public, i64::from(a.published));
    doc.add_i64(f.created_at, a.created_at);
    doc
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_are_read_as_text() {
        let text = super::answers_text(
            r#"{"device":"iPhone 15","order":12345,"tags":["a","b"],"ok":true}"#,
        );
        for part in ["iPhone 15", "12345", "a", "b"] {
            assert!(text.contains(part), "{text}");
        }
        assert_eq!(super::answers_text("not json"), "");
    }
}
