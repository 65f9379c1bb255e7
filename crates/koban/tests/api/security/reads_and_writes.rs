//! The sign-in's tuned database work: one read for many sign-ins, the
//! known-device round trip, group-committed history, guard keys in SQL.

use super::*;

/// Attempts recorded together are written together, and each lands whole:
/// with and without a location, with odd text, in one batch or several.
async fn attempts_written_together_land_one_row_each(t: TestApp) {
    use koban::security::history::Attempt;
    let attempt = |i: usize| Attempt {
        account_id: i.is_multiple_of(3).then_some(i as i64),
        ip: format!("198.51.100.{}", i % 250),
        country: i.is_multiple_of(2).then(|| "JP".to_string()),
        latitude: i.is_multiple_of(2).then_some(35.6895 + i as f64 / 1e4),
        longitude: i.is_multiple_of(2).then_some(139.6917),
        device_id: None,
        user_agent: Some(format!("agent \"{i}\" 'quoted' ☃")),
        outcome: "locked",
        risk_score: i as i64,
        reasons: vec!["locked".into(), format!("r{i}")],
        decision: "deny",
    };
    // Half are waited for, half handed over (as refusals from memory are);
    // a flush then waits for those too.
    for i in (1..1_500).step_by(2) {
        koban::security::state(&t.app)
            .attempt_log
            .record_later(attempt(i));
    }
    let written = futures_util::future::join_all((0..1_500).step_by(2).map(|i| {
        koban::security::state(&t.app)
            .attempt_log
            .record(attempt(i))
    }))
    .await;
    assert!(written.iter().all(Result::is_ok));
    koban::security::state(&t.app)
        .attempt_log
        .flush()
        .await
        .expect("flush");
    let rows = sqlx::query(
        "SELECT account_id, ip, country, latitude, longitude, user_agent, risk_score, reasons FROM login_attempts ORDER BY risk_score",
    )
    .fetch_all(t.app.store.read())
    .await
    .expect("rows");
    assert_eq!(rows.len(), 1_500);
    for (i, row) in rows.iter().enumerate() {
        let expected = attempt(i);
        assert_eq!(row.get::<i64, _>("risk_score"), i as i64);
        assert_eq!(row.get::<Option<i64>, _>("account_id"), expected.account_id);
        assert_eq!(row.get::<String, _>("ip"), expected.ip);
        assert_eq!(row.get::<Option<String>, _>("country"), expected.country);
        assert_eq!(row.get::<Option<f64>, _>("latitude"), expected.latitude);
        assert_eq!(row.get::<Option<f64>, _>("longitude"), expected.longitude);
        assert_eq!(
            row.get::<Option<String>, _>("user_agent"),
            expected.user_agent
        );
        assert_eq!(row.get::<String, _>("reasons"), format!("locked,r{i}"));
    }
}

both!(attempts_written_together_land_one_row_each);

/// The guard keys a sign-in's single read builds in SQL are the keys the
/// rest of the code builds in Rust: a mismatch would read no guard at all,
/// so no lock would ever hold.
async fn guard_keys_built_in_sql_match_rust(db: crate::support::Db) {
    use koban::security::guards;
    let Some((store, _dir)) = crate::support::fresh_store(db).await else {
        return;
    };
    let sql = format!(
        "SELECT {} AS account_key, {} AS device_key, {} AS identifier_key
         FROM (SELECT $1 AS identifier) AS probe, (SELECT $2 AS id) AS a, (SELECT $3 AS device_key_hash) AS d",
        guards::ACCOUNT_KEY_SQL,
        guards::DEVICE_KEY_SQL,
        guards::IDENTIFIER_KEY_SQL
    );
    let row = sqlx::query(&sql)
        .bind("+819012345678")
        .bind(4_200_000_001_i64)
        .bind("9f86d081884c7d65")
        .fetch_one(store.read())
        .await
        .unwrap();
    let text = |c: &str| row.try_get::<String, _>(c).unwrap();
    assert_eq!(text("account_key"), guards::account_key(4_200_000_001));
    assert_eq!(
        text("device_key"),
        guards::device_key(4_200_000_001, "9f86d081884c7d65")
    );
    assert_eq!(
        text("identifier_key"),
        guards::identifier_key("+819012345678")
    );
}

both_db!(guard_keys_built_in_sql_match_rust);

/// One statement reads the facts of several sign-ins, each exactly as it
/// would have read alone: a bound device, an unknown name, a phone number
/// with a failure on its guard and its address, the same account without
/// its device. A probe's facts must never be another probe's.
async fn one_read_for_many_sign_ins_gives_each_its_own_facts(t: TestApp) {
    use koban::security::facts::{self, Probe};
    use koban_policy::contact::Contact;
    t.signed_up("ann@example.com", PASSWORD).await;
    t.signed_up("+819012345678", PASSWORD).await;
    let device = "anns-phone-0000000000001";
    let (status, body) = sign_in_from(&t, device, "ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // From a device the account does not know: the account's guard counts it.
    let (status, _) = sign_in_from(
        &t,
        "a-stranger-0000000000001",
        "+819012345678",
        "not the password 1",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let now = koban::store::now_ms();
    let probe = |identifier: Contact, device: Option<&str>| Probe {
        identifier,
        presented_device: device.map(|d| koban::crypto::sha256_hex(d.as_bytes())),
        ip: "127.0.0.1".into(),
        failures_since: now - 3_600_000,
        devices_since: now - 3_600_000,
    };
    let probes = vec![
        probe(Contact::Email("ann@example.com".into()), Some(device)),
        probe(Contact::Email("nobody@example.com".into()), Some(device)),
        probe(Contact::Phone("+819012345678".into()), None),
        probe(Contact::Email("ann@example.com".into()), None),
    ];
    let store = &t.app.store;
    let together = facts::read_many(store, &probes).await.expect("read many");
    assert_eq!(together.len(), probes.len());
    for (probe, gathered) in probes.iter().zip(&together) {
        let alone = facts::read(store, probe.clone()).await.expect("read one");
        assert_eq!(format!("{gathered:?}"), format!("{alone:?}"), "{probe:?}");
    }
    let found = |i: usize| together[i].found.as_ref().map(|(a, _)| a.email.clone());
    assert_eq!(found(0), Some(Some("ann@example.com".into())));
    assert!(together[0].device_id.is_some());
    assert!(together[0].past.last.is_some(), "ann's sign-in is her past");
    assert!(together[1].found.is_none());
    let phone = together[2].found.as_ref().map(|(a, _)| a.phone.clone());
    assert_eq!(phone, Some(Some("+819012345678".into())));
    assert_eq!(together[2].guard.failures, 1);
    assert_eq!(
        together[3].found.as_ref().map(|(a, _)| a.id),
        together[0].found.as_ref().map(|(a, _)| a.id)
    );
    assert!(together[3].device_id.is_none());
    for facts in &together {
        assert_eq!(
            facts.ip_failures, 1,
            "the address's one failure, for every probe"
        );
    }
    assert!(facts::read_many(store, &[])
        .await
        .expect("nothing")
        .is_empty());
}

both!(one_read_for_many_sign_ins_gives_each_its_own_facts);

/// Sign-ins arriving together while the hashing threads are busy share
/// reads, and every one of them still gets its own answer: the right
/// password signs in, a wrong one is refused, an unknown name is refused.
async fn sign_ins_arriving_together_share_reads_and_keep_their_answers(t: TestApp) {
    // Right passwords for the first four, wrong ones (four each, short of a
    // lock) for the last two, so no right password meets a failure.
    let accounts: Vec<String> = (0..6).map(|i| format!("crowd{i}@example.com")).collect();
    for account in &accounts {
        t.signed_up(account, PASSWORD).await;
    }
    let (statements_before, sign_ins_before) =
        koban::security::state(&t.app).sign_in_reads.counts();
    let attempts: Vec<(String, &str, StatusCode)> = (0..24)
        .map(|i| match i % 3 {
            0 => (accounts[i % 4].clone(), PASSWORD, StatusCode::CREATED),
            1 => (
                accounts[4 + i % 2].clone(),
                "a wrong guess 99",
                StatusCode::UNAUTHORIZED,
            ),
            _ => (
                format!("stranger{i}@example.com"),
                PASSWORD,
                StatusCode::UNAUTHORIZED,
            ),
        })
        .collect();
    let tasks: Vec<_> = attempts
        .iter()
        .map(|(identifier, password, _)| sign_in(&t, identifier, password))
        .collect();
    let answers = futures_util::future::join_all(tasks).await;
    for ((identifier, password, expected), (status, body)) in attempts.iter().zip(&answers) {
        assert_eq!(status, expected, "{identifier} / {password}: {body}");
    }
    let (statements, sign_ins) = koban::security::state(&t.app).sign_in_reads.counts();
    let (statements, sign_ins) = (statements - statements_before, sign_ins - sign_ins_before);
    assert_eq!(sign_ins, 24, "every sign-in read once");
    assert!(
        statements < sign_ins,
        "{statements} statements for {sign_ins} sign-ins"
    );
}

both!(sign_ins_arriving_together_share_reads_and_keep_their_answers);

/// A sign-in from a bound device writes three things in one round trip:
/// the device is touched (time, address, client version), the success is in
/// the history with the device, and the session is bound to the device.
async fn a_known_device_sign_in_touches_records_and_binds(t: TestApp) {
    t.signed_up("kim@example.com", PASSWORD).await;
    let device = "kims-tablet-000000000001";
    let sign_in_with = |version: &str| {
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .header("x-koban-client-version", version)
            .json(&json!({ "identifier": "kim@example.com", "password": PASSWORD }))
    };
    let (status, first) = t.send(sign_in_with("13.2.0")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["new_device"], true);
    let device_id = first["device_id"].as_i64().expect("device id");
    let seen_before = scalar(
        &t,
        &format!("SELECT last_seen_at FROM devices WHERE id = {device_id}"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, again) = t.send(sign_in_with("13.3.1")).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["new_device"], false);
    assert_eq!(again["device_id"], device_id);
    let token = again["session"]["token"].as_str().expect("token");

    let (_, devices) = t.get(Some(token), "/api/v1/me/devices").await;
    let tablet = devices
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["id"] == device_id)
        .expect("the tablet")
        .clone();
    assert_eq!(tablet["client_version"], "13.3.1", "{tablet}");
    assert_eq!(tablet["last_ip"], "127.0.0.1", "{tablet}");
    assert_eq!(tablet["current"], true, "{tablet}");
    assert!(tablet["last_seen_at"].as_i64().expect("time") > seen_before);

    let (_, history) = t.get(Some(token), "/api/v1/me/login-history").await;
    let successes: Vec<&Value> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["outcome"] == "success" && a["device_id"] == device_id)
        .collect();
    assert_eq!(successes.len(), 2, "{history}");
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM sessions WHERE device_id = {device_id} AND revoked_at IS NULL"
            )
        )
        .await,
        2
    );
}

both!(a_known_device_sign_in_touches_records_and_binds);

/// The same writes when the operator has sign-ins wait for the WAL flush
/// (on PostgreSQL another statement; SQLite has no such choice).
async fn a_known_device_sign_in_that_waits_for_the_flush_writes_the_same(t: TestApp) {
    a_known_device_sign_in_touches_records_and_binds(t).await;
}

both!(
    a_known_device_sign_in_that_waits_for_the_flush_writes_the_same,
    |c: &mut koban::config::Config| c.database_sign_in_waits_for_flush = true
);

/// What a sign-in learns of the account's past is its newest successful
/// sign-ins, however many failures came after them: failures neither count
/// as places the account knows nor push a success out of the window.
async fn the_past_a_sign_in_weighs_is_its_newest_successes(t: TestApp) {
    use koban::security::facts::{self, PAST_SIGN_INS_WEIGHED};
    use koban::security::history::Attempt;
    t.signed_up("ines@example.com", PASSWORD).await;
    let account_id = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'ines@example.com'",
    )
    .await;
    let attempt = |ip: &str, outcome: &'static str, country: &str| Attempt {
        account_id: Some(account_id),
        ip: ip.to_string(),
        country: Some(country.to_string()),
        latitude: None,
        longitude: None,
        device_id: None,
        user_agent: None,
        outcome,
        risk_score: 0,
        reasons: Vec::new(),
        decision: if outcome == "success" {
            "allow"
        } else {
            "deny"
        },
    };
    // Oldest first: one success from an address that a full window of newer
    // successes then pushes out, the window, a success from a last address,
    // and after it more failures than the window holds.
    let mut history = vec![attempt("192.0.2.1", "success", "FR")];
    history.extend((0..PAST_SIGN_INS_WEIGHED - 1).map(|_| attempt("192.0.2.2", "success", "JP")));
    history.push(attempt("192.0.2.3", "success", "TH"));
    history.extend(
        (0..2 * PAST_SIGN_INS_WEIGHED).map(|_| attempt("203.0.113.9", "wrong_password", "US")),
    );
    for a in history {
        koban::security::state(&t.app)
            .attempt_log
            .record(a)
            .await
            .expect("recorded");
    }
    let identifier = koban_policy::contact::parse_identifier("ines@example.com", None).unwrap();
    let probe = facts::Probe {
        identifier,
        presented_device: None,
        ip: "198.51.100.7".into(),
        failures_since: 0,
        devices_since: 0,
    };
    let facts = facts::read(&t.app.store, probe).await.expect("read");
    let mut ips: Vec<String> = facts
        .past
        .known_ips
        .iter()
        .map(|ip| ip.to_string())
        .collect();
    ips.sort();
    assert_eq!(ips, ["192.0.2.2", "192.0.2.3"]);
    let mut countries = facts.past.known_countries.clone();
    countries.sort();
    assert_eq!(countries, ["JP", "TH"]);
    let last = facts.past.last.expect("a last success");
    assert_eq!(last.ip, "192.0.2.3");
    assert_eq!(last.country.as_deref(), Some("TH"));
}

both!(the_past_a_sign_in_weighs_is_its_newest_successes);
