//! A large mail is not held by the listener while it arrives: its full
//! deflated pieces go to the database during DATA (`email_receiving_chunks`)
//! and become the stored mail's when it is accepted; a mail refused or cut
//! off leaves none behind.

use super::{codes, configure, read_to_close, smtp_addr, DESK};
use crate::email_ingest::raw::{large_mail, stored_raw};
use crate::support::{eventually, scalar, TestApp};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn spilled(t: &TestApp) -> i64 {
    scalar(t, "SELECT COUNT(*) FROM email_receiving_chunks").await
}

/// Opens a session and sends the envelope, DATA and the first `half` of
/// the mail, then waits until the listener has spilled pieces of it.
async fn half_sent(t: &TestApp, mail: &[u8], half: usize) -> TcpStream {
    let addr = smtp_addr(t).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let envelope = format!(
        "EHLO spill.example\r\nMAIL FROM:<taro@example.jp>\r\nRCPT TO:<{DESK}>\r\nDATA\r\n"
    );
    stream.write_all(envelope.as_bytes()).await.expect("write");
    stream.write_all(&mail[..half]).await.expect("write");
    stream.flush().await.expect("flush");
    eventually("pieces spilled during DATA", || async {
        (spilled(t).await > 0).then_some(())
    })
    .await;
    stream
}

async fn a_large_mail_is_spilled_while_it_arrives_and_stored_whole(t: TestApp) {
    let mail = large_mail("spill@example.jp", 1024);
    let mut stream = half_sent(&t, &mail, mail.len() / 2).await;
    // Nothing is stored before the final dot.
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM email_inbound").await, 0);
    stream
        .write_all(&mail[mail.len() / 2..])
        .await
        .expect("write");
    stream.write_all(b".\r\nQUIT\r\n").await.expect("write");
    let answers = read_to_close(&mut stream, Duration::from_secs(30)).await;
    assert_eq!(
        codes(&answers),
        ["220", "250", "250", "250", "354", "250", "221"],
        "{answers}"
    );
    let (raw, pieces) = stored_raw(&t, "spill@example.jp").await;
    assert_eq!(raw, mail);
    assert!(pieces >= 5, "{pieces} pieces");
    assert_eq!(spilled(&t).await, 0, "the pieces moved to the stored mail");
    // The same mail again is a duplicate: stored once, its pieces dropped.
    let mut again = half_sent(&t, &mail, mail.len() / 2).await;
    again
        .write_all(&mail[mail.len() / 2..])
        .await
        .expect("write");
    again.write_all(b".\r\nQUIT\r\n").await.expect("write");
    let answers = read_to_close(&mut again, Duration::from_secs(30)).await;
    assert!(answers.contains("250 2.0.0"), "{answers}");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM email_inbound").await, 1);
    assert_eq!(spilled(&t).await, 0);
}
both!(
    a_large_mail_is_spilled_while_it_arrives_and_stored_whole,
    super::configure
);

async fn a_mail_cut_off_or_over_the_limit_leaves_no_pieces(t: TestApp) {
    // The sender goes away in the middle.
    let mail = large_mail("cut@example.jp", 1024);
    let stream = half_sent(&t, &mail, mail.len() / 2).await;
    drop(stream);
    eventually("the cut-off mail's pieces dropped", || async {
        (spilled(&t).await == 0).then_some(())
    })
    .await;

    // Past the 2 MiB limit after pieces were spilled: 552, nothing kept.
    let huge = large_mail("huge@example.jp", 2048);
    let mut stream = half_sent(&t, &huge, 1024 * 1024).await;
    stream.write_all(&huge[1024 * 1024..]).await.expect("write");
    stream.write_all(b".\r\nQUIT\r\n").await.expect("write");
    let answers = read_to_close(&mut stream, Duration::from_secs(30)).await;
    assert!(answers.contains("552 5.3.4"), "{answers}");
    assert_eq!(spilled(&t).await, 0);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM email_inbound").await, 0);
}
both!(
    a_mail_cut_off_or_over_the_limit_leaves_no_pieces,
    super::configure
);

/// What a crash left behind (a session that never ended) goes with the
/// hourly prune, and only that.
async fn the_prune_drops_pieces_a_crash_left(t: TestApp) {
    let now = koban::store::now_ms();
    for (receipt, age_ms) in [("crashed", 2 * 3_600_000), ("receiving", 1_000)] {
        sqlx::query(
            "INSERT INTO email_receiving_chunks (receipt, seq, bytes, created_at) VALUES ($1, 1, $2, $3)",
        )
        .bind(receipt)
        .bind(vec![1u8; 16])
        .bind(now - age_ms)
        .execute(t.app.store.write())
        .await
        .expect("insert");
    }
    t.run_job_now("email.prune_raw").await;
    eventually("the crashed session's piece pruned", || async {
        (spilled(&t).await == 1).then_some(())
    })
    .await;
    let left: String = sqlx::query_scalar("SELECT receipt FROM email_receiving_chunks")
        .fetch_one(t.app.store.read())
        .await
        .expect("one left");
    assert_eq!(left, "receiving");
}
both!(the_prune_drops_pieces_a_crash_left, super::configure);
