//! Geography in the risk engine, end to end: Koban starts with the tests'
//! own tiny `.mmdb` and trusts 127.0.0.1 as a proxy, so each sign-in picks
//! its client address with `X-Forwarded-For`. The test client keeps one
//! `X-Koban-Device` throughout, so only the geography changes.

use crate::mmdb::{self, Place, BASEL, SAINT_LOUIS, SAO_PAULO, TOKYO};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "plum blossom 2026";

/// Starts Koban with the tiny city database (written into the test's data
/// folder) and 127.0.0.1 as a trusted proxy.
pub(crate) fn with_geo(c: &mut koban::config::Config) {
    c.trusted_proxies = "127.0.0.1".into();
    let path = mmdb::tiny_city_db(std::path::Path::new(&c.data_dir));
    c.geoip_database = path.display().to_string();
}

/// The same, without any geo database.
fn without_geo(c: &mut koban::config::Config) {
    c.trusted_proxies = "127.0.0.1".into();
    c.geoip_database = String::new();
}

/// Signs in through the "proxy" as if from `place`.
async fn sign_in_at(t: &TestApp, place: &Place, identifier: &str) -> (StatusCode, Value) {
    let request = t
        .http
        .post(t.url("/api/v1/sessions"))
        .header("x-forwarded-for", place.ip)
        .json(&json!({ "identifier": identifier, "password": PASSWORD }));
    t.send(request).await
}

/// The account's login history, newest first.
async fn history(t: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = t.get(Some(token), "/api/v1/me/login-history").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

/// The newest history entry from `place`.
fn entry_from(items: &[Value], place: &Place) -> Value {
    items
        .iter()
        .find(|a| a["ip"] == place.ip)
        .unwrap_or_else(|| panic!("no attempt from {}: {items:?}", place.ip))
        .clone()
}

fn reasons(entry: &Value) -> Vec<String> {
    entry["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("reason").to_string())
        .collect()
}

/// Moves every recorded attempt from `place` `minutes` into the past.
async fn age_attempts(t: &TestApp, place: &Place, minutes: i64) {
    t.exec(&format!(
        "UPDATE login_attempts SET at = at - {} WHERE ip = '{}'",
        minutes * 60_000,
        place.ip
    ))
    .await;
}

/// Tokyo, then São Paulo ten minutes later: about 18,500 km, impossible.
/// The second sign-in must pass a code to the verified contact; history
/// shows both countries, the reasons and the step-up.
async fn impossible_travel_steps_up(t: TestApp) {
    let token = t.signed_up("travel@example.com", PASSWORD).await;
    let signup_code = t.latest_code("travel@example.com").await;
    let (status, body) = sign_in_at(&t, &TOKYO, "travel@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    age_attempts(&t, &TOKYO, 10).await;

    let (status, pending) = sign_in_at(&t, &SAO_PAULO, "travel@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["methods"], json!(["code"]));

    let items = history(&t, &token).await;
    let tokyo = entry_from(&items, &TOKYO);
    assert_eq!(tokyo["outcome"], "success", "{tokyo}");
    assert_eq!(tokyo["country"], "JP", "{tokyo}");
    assert!(
        !reasons(&tokyo).contains(&"impossible_travel".to_string()),
        "nothing to compare with yet: {tokyo}"
    );
    let brazil = entry_from(&items, &SAO_PAULO);
    assert_eq!(brazil["outcome"], "second_factor_required", "{brazil}");
    assert_eq!(brazil["decision"], "step_up", "{brazil}");
    assert_eq!(brazil["country"], "BR", "{brazil}");
    let why = reasons(&brazil);
    assert!(why.contains(&"impossible_travel".to_string()), "{brazil}");
    assert!(why.contains(&"new_country".to_string()), "{brazil}");
    assert!(
        brazil["risk_score"].as_i64().expect("score") >= 50,
        "{brazil}"
    );

    // The code sent to the verified contact finishes the sign-in, and the
    // success is recorded in Brazil.
    let code = t
        .latest_code_after(&signup_code, "travel@example.com")
        .await;
    let request = t
        .http
        .post(t.url("/api/v1/sessions/second-factor"))
        .header("x-forwarded-for", SAO_PAULO.ip)
        .json(&json!({ "challenge": pending["challenge"], "method": "code", "code": code }));
    let (status, done) = t.send(request).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let items = history(&t, &token).await;
    assert_eq!(items[0]["outcome"], "success", "{items:?}");
    assert_eq!(items[0]["country"], "BR", "{items:?}");

    // The owner sees it: on the timeline, with its reasons, and in one alert
    // whose link leads to securing the account.
    let (_, events) = t.get(Some(&token), "/api/v1/me/security-events").await;
    let events = events["items"].as_array().expect("events").clone();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"sign_in_step_up"), "{events:?}");
    let risky = events
        .iter()
        .find(|e| e["kind"] == "risky_sign_in")
        .unwrap_or_else(|| panic!("no risky_sign_in event: {events:?}"));
    assert_eq!(risky["detail"], "new_country,impossible_travel", "{risky}");
    assert_eq!(risky["ip"], SAO_PAULO.ip);
    let alerts = crate::support::scalar(
        &t,
        "SELECT COUNT(*) FROM deliveries WHERE purpose = 'risky_sign_in_alert' AND destination = 'travel@example.com'",
    )
    .await;
    assert_eq!(alerts, 1, "one alert for one risky sign-in");
    let (status, page) = t.get(None, "/account/secure").await;
    assert_eq!(status, StatusCode::OK, "{page}");
}
both!(impossible_travel_steps_up, super::with_geo);

/// The alert reads in the owner's language and names what was unusual.
async fn a_risky_sign_in_alert_speaks_the_owners_language(t: TestApp) {
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "tanaka@example.com", "password": PASSWORD, "locale": "ja" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let code = t.latest_code("tanaka@example.com").await;
    let (status, _) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "tanaka@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = sign_in_at(&t, &TOKYO, "tanaka@example.com").await;
    assert!(status.is_success(), "{body}");
    age_attempts(&t, &TOKYO, 10).await;
    let (status, body) = sign_in_at(&t, &SAO_PAULO, "tanaka@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let alert = t
        .newest_delivery_of("risky_sign_in_alert", "tanaka@example.com")
        .await;
    assert!(alert.contains("不審"), "{alert}");
    // Tokyo to São Paulo in minutes: both reasons, listed as Japanese lists them.
    assert!(alert.contains("新しい国、短時間での遠距離移動"), "{alert}");
    assert!(alert.contains("/account/secure"), "{alert}");
    assert!(alert.contains(SAO_PAULO.ip), "{alert}");
}
both!(
    a_risky_sign_in_alert_speaks_the_owners_language,
    super::with_geo
);

/// Basel, then Saint-Louis a few kilometres away across the border: a new
/// country and nothing else (same /24, same device, no impossible travel),
/// which alone stays below the step-up threshold. Back in Basel, neither
/// country is new any more.
async fn new_country_alone_is_a_reason(t: TestApp) {
    let token = t.signed_up("border@example.com", PASSWORD).await;
    let (status, body) = sign_in_at(&t, &BASEL, "border@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = sign_in_at(&t, &SAINT_LOUIS, "border@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let items = history(&t, &token).await;
    let france = entry_from(&items, &SAINT_LOUIS);
    assert_eq!(france["country"], "FR", "{france}");
    assert_eq!(france["decision"], "allow", "{france}");
    assert_eq!(reasons(&france), vec!["new_country"], "{france}");
    assert_eq!(entry_from(&items, &BASEL)["country"], "CH");

    let (status, body) = sign_in_at(&t, &BASEL, "border@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let items = history(&t, &token).await;
    assert_eq!(items[0]["ip"], BASEL.ip);
    assert_eq!(reasons(&items[0]), Vec::<String>::new(), "{}", items[0]);
}
both!(new_country_alone_is_a_reason, super::with_geo);

/// Tokyo, then São Paulo two days later: a long trip, but a possible one.
/// New country and new network, no impossible travel, no step-up.
async fn a_slow_trip_is_possible(t: TestApp) {
    let token = t.signed_up("slow@example.com", PASSWORD).await;
    let (status, body) = sign_in_at(&t, &TOKYO, "slow@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    age_attempts(&t, &TOKYO, 2 * 24 * 60).await;
    let (status, body) = sign_in_at(&t, &SAO_PAULO, "slow@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let brazil = entry_from(&history(&t, &token).await, &SAO_PAULO);
    assert_eq!(brazil["decision"], "allow", "{brazil}");
    assert_eq!(reasons(&brazil), vec!["new_ip", "new_country"], "{brazil}");
}
both!(a_slow_trip_is_possible, super::with_geo);

/// Without a geo database the same journey signs in both times: countries
/// are unknown (null) and no geographic reason is given.
async fn without_a_database_geography_is_unknown(t: TestApp) {
    let token = t.signed_up("nogeo@example.com", PASSWORD).await;
    let (status, body) = sign_in_at(&t, &TOKYO, "nogeo@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    age_attempts(&t, &TOKYO, 10).await;
    let (status, body) = sign_in_at(&t, &SAO_PAULO, "nogeo@example.com").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let items = history(&t, &token).await;
    for place in [&TOKYO, &SAO_PAULO] {
        let entry = entry_from(&items, place);
        assert_eq!(entry["outcome"], "success", "{entry}");
        assert_eq!(entry["country"], Value::Null, "{entry}");
        let why = reasons(&entry);
        assert!(
            !why.iter()
                .any(|r| r == "new_country" || r == "impossible_travel"),
            "{entry}"
        );
    }
    assert_eq!(
        reasons(&entry_from(&items, &SAO_PAULO)),
        vec!["new_ip"],
        "the other signals still work"
    );
}
both!(without_a_database_geography_is_unknown, super::without_geo);

/// A geoip_database that is missing, or is not a MaxMind database, is a
/// configuration error naming the setting and the file.
#[test]
fn a_bad_geoip_database_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let not_mmdb = dir.path().join("cities.txt");
    std::fs::write(&not_mmdb, "Tokyo 35.68 139.69\n".repeat(50)).expect("write");
    let missing = dir.path().join("no-such.mmdb");
    for path in [&missing, &not_mmdb] {
        let config = koban::config::Config {
            geoip_database: path.display().to_string(),
            ..koban::config::Config::default()
        };
        let error = match koban::security::Settings::from_config(&config) {
            Ok(_) => panic!("{} accepted", path.display()),
            Err(e) => e,
        };
        assert!(error.contains("geoip_database"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
    }
    let config = koban::config::Config {
        geoip_database: mmdb::tiny_city_db(dir.path()).display().to_string(),
        ..koban::config::Config::default()
    };
    let settings = koban::security::Settings::from_config(&config).expect("the tiny db opens");
    let place = settings.geo.locate(TOKYO.ip.parse().expect("ip"));
    assert_eq!(place.country.as_deref(), Some("JP"));
    let location = place.location.expect("location");
    assert_eq!(
        (location.lat(), location.lon()),
        (TOKYO.latitude, TOKYO.longitude)
    );
    assert_eq!(
        settings.geo.locate("127.0.0.1".parse().expect("ip")),
        koban::security::geo::Place::default()
    );
}

/// `koban serve` with a bad geoip_database stops before touching the disk
/// and says which setting is wrong.
#[test]
fn serve_refuses_to_start_with_a_bad_geoip_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_koban"));
    command.current_dir(dir.path());
    for (name, _) in std::env::vars() {
        if name.starts_with("KOBAN_") {
            command.env_remove(name);
        }
    }
    let listen = format!("127.0.0.1:{}", crate::support::free_port());
    let mut child = command
        .arg("serve")
        .env("KOBAN_LISTEN", listen)
        .env("KOBAN_GEOIP_DATABASE", "missing/GeoLite2-City.mmdb")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn koban");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("koban serve kept running with a missing geoip_database");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started: {stderr}");
    assert!(stderr.contains("geoip_database"), "{stderr}");
    assert!(stderr.contains("missing/GeoLite2-City.mmdb"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("koban.db").exists());
}

/// Attempts without a location and with one, on the same connection, in
/// either order (PostgreSQL once refused the located one after an unlocated
/// one had prepared the statement: sqlx's Any driver sent a missing f64 as
/// a `real`).
async fn located_and_unlocated_attempts_share_a_connection(db: crate::support::Db) {
    use koban::security::history::{Attempt, AttemptLog};
    use sqlx::Row;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match db {
        crate::support::Db::Sqlite => {
            format!("sqlite://{}", dir.path().join("koban.db").display())
        }
        crate::support::Db::Postgres => {
            let server = crate::support::postgres_url().expect("postgres configured");
            crate::support::fresh_postgres_database(&server).await
        }
    };
    let store = koban::store::Store::connect(&url, 1)
        .await
        .expect("connect");
    koban::app::migrate(&store).await.expect("migrate");
    let attempt = |ip: &str, location: Option<(f64, f64)>| Attempt {
        ip: ip.to_string(),
        latitude: location.map(|l| l.0),
        longitude: location.map(|l| l.1),
        outcome: "success",
        decision: "allow",
        ..Attempt::default()
    };
    // The pool (at most 2 connections here) hands them out in turn: four
    // unlocated attempts make each prepare the statement first without a
    // location, then four located ones follow.
    let log = AttemptLog::new(store.clone());
    for _ in 0..4 {
        log.record(attempt("127.0.0.1", None))
            .await
            .expect("unlocated");
    }
    for _ in 0..4 {
        log.record(attempt(TOKYO.ip, Some((TOKYO.latitude, TOKYO.longitude))))
            .await
            .expect("located after unlocated");
    }
    let rows = sqlx::query("SELECT latitude, longitude FROM login_attempts ORDER BY id")
        .fetch_all(store.read())
        .await
        .expect("read");
    let read: Vec<(Option<f64>, Option<f64>)> = rows
        .iter()
        .map(|r| (r.try_get(0).expect("lat"), r.try_get(1).expect("lon")))
        .collect();
    let tokyo = (Some(TOKYO.latitude), Some(TOKYO.longitude));
    assert_eq!(read, [[(None, None)].repeat(4), [tokyo].repeat(4)].concat());
}
both_db!(located_and_unlocated_attempts_share_a_connection);
