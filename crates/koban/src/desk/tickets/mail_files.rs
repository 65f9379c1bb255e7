//! The files an agent's reply carries by mail. Each file the agent
//! attached goes with the mail while all of them together stay under
//! `email_attachments_max_bytes`; the ones that do not fit are left out,
//! the mail says so in the requester's language (without a link: the
//! reply already has one), and the ticket tells the agent.

use crate::delivery::MailFile;
use crate::desk::store::attachments as rows;
use crate::desk::store::TicketRow;
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::{t, Lang};
use sqlx::{Any, Transaction};

/// The files of reply `message_id` that go by mail; when some do not,
/// `body` gains the note that says which, and the ticket an event.
pub(super) async fn for_reply(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    message_id: i64,
    lang: Lang,
    body: &mut String,
) -> Result<Vec<MailFile>, StoreError> {
    let files = rows::on_message(&mut **tx, ticket.id, message_id).await?;
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let cap = app.config.email_attachments_max_bytes;
    let sizes: Vec<u64> = files.iter().map(|f| f.size.max(0) as u64).collect();
    let goes = koban_policy::mail::outbound::files_that_fit(&sizes, cap);
    let mut sent = Vec::new();
    let mut left_out = Vec::new();
    for (file, goes) in files.into_iter().zip(goes) {
        if goes {
            sent.push(MailFile {
                content_type: crate::desk::attachments::served_type(&file.file_type).to_string(),
                blob_key: file.blob_key,
                file_name: file.file_name,
                size: file.size,
            });
        } else {
            left_out.push(file.file_name);
        }
    }
    if !left_out.is_empty() {
        body.push_str("\n\n");
        body.push_str(&t(
            lang,
            "desk-replied-files-left-out",
            &[("files", left_out.join(", "))],
        ));
        crate::desk::store::insert_event(
            tx,
            ticket.id,
            None,
            "email_files_left_out",
            &serde_json::json!({ "files": left_out, "limit_bytes": cap }),
            crate::store::now_ms(),
        )
        .await?;
    }
    Ok(sent)
}
