//! `koban-bench search load`: tickets with their conversations straight
//! into the configured database (spread over statuses, teams and agents as
//! `desk-queue` spreads them, the text from [`super::corpus`]), then the
//! index rebuilt through Koban's own code path, the one `koban search
//! reindex` runs, timed.

use super::super::desk_queue::{agents, load_contacts, shape, staff_teams};
use super::corpus::Corpus;
use super::{dir_bytes, err, index_dir, SearchLoad};
use koban::state::App;
use koban_policy::desk::reference::Reference;
use sqlx::Row;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tickets per transaction: their messages (at most 4 each, 6 columns)
/// stay under SQLite's 32,766 parameters.
const BATCH: usize = 1000;

/// Changes this recent are applied again by a node opening a rebuilt
/// index (`search::rebuild`'s settle window, 10 s): the rebuild waits this
/// long after the load so the servers start with nothing to catch up on.
const SETTLE: Duration = Duration::from_secs(11);

async fn count(app: &App, table: &str) -> Result<i64, String> {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(app.store.read())
        .await
        .map_err(err)?
        .try_get("n")
        .map_err(err)
}

/// Adds tickets numbered from `from` until `want - have` are added; the
/// number of tickets and of messages added.
async fn fill(
    app: &App,
    corpus: &Corpus,
    options: &SearchLoad,
    agent_ids: &[i64],
    have: u64,
) -> Result<(u64, u64), String> {
    let want = options.tickets as u64;
    // The requesters, one per ten tickets.
    let contacts_n = (want / 10).max(1);
    let now = koban::store::now_ms();
    let first_contact = load_contacts(app, "search-requester", contacts_n, now).await?;
    // A year of tickets, oldest first; each message an hour after the last.
    let year_ms = 365 * 24 * 3_600_000i64;
    let step = year_ms / want.max(1) as i64;
    let hour = 3_600_000i64;
    let (mut added, mut messages, mut i) = (0u64, 0u64, have);
    while have + added < want {
        let end = i + (BATCH as u64).min(want - have - added);
        let texts: Vec<_> = (i..end).map(|n| corpus.ticket(n, options.seed)).collect();
        let mut tx = app.store.write().begin().await.map_err(err)?;
        let values: Vec<String> = (0..end - i)
            .map(|k| {
                let n: Vec<String> = (1..=13).map(|c| format!("${}", 13 * k + c)).collect();
                format!(
                    "({}, 'web', {}, '{{}}', 40, '{{}}', {}, {})",
                    n[..10].join(", "),
                    n[10],
                    n[11],
                    n[12]
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO desk_tickets (reference, subject, status, priority, category, urgent,
                requester_contact_id, team, assignee_id, solved_at, channel, language, fields,
                completeness, triage, created_at, updated_at)
             VALUES {} ON CONFLICT (reference) DO NOTHING RETURNING id, reference",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        let mut by_reference = HashMap::new();
        for (n, text) in (i..end).zip(&texts) {
            let s = shape(n, agent_ids.len());
            let created = now - year_ms + step * n as i64;
            let last = created + hour * (text.messages.len() as i64 - 1);
            let done = matches!(s.status, "solved" | "closed").then_some(last);
            let reference = Reference::from_random(n ^ options.seed.rotate_left(40)).to_string();
            by_reference.insert(reference.clone(), n - i);
            query = query
                .bind(reference)
                .bind(text.subject.clone())
                .bind(s.status)
                .bind(s.priority)
                .bind(text.category.clone())
                .bind(i64::from(s.priority == "urgent"))
                .bind(first_contact + (n % contacts_n) as i64)
                .bind(s.team)
                .bind(s.assignee.map(|a| agent_ids[a]))
                .bind(done)
                .bind(text.lang)
                .bind(created)
                .bind(last);
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(err)?;
        // Each new ticket's conversation; a reference already taken (by
        // another load) skips its ticket.
        let mut rows_of_messages = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get("id").map_err(err)?;
            let reference: String = row.try_get("reference").map_err(err)?;
            let Some(&k) = by_reference.get(&reference) else {
                continue;
            };
            let n = i + k;
            let s = shape(n, agent_ids.len());
            let agent = s
                .assignee
                .map(|a| agent_ids[a])
                .or(agent_ids.first().copied());
            let created = now - year_ms + step * n as i64;
            for (m, (author, body)) in texts[k as usize].messages.iter().enumerate() {
                let by = match author {
                    super::corpus::Author::Agent => agent,
                    super::corpus::Author::Requester => None,
                };
                rows_of_messages.push((id, by, author.kind(), body, created + hour * m as i64));
            }
        }
        for chunk in rows_of_messages.chunks(BATCH * 4) {
            let values: Vec<String> = (0..chunk.len())
                .map(|k| {
                    let p = 5 * k;
                    format!(
                        "(${}, ${}, ${}, 1, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO desk_messages (ticket_id, author_account_id, author_kind, public, body, created_at)
                 VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, by, kind, body, at) in chunk {
                query = query
                    .bind(*id)
                    .bind(*by)
                    .bind(*kind)
                    .bind(body.as_str())
                    .bind(*at);
            }
            query.execute(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        added += rows.len() as u64;
        messages += rows_of_messages.len() as u64;
        i = end;
        if (added as usize / BATCH).is_multiple_of(20) {
            eprintln!("bench: {} of {} tickets", have + added, want);
        }
    }
    Ok((added, messages))
}

/// `koban-bench search load`.
pub(super) async fn run(config: koban::config::Config, options: SearchLoad) -> Result<(), String> {
    if options.tickets == 0 {
        return Err("--tickets must be at least 1".into());
    }
    let corpus = Corpus::load()?;
    let app = koban::app::start(config).await.map_err(err)?;
    let agent_ids = agents(&app, options.agents, &options.password).await?;
    staff_teams(&app, &agent_ids).await?;
    let have = count(&app, "desk_tickets").await?.max(0) as u64;
    let started = Instant::now();
    let (added, messages) = if have < options.tickets as u64 {
        fill(&app, &corpus, &options, &agent_ids, have).await?
    } else {
        (0, 0)
    };
    let load_seconds = started.elapsed().as_secs_f64();
    if app.store.backend() == koban::store::Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(app.store.write())
            .await
            .map_err(err)?;
    }
    eprintln!("bench: {added} tickets with {messages} messages loaded in {load_seconds:.1} s");
    println!("tickets={}", count(&app, "desk_tickets").await?);
    println!("messages={}", count(&app, "desk_messages").await?);
    println!("load_seconds={load_seconds:.1}");
    tokio::time::sleep(SETTLE).await;

    // What `koban search reindex` does, with its progress on stderr.
    let started = Instant::now();
    let last_tenth = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        let tenth = done * 10 / total.max(1);
        if last_tenth.swap(tenth, std::sync::atomic::Ordering::Relaxed) != tenth {
            eprintln!(
                "bench: indexed {done} of {total} tickets ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64().max(0.001)
            );
        }
    };
    let (engine, _) = koban::search::rebuild::rebuild(&app, &progress)
        .await
        .map_err(|e| format!("rebuild: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let indexed = count(&app, "desk_tickets").await?;
    let docs = engine.reader.searcher().num_docs();
    let generation = engine.generation.clone();
    drop(engine);
    println!("rebuild_seconds={seconds:.1}");
    println!(
        "rebuild_tickets_per_second={:.0}",
        indexed as f64 / seconds.max(0.001)
    );
    println!("index_documents={docs}");
    let dir = index_dir(&app.config.data_dir).ok_or("no index generation after the rebuild")?;
    if !dir.ends_with(&generation) {
        return Err(format!("{} is not the rebuilt generation", dir.display()));
    }
    println!(
        "index_mib_after_rebuild={:.1}",
        dir_bytes(&dir) as f64 / 1_048_576.0
    );
    app.store.close().await;
    Ok(())
}
