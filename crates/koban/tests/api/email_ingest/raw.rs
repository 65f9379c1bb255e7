//! A mail's raw copy: read again for a held mail, kept for its retention
//! and then dropped, stored in pieces when large, large files (a 7bit log)
//! on the ticket byte for byte, and a mail with nothing to name it.

use super::{configure, deliver, mail, open_up_to_the_hourly_limit, DESK};
use crate::support::{eventually, TestApp};
use sqlx::Row;

async fn a_kept_mail_is_read_again_from_its_raw_copy(t: TestApp) {
    open_up_to_the_hourly_limit(&t, "busy@example.com", "k").await;
    let held = deliver(
        &t,
        DESK,
        &mail("busy@example.com", "n3", "k3@example.com", "", "the fourth"),
    )
    .await;
    assert_eq!(held.status, "held");
    // Mail on a ticket is never read again; nothing else waits in `review`.
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "opened", None)
            .await
            .expect("replay"),
        0
    );
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "review", None)
            .await
            .expect("replay"),
        0
    );
    // An hour later the sender is under the limit: the held mail, read
    // again, opens its ticket, and only once.
    t.exec("UPDATE email_inbound SET received_at = received_at - 7200000")
        .await;
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "held", None)
            .await
            .expect("replay"),
        1
    );
    eventually("the replayed mail to open a ticket", || async {
        let n = crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE status = 'opened'",
        )
        .await;
        (n == 4).then_some(())
    })
    .await;
    assert_eq!(t.count("desk_tickets").await, 4);
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "held", None)
            .await
            .expect("replay"),
        0
    );
}
both!(
    a_kept_mail_is_read_again_from_its_raw_copy,
    super::configure
);

async fn raw_mail_is_kept_for_its_retention_then_dropped(t: TestApp) {
    let kept = deliver(
        &t,
        DESK,
        &mail("old@example.com", "old", "old1@example.com", "", "x"),
    )
    .await;
    assert_eq!(kept.status, "opened");
    let fresh = deliver(
        &t,
        DESK,
        &mail("new@example.com", "new", "new1@example.com", "", "y"),
    )
    .await;
    assert_eq!(fresh.status, "opened");
    // 31 days old against a retention of 30: its raw copy goes, its ticket stays.
    t.exec("UPDATE email_inbound SET received_at = received_at - 2678400000 WHERE message_id = 'old1@example.com'")
        .await;
    t.run_job_now("email.prune_raw").await;
    eventually("the old raw copy to be dropped", || async {
        let n = crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE raw_deflated IS NULL",
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    let kept_raw = crate::support::scalar(
        &t,
        "SELECT COUNT(*) FROM email_inbound WHERE message_id = 'new1@example.com' AND raw_deflated IS NOT NULL",
    )
    .await;
    assert_eq!(kept_raw, 1);
    assert_eq!(t.count("desk_tickets").await, 2);
}
both!(
    raw_mail_is_kept_for_its_retention_then_dropped,
    super::configure
);

/// A mail with a file that does not compress (its bytes from a simple
/// generator), `kib` KiB of it, as a client writes it: base64 in lines.
pub(crate) fn large_mail(message_id: &str, kib: usize) -> Vec<u8> {
    use base64::Engine;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..kib * 1024).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 32) as u8
    }));
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!(
        "From: big@example.com\r\nTo: {DESK}\r\nSubject: scan\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe scan is attached.\r\n\
         --b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// Mail `message_id`'s raw copy as stored: its row's piece and the others
/// in order, inflated; and how many pieces it has.
pub(crate) async fn stored_raw(t: &TestApp, message_id: &str) -> (Vec<u8>, i64) {
    let row = sqlx::query("SELECT id, raw_deflated FROM email_inbound WHERE message_id = $1")
        .bind(message_id)
        .fetch_one(t.app.store.read())
        .await
        .expect("inbound row");
    let id: i64 = row.get("id");
    let mut deflated: Vec<u8> = row.get("raw_deflated");
    let pieces =
        sqlx::query("SELECT bytes FROM email_inbound_chunks WHERE inbound_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(t.app.store.read())
            .await
            .expect("pieces");
    for piece in &pieces {
        deflated.extend_from_slice(&piece.get::<Vec<u8>, _>("bytes"));
    }
    let raw = koban::channels::email::inbound::inflate(&deflated, 64 << 20).expect("inflates");
    (raw, 1 + pieces.len() as i64)
}

/// A mail with neither subject nor text opens a ticket named "no subject"
/// in the language its charset says it was written in.
async fn a_mail_with_nothing_to_name_it_is_named_in_its_language(t: TestApp) {
    let raw = format!(
        "From: quiet@example.jp\r\nTo: {DESK}\r\nSubject:\r\nMessage-ID: <quiet1@example.jp>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\r\n"
    );
    let placed = deliver(&t, DESK, raw.as_bytes()).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let subject: String = sqlx::query("SELECT subject FROM desk_tickets WHERE id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("ticket")
        .get("subject");
    assert_eq!(subject, "（件名なし）");
    let body: String = sqlx::query("SELECT body FROM desk_messages WHERE ticket_id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("message")
        .get("body");
    assert_eq!(body, "（本文なし）");
}
both!(
    a_mail_with_nothing_to_name_it_is_named_in_its_language,
    super::configure
);

/// A large mail is stored as pieces no larger than 256 KiB, read back
/// whole for its ticket, and its pieces go with its raw copy.
async fn a_large_mail_is_stored_in_pieces_and_read_back_whole(t: TestApp) {
    let raw = large_mail("big1@example.com", 900);
    let placed = deliver(&t, DESK, &raw).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let (stored, pieces) = stored_raw(&t, "big1@example.com").await;
    assert!(stored == raw, "stored byte for byte");
    assert!(
        pieces >= 4,
        "900 KiB that does not compress is 4 pieces or more: {pieces}"
    );
    let largest = crate::support::scalar(
        &t,
        "SELECT COALESCE(MAX(LENGTH(bytes)), 0) FROM email_inbound_chunks",
    )
    .await;
    assert!(largest <= 256 * 1024, "{largest}");
    let file = sqlx::query("SELECT file_name, size FROM desk_attachments WHERE ticket_id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("the file is on the ticket");
    assert_eq!(file.get::<String, _>("file_name"), "scan.pdf");
    assert_eq!(file.get::<i64, _>("size"), 900 * 1024 + 9);

    t.exec("UPDATE email_inbound SET received_at = received_at - 2678400000")
        .await;
    t.run_job_now("email.prune_raw").await;
    eventually("the pieces to go with the raw copy", || async {
        let n = crate::support::scalar(&t, "SELECT COUNT(*) FROM email_inbound_chunks").await;
        (n == 0).then_some(())
    })
    .await;
    assert_eq!(
        crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE raw_deflated IS NULL"
        )
        .await,
        1
    );
}
both!(
    a_large_mail_is_stored_in_pieces_and_read_back_whole,
    super::configure
);

/// A log of about 600 KiB sent as it is (7bit), as Thunderbird sends an
/// `application/octet-stream` file: taken out of the mail before it is
/// parsed, and on the ticket byte for byte, its last line break included.
async fn a_large_7bit_log_reaches_the_ticket_byte_for_byte(t: TestApp) {
    use sha2::Digest;
    let log: String = (0..12_000)
        .map(|i| {
            format!(
                "2026-01-01 10:00:{:02} INFO worker {i}: job -- done\r\n",
                i % 60
            )
        })
        .collect();
    let raw = format!(
        "From: big@example.com\r\nTo: {DESK}\r\nSubject: log\r\nMessage-ID: <log1@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log is attached.\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"app.log\"\r\n\
         Content-Disposition: attachment; filename=\"app.log\"\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{log}\r\n--b--\r\n"
    );
    let placed = deliver(&t, DESK, raw.as_bytes()).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let file =
        sqlx::query("SELECT file_name, size, blob_key FROM desk_attachments WHERE ticket_id = $1")
            .bind(placed.ticket_id.expect("a ticket"))
            .fetch_one(t.app.store.read())
            .await
            .expect("the file is on the ticket");
    assert_eq!(file.get::<String, _>("file_name"), "app.log");
    assert_eq!(file.get::<i64, _>("size"), log.len() as i64);
    // Blobs are named by their bytes' SHA-256.
    assert_eq!(
        file.get::<String, _>("blob_key"),
        hex::encode(sha2::Sha256::digest(log.as_bytes()))
    );
}
both!(
    a_large_7bit_log_reaches_the_ticket_byte_for_byte,
    super::configure
);
