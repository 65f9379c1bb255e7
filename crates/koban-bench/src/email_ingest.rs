//! `koban-bench email-ingest`: mail through a running server's SMTP
//! listener until every message is a ticket (received, stored, parsed,
//! threaded, written), beside the parse rate of the same messages on this
//! machine in the same run, and the server's memory while it takes them.
//!
//! The client is a few lines of SMTP over a kept-open connection per
//! sender, with MAIL, RCPT and DATA pipelined (the listener announces
//! PIPELINING), so the driver's own cost stays small beside the server's.

use super::load::{process_cpu_ticks, rss_mib};
use super::summary::USER_HZ;
use super::EmailIngest;
use base64::Engine;
use koban::config::Config;
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A 1×1 PNG, the smallest screenshot there is.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// One message of the mix, for sender `sender`, number `seq`.
fn message(tag: &str, to: &str, sender: usize, seq: usize, big: usize) -> Vec<u8> {
    let from = format!("bench-{tag}-{sender}@example.jp");
    let id = format!("<{tag}.{sender}.{seq}@bench.example.jp>");
    let head = |subject: &str, extra: &str, content_type: &str| {
        format!(
            "From: Bench {sender} <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {id}\r\n\
             Date: Fri, 04 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n{extra}Content-Type: {content_type}\r\n"
        )
    };
    if big > 0 && std::env::var("BENCH_BIG_MAIL").is_ok_and(|v| v == "log7bit") {
        // Three application logs sent as they are (7bit), as Thunderbird
        // sends a `.log` file: together `big` bytes, each under the desk's
        // 10 MiB per file.
        let mut out = head("logs attached", "", "multipart/mixed; boundary=\"b1\"").into_bytes();
        out.extend_from_slice(
            b"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nlogs attached\r\n",
        );
        let mut random = 0x9E37_79B9_7F4A_7C15_u64 ^ seq as u64;
        for n in 0..3 {
            out.extend_from_slice(format!("--b1\r\nContent-Type: application/octet-stream; name=\"app{n}.log\"\r\nContent-Disposition: attachment; filename=\"app{n}.log\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n").as_bytes());
            let end = out.len() + big / 3;
            while out.len() < end {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                out.extend_from_slice(
                    format!("2026-12-04T10:00:00Z INFO worker {n}: request {random:016x} done in {} ms\r\n", random % 997).as_bytes(),
                );
            }
        }
        out.extend_from_slice(b"--b1--\r\n");
        return out;
    }
    if big > 0 {
        // Two scanned documents that together make the mail `big` bytes:
        // incompressible, as a photo or a PDF is, and each under the
        // desk's 10 MiB per file, so both are kept and stored.
        let mut out = head("scans attached", "", "multipart/mixed; boundary=\"b1\"").into_bytes();
        out.extend_from_slice(
            b"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nscans attached\r\n",
        );
        let mut random = 0x9E37_79B9_7F4A_7C15_u64 ^ seq as u64;
        for n in 0..2 {
            let mut file = b"%PDF-1.4\n%".to_vec();
            while file.len() < big * 3 / 8 {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                file.extend_from_slice(&random.to_le_bytes());
            }
            out.extend_from_slice(format!("--b1\r\nContent-Type: application/pdf; name=\"scan{n}.pdf\"\r\nContent-Disposition: attachment; filename=\"scan{n}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").as_bytes());
            let encoded = base64::engine::general_purpose::STANDARD.encode(&file);
            for line in encoded.as_bytes().chunks(76) {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"--b1--\r\n");
        return out;
    }
    match seq % 4 {
        // Plain UTF-8 Japanese: the most common.
        0 => format!(
            "{}Content-Transfer-Encoding: 8bit\r\n\r\n新しい端末でログインしようとすると「端末の上限に達しました」と表示されます。\r\n古い端末はもう手元にありません。\r\n",
            head("ログインできません", "", "text/plain; charset=utf-8")
        )
        .into_bytes(),
        // ISO-2022-JP, as Japanese mobile and older desktop clients send.
        1 => {
            let (body, _, _) = encoding_rs::ISO_2022_JP.encode("認証コードが届きません。電話番号は変えていません。\r\n");
            let (subject, _, _) = encoding_rs::ISO_2022_JP.encode("認証コードが届きません");
            let subject = format!(
                "=?ISO-2022-JP?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(&subject)
            );
            let mut out = head(&subject, "", "text/plain; charset=ISO-2022-JP").into_bytes();
            out.extend_from_slice(b"Content-Transfer-Encoding: 7bit\r\n\r\n");
            out.extend_from_slice(&body);
            out
        }
        // A screenshot attached.
        2 => format!(
            "{}\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n截图附上，设备列表里有一台不认识的手机。\r\n--b2\r\nContent-Type: image/png; name=\"screenshot.png\"\r\nContent-Disposition: attachment; filename=\"screenshot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{PNG_1X1}\r\n--b2--\r\n",
            head("设备异常", "", "multipart/mixed; boundary=\"b2\"")
        )
        .into_bytes(),
        // A reply to this sender's first message: threaded onto its ticket.
        _ => format!(
            "{}\r\nAdding: it happens on Wi-Fi and on mobile data.\r\n",
            head(
                "Re: ログインできません",
                &format!("In-Reply-To: <{tag}.{sender}.{}@bench.example.jp>\r\n", seq - seq % 4),
                "text/plain; charset=utf-8"
            )
        )
        .into_bytes(),
    }
}

/// Reads one SMTP reply (all its lines); its code.
async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Result<u16, String> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        if line.len() < 4 {
            return Err(format!("short reply {line:?}"));
        }
        if line.as_bytes()[3] == b' ' {
            return line[..3].parse().map_err(|_| format!("bad reply {line:?}"));
        }
    }
}

/// `data` with its lines dot-stuffed and the end-of-data line.
fn dot_stuffed(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    let mut at_line_start = true;
    for &b in data {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// One sender: a connection sending `messages` in turn; how many got 250.
async fn send_all(address: String, to: String, messages: Vec<Vec<u8>>) -> Result<usize, String> {
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    expect(reply(&mut reader).await?, 220, "greeting")?;
    write
        .write_all(b"EHLO bench.example.jp\r\n")
        .await
        .map_err(|e| e.to_string())?;
    expect(reply(&mut reader).await?, 250, "EHLO")?;
    let mut accepted = 0;
    for message in messages {
        let envelope = format!("MAIL FROM:<bench@example.jp>\r\nRCPT TO:<{to}>\r\nDATA\r\n");
        write
            .write_all(envelope.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        expect(reply(&mut reader).await?, 250, "MAIL")?;
        expect(reply(&mut reader).await?, 250, "RCPT")?;
        expect(reply(&mut reader).await?, 354, "DATA")?;
        write
            .write_all(&dot_stuffed(&message))
            .await
            .map_err(|e| e.to_string())?;
        if reply(&mut reader).await? == 250 {
            accepted += 1;
        }
    }
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(accepted)
}

fn expect(code: u16, want: u16, what: &str) -> Result<(), String> {
    if code == want {
        Ok(())
    } else {
        Err(format!("{what}: answered {code}, expected {want}"))
    }
}

/// The parse rate of `messages` on one core for `seconds`.
fn parse_rate(messages: &[Vec<u8>], seconds: u64) -> f64 {
    let window = Duration::from_secs(seconds.max(1));
    let start = Instant::now();
    let mut parsed = 0u64;
    while start.elapsed() < window {
        for m in messages {
            let _ = std::hint::black_box(koban::channels::email::parse::parse(m, &[]));
            parsed += 1;
        }
    }
    parsed as f64 / start.elapsed().as_secs_f64()
}

/// CPU time of process `pid`, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    process_cpu_ticks(pid).map(|t| t as f64 / USER_HZ)
}

/// The messages each sender sends, in order: the mix, with the big one
/// second from sender 0 when asked for.
fn batches(options: &EmailIngest, tag: &str) -> Vec<Vec<Vec<u8>>> {
    let per_sender = options.messages.div_ceil(options.senders);
    let mut batches = Vec::new();
    for sender in 0..options.senders {
        let batch: Vec<Vec<u8>> = (0..per_sender)
            .map(|seq| {
                let big = if sender == 0 && seq == 1 {
                    options.big_mib * 1024 * 1024
                } else {
                    0
                };
                message(tag, &options.to, sender, seq, big)
            })
            .collect();
        batches.push(batch);
    }
    batches
}

/// `koban-bench email-ingest`.
pub(super) async fn run(config: Config, options: EmailIngest) -> Result<(), String> {
    if options.senders == 0 || options.messages == 0 {
        return Err("--senders and --messages must be at least 1".into());
    }
    let tag = options
        .tag
        .clone()
        .unwrap_or_else(|| format!("{:x}", std::process::id() ^ 0x5a5a));
    if let Some(dir) = &options.write_dir {
        let mut written = 0;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        for (sender, batch) in batches(&options, &tag).iter().enumerate() {
            for (seq, raw) in batch.iter().enumerate() {
                let path = dir.join(format!("{sender:03}-{seq:05}.eml"));
                std::fs::write(&path, raw).map_err(|e| format!("{}: {e}", path.display()))?;
                written += 1;
            }
        }
        println!("written={written}");
        return Ok(());
    }
    let sample: Vec<Vec<u8>> = (0..4)
        .map(|seq| message(&tag, &options.to, 0, seq + 4, 0))
        .collect();
    let parse_per_second = tokio::task::spawn_blocking({
        let (sample, seconds) = (sample.clone(), options.parse_seconds);
        move || parse_rate(&sample, seconds)
    })
    .await
    .map_err(|e| e.to_string())?;
    println!("parse_per_second={parse_per_second:.1}");

    let batches = batches(&options, &tag);
    let total: usize = batches.iter().map(Vec::len).sum();
    let store = koban::store::Store::connect(&config.database_url, 2)
        .await
        .map_err(|e| e.to_string())?;
    let cpu_before = options.server_pid.and_then(cpu_seconds);
    let rss_before = options.server_pid.and_then(rss_mib);
    let peak = Arc::new(std::sync::Mutex::new(0f64));
    let sampling = options.server_pid.map(|pid| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(rss) = rss_mib(pid) {
                    let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                    *p = p.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        tasks.spawn(send_all(options.smtp.clone(), options.to.clone(), batch));
    }
    let mut accepted = 0;
    while let Some(done) = tasks.join_next().await {
        accepted += done.map_err(|e| e.to_string())??;
    }
    let sent_in = start.elapsed().as_secs_f64();
    // Every accepted mail ingested: none left `received`.
    loop {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM email_inbound WHERE status = 'received'")
            .fetch_one(store.read())
            .await
            .map_err(|e| e.to_string())?;
        if row.try_get::<i64, _>("n").map_err(|e| e.to_string())? == 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err("mail still waiting for ingest after 600 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ingested_in = start.elapsed().as_secs_f64();
    if let Some(task) = sampling {
        task.abort();
    }
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM email_inbound GROUP BY status ORDER BY status",
    )
    .fetch_all(store.read())
    .await
    .map_err(|e| e.to_string())?;
    let statuses: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r.try_get::<String, _>("status").unwrap_or_default(),
                r.try_get::<i64, _>("n").unwrap_or(0)
            )
        })
        .collect();
    let per_second = accepted as f64 / ingested_in;
    println!("senders={}", options.senders);
    println!("messages={total}");
    println!("accepted={accepted}");
    println!("accepted_per_second={:.1}", accepted as f64 / sent_in);
    println!("ingested_per_second={per_second:.1}");
    println!("ratio_to_parse={:.4}", per_second / parse_per_second);
    println!("statuses={}", statuses.join(","));
    if let (Some(pid), Some(before)) = (options.server_pid, cpu_before) {
        if let Some(after) = cpu_seconds(pid) {
            println!(
                "server_cpu_ms_per_message={:.3}",
                (after - before) * 1000.0 / accepted.max(1) as f64
            );
        }
    }
    if let Some(before) = rss_before {
        println!("server_rss_before_mib={before:.1}");
    }
    println!(
        "server_rss_peak_mib={:.1}",
        *peak.lock().unwrap_or_else(|e| e.into_inner())
    );
    eprintln!(
        "bench: {accepted} of {total} mails from {} senders ingested in {ingested_in:.2} s ({per_second:.1}/s; parse alone {parse_per_second:.1}/s)",
        options.senders
    );
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_of_the_mix_reads_as_written() {
        let subjects = [
            "ログインできません",
            "認証コードが届きません",
            "设备异常",
            "Re: ログインできません",
        ];
        for (seq, subject) in subjects.iter().enumerate() {
            let raw = message("t", "support@bench.example", 3, seq + 4, 0);
            let mail = koban::channels::email::parse::parse(&raw, &[]).expect("parses");
            assert_eq!(mail.subject, *subject);
            assert_eq!(
                mail.message_id.as_deref(),
                Some(format!("t.3.{}@bench.example.jp", seq + 4).as_str())
            );
            assert!(!mail.text.trim().is_empty(), "{subject}: {:?}", mail.text);
        }
        let reply = koban::channels::email::parse::parse(&message("t", "s@x", 3, 7, 0), &[])
            .expect("parses");
        assert_eq!(
            reply.in_reply_to,
            vec!["t.3.4@bench.example.jp".to_string()]
        );
        let shot = koban::channels::email::parse::parse(&message("t", "s@x", 3, 6, 0), &[])
            .expect("parses");
        assert_eq!(shot.files.len(), 1);
        let big = message("t", "s@x", 0, 1, 1024 * 1024);
        assert!(big.len() > 1024 * 1024, "{}", big.len());
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuffed(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n".to_vec());
        assert_eq!(dot_stuffed(b".x"), b"..x\r\n.\r\n".to_vec());
    }
}
