//! `koban-bench orgs`: an organization of many members on the configured
//! database, then
//!
//! - the member directory's pages as the API and the console read them
//!   (`enterprise::store::members::list`, the same statement): the first
//!   page, a page deep in the cursor, a role filter, a search most members
//!   match and one almost none match (through the trigram indexes), and
//!   the same two for a two-character search (a name's start: "Me" for
//!   everyone, "鬼塚" for one member in 10,000), each p50/p95 beside a
//!   trivial indexed point lookup in the same run;
//! - the cost an organization's policy adds to a sign-in: the sign-in's
//!   policy judgement (`security::policies::judge`: the governing policies
//!   read from the database, the second factors when the policy asks, the
//!   pure rules) for members of a governed organization, beside the same
//!   judgement of accounts in no organization (the hook's floor), p50/p99.

use super::risk::point_lookup;
use super::summary::{millis, percentile};
use super::OrgsBench;
use koban::config::Config;
use koban::enterprise::store::members::{self, DirectoryFilter};
use koban::security::client::ClientContext;
use koban::security::geo::Place;
use koban::store::{now_ms, Backend, Store};
use koban::web::i18n::Lang;
use koban_policy::org::policy::Policy;
use koban_policy::risk::GeoPoint;
use sqlx::Row;
use std::time::{Duration, Instant};

/// `koban-bench orgs`.
pub(super) async fn run(config: Config, options: OrgsBench) -> Result<(), String> {
    if options.members < 100 || options.samples == 0 {
        return Err("--members must be at least 100 and --samples at least 1".into());
    }
    let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
    let store = &app.store;
    println!(
        "database={}",
        match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    let (org, owner, first) = seed(&app, options.members as i64).await?;
    println!("members={}", options.members + 1);

    let point = sample(options.samples, |i| {
        let id = first + (i as i64 * 7919) % options.members as i64;
        async move { point_lookup(store, id).await }
    })
    .await?;
    report("point_lookup", &point, 95.0);
    let directory = |filter: DirectoryFilter, before: i64| async move {
        let t = Instant::now();
        let rows = members::list(store, org, &filter, before, 21)
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Err("a directory page came back empty".to_string());
        }
        Ok(t.elapsed())
    };
    let middle = first + options.members as i64 / 2;
    let search = |text: &str| DirectoryFilter {
        search: Some(text.into()),
        ..DirectoryFilter::default()
    };
    let cases: [(&str, DirectoryFilter, i64); 7] = [
        ("directory_first_page", DirectoryFilter::default(), i64::MAX),
        ("directory_deep_page", DirectoryFilter::default(), middle),
        (
            "directory_role_filter",
            DirectoryFilter {
                role: Some("security_admin".into()),
                ..DirectoryFilter::default()
            },
            i64::MAX,
        ),
        ("directory_search_common", search("bench.example"), i64::MAX),
        ("directory_search_rare", search("dir-000042-"), i64::MAX),
        ("directory_search_short_common", search("Me"), i64::MAX),
        ("directory_search_short_rare", search("鬼塚"), i64::MAX),
    ];
    let p95_point = p(&point, 95.0);
    for (name, filter, before) in cases {
        let times = sample(options.samples, |_| directory(filter.clone(), before)).await?;
        report(name, &times, 95.0);
        println!("{name}_over_point_p95={:.1}", p(&times, 95.0) / p95_point);
    }

    // The policy: every rule a sign-in is judged by, set through the
    // service as an administrator would.
    let policy = Policy {
        two_factor_grace_days: Some(14),
        max_devices: Some(5),
        allowed_countries: vec!["JP".into(), "TH".into(), "TW".into()],
        allowed_networks: vec!["10.0.0.0/8".parse().map_err(|_| "cidr")?],
        session_lifetime_minutes: Some(480),
        password_max_age_days: Some(365),
        min_client_version: Some("13.0.0".parse().map_err(|_| "version")?),
    };
    koban::enterprise::policies::set(&app, owner, org, policy, None)
        .await
        .map_err(|e| format!("policy: {e:?}"))?;
    let governed = accounts(store, first, first + options.members as i64).await?;
    let free = accounts(store, first + options.members as i64, i64::MAX).await?;
    if free.is_empty() {
        return Err("no account outside the organization".into());
    }
    let judge = |list: &[koban::accounts::store::Account], i: usize| {
        let account = list[i % list.len()].clone();
        let app = app.clone();
        async move {
            let ctx = client(i);
            let t = Instant::now();
            koban::security::policies::judge(&app, &account, &ctx, now_ms())
                .await
                .map_err(|e| format!("judge: {e:?}"))?;
            Ok(t.elapsed())
        }
    };
    let governed_times = sample(options.samples, |i| judge(&governed, i)).await?;
    let free_times = sample(options.samples, |i| judge(&free, i)).await?;
    report("policy_judgement_governed", &governed_times, 99.0);
    report("policy_judgement_no_organization", &free_times, 99.0);
    println!(
        "policy_added_p50_ms={:.4}",
        (p(&governed_times, 50.0) - p(&free_times, 50.0)) * 1000.0
    );
    println!(
        "policy_added_p99_ms={:.4}",
        (p(&governed_times, 99.0) - p(&free_times, 99.0)) * 1000.0
    );
    println!(
        "policy_judgement_over_point_p99={:.2}",
        p(&governed_times, 99.0) / p(&point, 99.0)
    );
    Ok(())
}

/// Runs `make(i)` `n` times in turn (after a tenth as many not measured).
async fn sample<F, Fut>(n: usize, mut make: F) -> Result<Vec<Duration>, String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Duration, String>>,
{
    for i in 0..n / 10 {
        make(i).await?;
    }
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        times.push(make(i).await?);
    }
    times.sort_unstable();
    Ok(times)
}

/// Seconds at percentile `q` of sorted `times`.
fn p(times: &[Duration], q: f64) -> f64 {
    percentile(times, q).map_or(f64::NAN, |d| d.as_secs_f64())
}

fn report(name: &str, times: &[Duration], tail: f64) {
    let at = |q| percentile(times, q).map(millis).unwrap_or(f64::NAN);
    println!("{name}_p50_ms={:.4}", at(50.0));
    println!("{name}_p{tail}_ms={:.4}", at(tail));
}

/// A sign-in from a Japanese office network, in a browser.
fn client(i: usize) -> ClientContext {
    ClientContext {
        ip: format!("10.1.{}.{}", i % 200, 1 + i % 250)
            .parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) koban-bench".into()),
        device_key: format!("koban-orgs-device-{i}"),
        device_key_is_new: false,
        device_name: "Firefox on Linux".into(),
        platform: "linux".into(),
        client_version: None,
        place: Place {
            country: Some("JP".into()),
            location: GeoPoint::new(35.68, 139.76),
        },
        lang: Lang::En,
    }
}

/// Up to 1,000 accounts with ids in `from..to`.
async fn accounts(
    store: &Store,
    from: i64,
    to: i64,
) -> Result<Vec<koban::accounts::store::Account>, String> {
    let ids: Vec<i64> =
        sqlx::query("SELECT id FROM accounts WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 1000")
            .bind(from)
            .bind(to)
            .fetch_all(store.read())
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|r| r.try_get::<i64, _>("id"))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(account) = koban::accounts::store::find_by_id(store.read(), id)
            .await
            .map_err(|e| e.to_string())?
        {
            found.push(account);
        }
    }
    Ok(found)
}

/// An organization with `n` members besides its owner (accounts and
/// memberships made by the database itself in one statement each, a
/// recursive CTE on SQLite and `generate_series` on PostgreSQL), and 1,000
/// accounts in no organization after them. Returns the organization, its
/// owner and the first member's account id.
async fn seed(app: &koban::state::App, n: i64) -> Result<(i64, i64, i64), String> {
    let store = &app.store;
    let now = now_ms();
    let owner: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (email, email_verified_at, password_hash, password_changed_at, status, created_at)
         VALUES ($1, $2, 'x', $2, 'active', $2) RETURNING id",
    )
    .bind(format!("owner-{now}@bench.example"))
    .bind(now)
    .fetch_one(store.write())
    .await
    .map_err(|e| e.to_string())?;
    let org = koban::enterprise::orgs::create(app, owner, "Benchmark Trading", "")
        .await
        .map_err(|e| format!("organization: {e:?}"))?
        .id;
    let first = owner + 1;
    let rows = |from: i64, count: i64| {
        match store.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM seq WHERE n < {last}) SELECT n FROM seq",
            last = from + count - 1
        ),
        Backend::Postgres => format!(
            "SELECT n FROM generate_series({from}::BIGINT, {last}::BIGINT) AS n",
            last = from + count - 1
        ),
    }
    };
    let started = Instant::now();
    let tag = now % 1_000_000;
    sqlx::query(&format!(
        "INSERT INTO accounts (email, email_verified_at, password_hash, password_changed_at, status, created_at)
         SELECT 'dir-' || {pad} || '-{tag}@bench.example', $1, 'x', $1, 'active', $1 FROM ({rows}) AS s",
        pad = match store.backend() {
            Backend::Sqlite => "printf('%06d', n)".to_string(),
            Backend::Postgres => "lpad(n::TEXT, 6, '0')".to_string(),
        },
        rows = rows(0, n + 1000),
    ))
    .bind(now)
    .execute(store.write())
    .await
    .map_err(|e| format!("accounts: {e}"))?;
    // Every 50th member a security admin, every 20th suspended, one in
    // 10,000 named 鬼塚 (a rare surname, for the short rare search).
    sqlx::query(&format!(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, joined_at, updated_at)
         SELECT $1, {first} + n,
                CASE WHEN n % 10000 = 7 THEN '鬼塚 ' ELSE 'Member ' END || n,
                CASE WHEN n % 20 = 0 THEN 'suspended' ELSE 'active' END,
                CASE WHEN n % 50 = 0 THEN 'security_admin' ELSE 'member' END, $2, $2
         FROM ({rows}) AS s",
        rows = rows(0, n),
    ))
    .bind(org)
    .bind(now)
    .execute(store.write())
    .await
    .map_err(|e| format!("members: {e}"))?;
    if store.backend() == Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(store.write())
            .await
            .map_err(|e| e.to_string())?;
    }
    println!("seed_seconds={:.2}", started.elapsed().as_secs_f64());
    Ok((org, owner, first))
}
