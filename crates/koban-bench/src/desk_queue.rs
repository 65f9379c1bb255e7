//! The console's queue over a big desk: tickets loaded straight into the
//! database (spread over teams, agents, statuses, priorities and
//! categories as a busy desk has them), then the queue views an agent
//! opens, asked for one after another with the agent's bearer token, and
//! their latency percentiles; and the server's resident memory after.

use super::load::rss_mib;
use super::summary::{millis, percentile};
use super::wire::{Connection, Endpoint};
use super::DeskQueue;
use koban::config::Config;
use koban::state::App;
use koban_policy::desk::forms::Category;
use koban_policy::desk::reference::Reference;
use sqlx::Row;
use std::time::{Duration, Instant};

/// Rows per multi-row INSERT: 16 columns each, under SQLite's 32,766
/// parameters and PostgreSQL's 65,535.
const BATCH: usize = 1000;

/// The teams tickets are spread over.
pub(super) const TEAMS: [&str; 8] = [
    "accounts",
    "security",
    "billing",
    "enterprise",
    "mobile",
    "web",
    "privacy",
    "tier2",
];

/// A well-mixed 64-bit hash of `i` (SplitMix64's finaliser): the same
/// spread on every run, without a random-number crate.
pub(super) fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What ticket number `i` of the load looks like.
#[derive(Debug, PartialEq)]
pub(super) struct Shape {
    pub status: &'static str,
    pub priority: &'static str,
    pub category: &'static str,
    pub team: &'static str,
    /// Index into the agents; `None`: nobody has it.
    pub assignee: Option<usize>,
}

/// Statuses in the shares a working desk has them: most tickets done, a
/// third open, the rest waiting; new tickets nobody has taken yet.
pub(super) fn shape(i: u64, agents: usize) -> Shape {
    let h = mix(i);
    let status = match h % 20 {
        0..=1 => "new",
        2..=7 => "open",
        8..=10 => "pending",
        11 => "on_hold",
        12..=14 => "solved",
        _ => "closed",
    };
    let priority = match (h >> 8) % 20 {
        0..=1 => "low",
        2..=15 => "normal",
        16..=18 => "high",
        _ => "urgent",
    };
    let category = Category::ALL[((h >> 16) % Category::ALL.len() as u64) as usize].as_str();
    let team = TEAMS[((h >> 24) % TEAMS.len() as u64) as usize];
    let assignee = (status != "new" && !(h >> 32).is_multiple_of(5) && agents > 0)
        .then(|| ((h >> 40) % agents as u64) as usize);
    Shape {
        status,
        priority,
        category,
        team,
        assignee,
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The agents, made if missing; their account ids in index order.
pub(super) async fn agents(app: &App, count: usize, password: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let address = agent_email(n);
        let contact = koban_policy::contact::parse_identifier(&address, None).map_err(err)?;
        match koban::accounts::service::create_verified(app, &contact, password, "agent").await {
            Ok(_) | Err(koban::accounts::AccountError::Duplicate(_)) => {}
            Err(e) => return Err(format!("{address}: {e}")),
        }
        let row = sqlx::query("SELECT id FROM accounts WHERE email = $1")
            .bind(&address)
            .fetch_one(app.store.read())
            .await
            .map_err(err)?;
        ids.push(row.try_get::<i64, _>("id").map_err(err)?);
    }
    Ok(ids)
}

/// Makes the teams tickets are spread over, each agent a member of one
/// (agent `n` of `TEAMS[n % 8]`), so `view=team` shows an eighth of them.
pub(super) async fn staff_teams(app: &App, agents: &[i64]) -> Result<(), String> {
    let now = koban::store::now_ms();
    for team in TEAMS {
        sqlx::query(
            "INSERT INTO desk_teams (slug, name, calendar_id, created_at, updated_at)
             VALUES ($1, $1, (SELECT MIN(id) FROM desk_calendars), $2, $2)
             ON CONFLICT (slug) DO NOTHING",
        )
        .bind(team)
        .bind(now)
        .execute(app.store.write())
        .await
        .map_err(err)?;
    }
    for (n, agent) in agents.iter().enumerate() {
        sqlx::query(
            "INSERT INTO desk_team_members (team_id, account_id)
             SELECT id, $2 FROM desk_teams WHERE slug = $1
             ON CONFLICT (team_id, account_id) DO NOTHING",
        )
        .bind(TEAMS[n % TEAMS.len()])
        .bind(agent)
        .execute(app.store.write())
        .await
        .map_err(err)?;
    }
    Ok(())
}

pub(super) fn agent_email(n: usize) -> String {
    format!("desk-agent-{n}@example.com")
}

/// Makes the requesters `<prefix>-<k>@example.com`, `k` below `count`, in
/// one transaction of [`BATCH`]-row INSERTs; those a load run before made
/// are kept. The first one's id: the loads give ticket `n` requester
/// `first + n % count`. Shared by `desk-queue` and `search load`.
pub(super) async fn load_contacts(
    app: &App,
    prefix: &str,
    count: u64,
    now: i64,
) -> Result<i64, String> {
    let mut tx = app.store.write().begin().await.map_err(err)?;
    for start in (0..count).step_by(BATCH) {
        let end = (start + BATCH as u64).min(count);
        let values: Vec<String> = (0..end - start)
            .map(|k| format!("(${}, ${})", 2 * k + 1, 2 * k + 2))
            .collect();
        let sql = format!(
            "INSERT INTO desk_contacts (email, created_at) VALUES {} ON CONFLICT (email) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for k in start..end {
            query = query.bind(format!("{prefix}-{k}@example.com")).bind(now);
        }
        query.execute(&mut *tx).await.map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    sqlx::query("SELECT MIN(id) AS id FROM desk_contacts WHERE email LIKE $1")
        .bind(format!("{prefix}-%"))
        .fetch_one(app.store.read())
        .await
        .map_err(err)?
        .try_get("id")
        .map_err(err)
}

async fn count(app: &App, table: &str) -> Result<i64, String> {
    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(app.store.read())
        .await
        .map_err(err)?;
    row.try_get("n").map_err(err)
}

/// Adds tickets until there are `options.tickets`, each with its first
/// message and its `created` event, in transactions of [`BATCH`] tickets.
async fn fill(app: &App, options: &DeskQueue, agents: &[i64]) -> Result<u64, String> {
    let have = count(app, "desk_tickets").await? as u64;
    let want = options.tickets as u64;
    if have >= want {
        return Ok(0);
    }
    // One requester per ten tickets, as people come back.
    let contacts = (want / 10).max(1);
    let now = koban::store::now_ms();
    let first_contact = load_contacts(app, "queue-requester", contacts, now).await?;
    // A year of tickets, oldest first, as ids grow with time.
    let year_ms = 365 * 24 * 3_600_000i64;
    let step = year_ms / want as i64;
    let started = Instant::now();
    // A reference the API drew at random may equal one of these; such a
    // row is skipped, and the loop goes on until the count is reached.
    let (mut added, mut start) = (0u64, have);
    while have + added < want {
        let end = start + (BATCH as u64).min(want - have - added);
        let mut tx = app.store.write().begin().await.map_err(err)?;
        let before: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM desk_tickets")
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?
            .try_get("id")
            .map_err(err)?;
        let values: Vec<String> = (start..end)
            .map(|i| {
                let p = 12 * (i - start) as usize;
                let n: Vec<String> = (1..=12).map(|k| format!("${}", p + k)).collect();
                format!(
                    "({}, 'web', 'en', '{{}}', 40, '{{}}', {}, {})",
                    n[..10].join(", "),
                    n[10],
                    n[11]
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO desk_tickets (reference, subject, status, priority, category, urgent,
                requester_contact_id, team, assignee_id, solved_at, channel, language, fields,
                completeness, triage, created_at, updated_at)
             VALUES {} ON CONFLICT (reference) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for i in start..end {
            let s = shape(i, agents.len());
            let created = now - year_ms + step * i as i64;
            let done = matches!(s.status, "solved" | "closed").then_some(created + 3_600_000);
            query = query
                .bind(Reference::from_random(i).to_string())
                .bind(format!(
                    "Queue ticket {i}: cannot sign in after changing phones"
                ))
                .bind(s.status)
                .bind(s.priority)
                .bind(s.category)
                .bind(i64::from(s.priority == "urgent"))
                .bind(first_contact + (i % contacts) as i64)
                .bind(s.team)
                .bind(s.assignee.map(|a| agents[a]))
                .bind(done)
                .bind(created)
                .bind(created);
        }
        added += query.execute(&mut *tx).await.map_err(err)?.rows_affected();
        // Each ticket's first message and event in its ticket's
        // transaction, as the API writes them: the search index takes in
        // each ticket once, not once bare and again with its message.
        first_messages_and_events(&mut tx, before).await?;
        tx.commit().await.map_err(err)?;
        start = end;
    }
    // PostgreSQL's autovacuum analyzes a table this changed within a
    // minute; do it now rather than wait. SQLite has statistics only when
    // someone runs ANALYZE, and Koban does not, so it plans without them.
    if app.store.backend() == koban::store::Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(app.store.write())
            .await
            .map_err(err)?;
    }
    eprintln!(
        "bench: {} tickets with their messages and events loaded in {:.1} s",
        want - have,
        started.elapsed().as_secs_f64()
    );
    Ok(want - have)
}

/// The first message and `created` event of every ticket after `before`.
async fn first_messages_and_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    before: i64,
) -> Result<(), String> {
    sqlx::query(
        "INSERT INTO desk_messages (ticket_id, author_kind, public, body, created_at)
         SELECT id, 'requester', 1, 'I changed phones last week and since then the app says my \
         account is locked whenever I try to sign in. I did not change my password.', created_at
         FROM desk_tickets WHERE id > $1",
    )
    .bind(before)
    .execute(&mut **tx)
    .await
    .map_err(err)?;
    sqlx::query(
        "INSERT INTO desk_events (ticket_id, kind, detail, at)
         SELECT id, 'created', '{\"channel\":\"web\"}', created_at FROM desk_tickets WHERE id > $1",
    )
    .bind(before)
    .execute(&mut **tx)
    .await
    .map_err(err)?;
    Ok(())
}

/// Agent 0's bearer token, from signing in through the API.
pub(super) async fn token(base: &str, password: &str) -> Result<String, String> {
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{base}/api/v1/sessions"))
        .header(koban::security::client::DEVICE_HEADER, super::device_id(0))
        .json(&serde_json::json!({ "identifier": agent_email(0), "password": password }))
        .send()
        .await
        .map_err(err)?;
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.map_err(err)?;
    body["session"]["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("signing in the agent: {status} {body}"))
}

/// Asks for `path` `warmup` + `requests` times, one after another on one
/// keep-alive connection; the measured latencies, sorted.
async fn latencies(
    endpoint: &Endpoint,
    token: &str,
    path: &str,
    options: &DeskQueue,
) -> Result<Vec<Duration>, String> {
    let authorization = format!("Bearer {token}");
    let request = endpoint.get(path, &[("Authorization", &authorization)]);
    let timeout = Duration::from_secs(30);
    let mut connection = Connection::open(endpoint.addr, timeout)
        .await
        .map_err(|e| e.kind().to_string())?;
    let mut measured = Vec::with_capacity(options.requests);
    for n in 0..options.warmup + options.requests {
        let sent = Instant::now();
        let status = connection
            .exchange(&request, timeout)
            .await
            .map_err(|e| format!("{path}: {}", e.kind()))?;
        let took = sent.elapsed();
        if status != 200 {
            return Err(format!("{path}: status {status}"));
        }
        if n >= options.warmup {
            measured.push(took);
        }
    }
    measured.sort_unstable();
    Ok(measured)
}

/// `koban-bench desk-queue`.
pub(super) async fn run(config: Config, options: DeskQueue) -> Result<(), String> {
    if options.requests == 0 {
        return Err("--requests must be at least 1".into());
    }
    let base = options.url.trim_end_matches('/').to_string();
    let app = koban::app::start(config).await.map_err(err)?;
    let agent_ids = agents(&app, options.agents, &options.password).await?;
    staff_teams(&app, &agent_ids).await?;
    fill(&app, &options, &agent_ids).await?;
    let mine = sqlx::query(
        "SELECT COUNT(*) AS n FROM desk_tickets
         WHERE assignee_id = $1 AND status NOT IN ('solved', 'closed')",
    )
    .bind(agent_ids.first().copied().unwrap_or(0))
    .fetch_one(app.store.read())
    .await
    .map_err(err)?
    .try_get::<i64, _>("n")
    .map_err(err)?;
    println!("tickets={}", count(&app, "desk_tickets").await?);
    println!("agents={}", agent_ids.len());
    println!("mine_open={mine}");
    app.store.close().await;

    let endpoint = Endpoint::resolve(&base).await?;
    let token = token(&base, &options.password).await?;
    let views = [
        ("mine", "/api/v1/desk/tickets?view=mine".to_string()),
        ("team", "/api/v1/desk/tickets?view=team".to_string()),
        (
            "open_category",
            format!(
                "/api/v1/desk/tickets?view=open&category={}",
                options.category
            ),
        ),
        (
            "unassigned",
            "/api/v1/desk/tickets?view=unassigned".to_string(),
        ),
    ];
    for (name, path) in views {
        let sorted = latencies(&endpoint, &token, &path, &options).await?;
        let at = |p| percentile(&sorted, p).map(millis).unwrap_or(f64::NAN);
        println!("{name}_requests={}", sorted.len());
        println!("{name}_p50_ms={:.2}", at(50.0));
        println!("{name}_p95_ms={:.2}", at(95.0));
        println!("{name}_p99_ms={:.2}", at(99.0));
        eprintln!(
            "bench: {path}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            at(50.0),
            at(95.0),
            at(99.0)
        );
    }
    if let Some(rss) = options.server_pid.and_then(rss_mib) {
        println!("server_rss_mib={rss:.1}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_is_spread_like_a_working_desk() {
        let n = 20_000;
        let shapes: Vec<Shape> = (0..n).map(|i| shape(i, 30)).collect();
        let share =
            |f: &dyn Fn(&Shape) -> bool| shapes.iter().filter(|s| f(s)).count() as f64 / n as f64;
        // Within a point or two of the shares `shape` names.
        assert!((share(&|s| s.status == "open") - 0.30).abs() < 0.02);
        assert!((share(&|s| s.status == "closed") - 0.25).abs() < 0.02);
        assert!((share(&|s| s.priority == "urgent") - 0.05).abs() < 0.01);
        // New tickets wait for someone; about a fifth of the rest too.
        assert_eq!(share(&|s| s.status == "new" && s.assignee.is_some()), 0.0);
        assert!((share(&|s| s.assignee.is_none()) - (0.1 + 0.9 * 0.2)).abs() < 0.02);
        for team in TEAMS {
            assert!(share(&|s| s.team == team) > 0.1);
        }
        for category in Category::ALL {
            assert!(share(&|s| s.category == category.as_str()) > 0.08);
        }
        // Every agent gets work, and the same ticket number the same shape.
        for agent in 0..30 {
            assert!(shapes.iter().any(|s| s.assignee == Some(agent)));
        }
        assert_eq!(shape(7, 30), shape(7, 30));
    }
}
