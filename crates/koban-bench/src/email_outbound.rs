//! `koban-bench email-outbound`: agents' replies on mailed tickets, sent
//! by the job queue to a local SMTP sink, beside the same number of mails
//! sent straight with lettre to the same sink in the same run.
//!
//! Koban runs inside the driver, on the configured database: the tickets
//! (each from its own requester, with the mail that opened it) are
//! written straight into the database; the replies go through the desk's
//! own service (`add_message_as`: the message, its event, the mail's
//! threading headers, the delivery row and its job, in one transaction)
//! while no worker runs; then the job worker starts and the clock runs
//! until every reply is recorded sent. The sink is a few lines of SMTP
//! that count messages and keep nothing, so neither it nor a network is
//! what is measured. The peer sends from as many tasks as the worker runs
//! jobs at once (a claim's batch), with the same transport settings
//! (`builder_dangerous`, a connection per mail) and a mail of the same shape.

use super::EmailOutbound;
use koban::config::Config;
use koban::desk::tickets::service::{add_message_as, Standing};
use lettre::message::MultiPart;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::Row;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Jobs the worker runs at once: it claims 16 and runs them together.
const WORKER_BATCH: usize = 16;

const REPLY: &str = "お問い合わせありがとうございます。見覚えのない端末を削除しました。\n\n\
新しいパソコンでもう一度ログインしてください。うまくいかない場合は、このメールにそのまま返信してください。";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Serves SMTP on 127.0.0.1 and counts the messages it takes.
async fn sink() -> Result<(u16, Arc<AtomicU64>), String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
    let port = listener.local_addr().map_err(err)?.port();
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let _ = session(stream, &counted).await;
            });
        }
    });
    Ok((port, count))
}

/// One SMTP session: every command accepted, each message counted.
async fn session(stream: TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line
            .get(..4)
            .map(|v| v.to_ascii_uppercase())
            .unwrap_or_default();
        match &verb[..] {
            b"EHLO" => {
                write
                    .write_all(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?
            }
            b"DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                }
                count.fetch_add(1, Ordering::Relaxed);
                write.write_all(b"250 kept\r\n").await?;
            }
            b"QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}

/// Writes `n` mailed tickets, each from its own requester with the mail
/// that opened it; their ids.
async fn seed(app: &koban::state::App, tag: &str, n: usize) -> Result<Vec<i64>, String> {
    let now = koban::store::now_ms();
    let mut tx = app.store.write().begin().await.map_err(err)?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let contact: i64 = sqlx::query(
            "INSERT INTO desk_contacts (email, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(format!("outbound-{tag}-{i}@example.jp"))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?
        .try_get("id")
        .map_err(err)?;
        let reference = koban_policy::desk::reference::Reference::from_random(
            (std::process::id() as u64) << 32 | i as u64,
        )
        .to_string();
        let ticket: i64 = sqlx::query(
            "INSERT INTO desk_tickets (reference, subject, status, priority, category, channel,
                requester_contact_id, language, created_at, updated_at)
             VALUES ($1, '新しいパソコンでログインできません', 'open', 'normal', 'device_security',
                'email', $2, 'ja', $3, $3) RETURNING id",
        )
        .bind(&reference)
        .bind(contact)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?
        .try_get("id")
        .map_err(err)?;
        let message: i64 = sqlx::query(
            "INSERT INTO desk_messages (ticket_id, author_kind, public, body, created_at)
             VALUES ($1, 'requester', 1, '端末の上限に達したと表示されます。', $2) RETURNING id",
        )
        .bind(ticket)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?
        .try_get("id")
        .map_err(err)?;
        sqlx::query(
            "INSERT INTO desk_channel_messages (channel, external_id, ticket_id, message_id, direction, sender, created_at)
             VALUES ('email', $1, $2, $3, 'in', $4, $5)",
        )
        .bind(format!("{tag}.{i}@example.jp"))
        .bind(ticket)
        .bind(message)
        .bind(format!("outbound-{tag}-{i}@example.jp"))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        ids.push(ticket);
    }
    tx.commit().await.map_err(err)?;
    Ok(ids)
}

/// Replies to every ticket through the desk's service from `clients`
/// tasks; the time it took.
async fn queue_replies(
    app: &Arc<koban::state::App>,
    agent: i64,
    tickets: Vec<i64>,
    clients: usize,
) -> Result<Duration, String> {
    let started = Instant::now();
    let shares: Vec<Vec<i64>> = (0..clients)
        .map(|c| tickets.iter().skip(c).step_by(clients).copied().collect())
        .collect();
    let mut tasks = Vec::new();
    for share in shares {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for id in share {
                let ticket = koban::desk::store::ticket_by_id(app.store.read(), id)
                    .await
                    .map_err(err)?
                    .ok_or("a seeded ticket is missing")?;
                add_message_as(
                    &app,
                    Some(agent),
                    &ticket,
                    Standing::Agent,
                    REPLY,
                    true,
                    &[],
                    None,
                )
                .await
                .map_err(err)?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(err)??;
    }
    Ok(started.elapsed())
}

async fn replies_sent(app: &koban::state::App) -> Result<i64, String> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM deliveries WHERE purpose = 'desk_replied' AND status = 'sent'",
    )
    .fetch_one(app.store.read())
    .await
    .map_err(err)?
    .try_get("n")
    .map_err(err)
}

/// The peer: `n` mails of the reply's shape straight to the sink with lettre.
async fn lettre_direct(port: u16, n: usize, tasks: usize) -> Result<Duration, String> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let started = Instant::now();
    let mut running = Vec::new();
    for task in 0..tasks {
        let transport = transport.clone();
        running.push(tokio::spawn(async move {
            for i in (task..n).step_by(tasks) {
                let message = Message::builder()
                    .from("Support <support@bench.example>".parse().map_err(err)?)
                    .to(format!("peer-{i}@example.jp").parse().map_err(err)?)
                    .subject("Re: 新しいパソコンでログインできません [#2612-0345-678]")
                    .in_reply_to(format!("<peer.{i}@example.jp>"))
                    .multipart(MultiPart::alternative_plain_html(
                        REPLY.to_string(),
                        format!("<p>{}</p>", REPLY.replace('\n', "<br>")),
                    ))
                    .map_err(err)?;
                transport.send(message).await.map_err(err)?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in running {
        task.await.map_err(err)??;
    }
    Ok(started.elapsed())
}

/// `koban-bench email-outbound`.
pub(super) async fn run(mut config: Config, options: EmailOutbound) -> Result<(), String> {
    if options.replies == 0 || options.clients == 0 {
        return Err("--replies and --clients must be at least 1".into());
    }
    let (port, received) = sink().await?;
    config.delivery_mode = "live".into();
    config.smtp_host = "127.0.0.1".into();
    config.smtp_port = port;
    config.smtp_tls = "none".into();
    config.email_addresses = "support@bench.example".into();
    let app = koban::app::start(config).await.map_err(err)?;
    let tag = options
        .tag
        .clone()
        .unwrap_or_else(|| std::process::id().to_string());
    let contact =
        koban_policy::contact::parse_identifier(&format!("agent-{tag}@bench.example"), None)
            .map_err(|e| format!("{e:?}"))?;
    let agent =
        koban::accounts::service::create_verified(&app, &contact, super::DEFAULT_PASSWORD, "agent")
            .await
            .map_err(|e| format!("agent: {e:?}"))?;
    let tickets = seed(&app, &tag, options.replies).await?;
    let before = replies_sent(&app).await?;

    // Queued with no worker running, so the send is timed alone.
    let queued = queue_replies(&app, agent, tickets, options.clients).await?;
    let n = options.replies as f64;
    eprintln!(
        "bench: {} replies queued in {:.2} s ({:.1}/s)",
        options.replies,
        queued.as_secs_f64(),
        n / queued.as_secs_f64()
    );
    let at_start = received.load(Ordering::Relaxed);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(koban::jobs::worker::run(app.clone(), stopped));
    let want = before + options.replies as i64;
    let deadline = started + Duration::from_secs(options.timeout_seconds);
    loop {
        if replies_sent(&app).await? >= want {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {} replies sent after {} s",
                replies_sent(&app).await? - before,
                options.replies,
                options.timeout_seconds
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sent = started.elapsed();
    let _ = stop.send(true);
    let _ = worker.await;
    let delivered = received.load(Ordering::Relaxed) - at_start;
    let failed: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM deliveries WHERE purpose = 'desk_replied' AND status <> 'sent'",
    )
    .fetch_one(app.store.read())
    .await
    .map_err(err)?
    .try_get("n")
    .map_err(err)?;
    // What else the sink may have counted: every delivery by purpose, and
    // the attempts it took (a mail the sink kept but whose answer was lost
    // is sent again: SMTP is at least once).
    let purposes = sqlx::query(
        "SELECT purpose, status, COUNT(*) AS n, CAST(SUM(attempts) AS BIGINT) AS attempts FROM deliveries
         GROUP BY purpose, status ORDER BY purpose, status",
    )
    .fetch_all(app.store.read())
    .await
    .map_err(err)?;
    let mut attempts_over_one = 0;
    for row in &purposes {
        let (purpose, status): (String, String) = (
            row.try_get("purpose").map_err(err)?,
            row.try_get("status").map_err(err)?,
        );
        let (n, attempts): (i64, i64) = (
            row.try_get("n").map_err(err)?,
            row.try_get::<Option<i64>, _>("attempts")
                .map_err(err)?
                .unwrap_or(0),
        );
        eprintln!("bench: deliveries {purpose} {status}: {n}, {attempts} attempts");
        if purpose == "desk_replied" {
            attempts_over_one += attempts - n;
        }
    }
    let backend = app.store.backend().name();
    app.store.close().await;

    let direct = lettre_direct(port, options.replies, WORKER_BATCH).await?;
    let koban_rate = n / sent.as_secs_f64();
    let direct_rate = n / direct.as_secs_f64();
    eprintln!(
        "bench: {backend}: {koban_rate:.1} replies/s through the job queue, {direct_rate:.1} mails/s straight with lettre"
    );
    println!("database={backend}");
    println!("replies={}", options.replies);
    println!("queued_per_second={:.1}", n / queued.as_secs_f64());
    println!("sent_per_second={koban_rate:.1}");
    println!("sink_received={delivered}");
    println!("not_sent={failed}");
    println!("attempts_over_one={attempts_over_one}");
    println!("lettre_per_second={direct_rate:.1}");
    println!("ratio_to_lettre={:.3}", koban_rate / direct_rate);
    Ok(())
}
