//! The index's fields. One index holds every kind of document; a field a
//! kind has no use for is simply absent from its documents.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED,
    STRING,
};

/// Bumped when the fields or the tokenizer change: an index of another
/// version is rebuilt from the database.
pub const VERSION: u32 = 1;

#[derive(Clone, Copy)]
pub struct Fields {
    /// `t:<ticket>`, `m:<message>`, `a:<article>:<language>`: what a change deletes by.
    pub key: Field,
    pub kind: Field,
    /// The ticket a ticket or message document belongs to: a ticket's
    /// change deletes its own document and its messages' by this.
    pub ticket: Field,
    pub message: Field,
    pub article: Field,
    pub reference: Field,
    /// A ticket's subject (and reference number), an article's title.
    pub title: Field,
    /// A ticket's form answers, a message's text, an article's body.
    pub body: Field,
    /// Shown, not searched: the subject of a message's ticket.
    pub context: Field,
    pub status: Field,
    pub category: Field,
    pub team: Field,
    pub channel: Field,
    pub language: Field,
    pub assignee: Field,
    /// Every account that is the requester (directly or through a proved contact).
    pub requester: Field,
    pub organization: Field,
    /// 1 for what requesters may read (public replies, published articles).
    pub public: Field,
    pub created_at: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = |stored: bool| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(super::tokenizer::NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let options = TextOptions::default().set_indexing_options(indexing);
            if stored {
                options.set_stored()
            } else {
                options
            }
        };
        let id = || NumericOptions::default().set_indexed().set_stored();
        let fields = Fields {
            key: b.add_text_field("key", STRING | STORED),
            kind: b.add_text_field("kind", STRING | STORED),
            ticket: b.add_i64_field("ticket", id()),
            message: b.add_i64_field("message", id()),
            article: b.add_i64_field("article", id()),
            reference: b.add_text_field("reference", STRING | STORED),
            title: b.add_text_field("title", text(true)),
            body: b.add_text_field("body", text(true)),
            context: b.add_text_field("context", STORED),
            status: b.add_text_field("status", STRING | STORED),
            category: b.add_text_field("category", STRING | STORED),
            team: b.add_text_field("team", STRING | STORED),
            channel: b.add_text_field("channel", STRING | STORED),
            language: b.add_text_field("language", STRING | STORED),
            assignee: b.add_i64_field("assignee", id()),
            requester: b.add_i64_field("requester", NumericOptions::default().set_indexed()),
            organization: b.add_i64_field("organization", id()),
            public: b.add_i64_field("public", id()),
            created_at: b.add_i64_field("created_at", id().set_fast()),
        };
        (b.build(), fields)
    }
}
