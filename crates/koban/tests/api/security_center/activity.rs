//! The login history and the security timeline in words.

use super::*;

// ---- 5. History and timeline in words -------------------------------------------------

async fn history_and_timeline_in_words(tag: &str, browser_lang: &str, japan: &str, us: &str) {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start(
        &format!("security_center_words_{tag}"),
        browser_lang,
        &t.base,
    )
    .await
    else {
        return;
    };
    let lang = lang_of(tag);
    let email = "words@example.com";
    t.signed_up(email, PASSWORD).await;
    let account = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'words@example.com'",
    )
    .await;
    let now = koban::store::now_ms();
    // What the risk engine wrote for three sign-ins and a wrong password:
    // one from Japan, then one from a new country, then one too fast after it.
    for (ago_h, country, outcome, score, reasons, decision) in [
        (4, "JP", "success", 0, "", "allow"),
        (
            3,
            "US",
            "second_factor_required",
            45,
            "new_country,new_device",
            "step_up",
        ),
        (
            2,
            "US",
            "success",
            75,
            "impossible_travel,new_ip",
            "step_up",
        ),
        (1, "US", "wrong_password", 0, "", "deny"),
    ] {
        t.exec(&format!(
            "INSERT INTO login_attempts (at, account_id, ip, country, outcome, risk_score, reasons, decision)
             VALUES ({}, {account}, '203.0.113.7', '{country}', '{outcome}', {score}, '{reasons}', '{decision}')",
            now - ago_h * 3_600_000
        ))
        .await;
    }
    for (kind, detail) in [
        ("two_factor_enabled", "totp"),
        ("unlocked", "self-service (recovery_code)"),
        ("device_removed", "Old phone (removed by owner)"),
    ] {
        t.exec(&format!(
            "INSERT INTO security_events (account_id, at, kind, detail) VALUES ({account}, {}, '{kind}', '{detail}')",
            now - 5 * 3_600_000
        ))
        .await;
    }
    browser_signed_in(&b, email, tag).await;

    b.goto("/account/security/history").await;
    b.on_page("login-history").await;
    let medium = b
        .text("tr.attempt[data-outcome=\"second_factor_required\"] .risk-cell")
        .await;
    assert!(
        medium.contains(&msg(lang, "risk-level-medium", &[])),
        "{medium}"
    );
    assert!(
        medium.contains(&tr(lang, "risk-why-new_country", &[("place", us)])),
        "{medium}"
    );
    let high = b.text("tr.attempt .risk-high").await;
    assert_eq!(high, msg(lang, "risk-level-high", &[]));
    let table = b.text("#login-history").await;
    assert!(
        table.contains(&tr(lang, "risk-why-impossible_travel", &[("place", japan)])),
        "{table}"
    );
    // A wrong password was never scored: no "risk 0" beside "refused".
    let refused = b
        .text("tr.attempt[data-outcome=\"wrong_password\"] .risk-cell")
        .await;
    assert!(
        refused.contains(&msg(lang, "risk-not-assessed", &[])),
        "{refused}"
    );
    assert!(!refused.chars().any(|c| c.is_ascii_digit()), "{refused}");
    for raw in ["new_country", "impossible_travel", "step_up", "allowed"] {
        assert!(!table.contains(raw), "{raw} in {table}");
    }
    b.shot("history").await;

    b.click("#tab-timeline").await;
    b.on_page("security-timeline").await;
    let timeline = b.text("#timeline").await;
    let totp = msg(lang, "twofa-method-totp", &[]);
    let recovery = msg(lang, "twofa-method-recovery_code", &[]);
    assert!(
        timeline.contains(&tr(lang, "timeline-with-method", &[("method", &totp)])),
        "{timeline}"
    );
    assert!(
        timeline.contains(&tr(
            lang,
            "timeline-unlocked-by-you",
            &[("method", &recovery)]
        )),
        "{timeline}"
    );
    assert!(
        timeline.contains(&tr(
            lang,
            "timeline-device-removed-by-you",
            &[("device", "Old phone")]
        )),
        "{timeline}"
    );
    for raw in ["totp", "self-service", "recovery_code", "removed by owner"] {
        assert!(!timeline.contains(raw), "{raw} in {timeline}");
    }
    b.shot("timeline").await;

    // The overview counts the two risky sign-ins of the last 30 days.
    b.click("#tab-overview").await;
    b.on_page("security").await;
    // (This browser's own sign-in may count too, as a new device.)
    let count: i64 = b.text("#risky-count").await.parse().expect("a number");
    assert!(count >= 2, "{count}");
    let risky = b.text("#risky-sign-ins").await;
    assert!(
        risky.contains(&msg(lang, "risk-level-high", &[])),
        "{risky}"
    );
    assert!(
        risky.contains(&msg(lang, "risk-level-medium", &[])),
        "{risky}"
    );
    b.shot("overview-risky").await;

    // Devices are told apart: first seen, where, and a short id; renamed here.
    b.click("#tab-devices").await;
    b.on_page("security-devices").await;
    let mine = scalar(&t, "SELECT MAX(id) FROM devices").await;
    let card = format!("li[data-device-id=\"{mine}\"]");
    let text = b.text(&card).await;
    assert!(
        text.contains(&msg(lang, "device-first-seen", &[])),
        "{text}"
    );
    assert!(text.contains("127.0.0.1"), "{text}");
    b.click(&format!("{card} details.rename summary")).await;
    b.fill(&format!("{card} input[name=\"name\"]"), "Mei's laptop")
        .await;
    b.click(&format!("#rename-{mine}")).await;
    b.on_page("security-devices").await;
    assert_eq!(
        b.text("#notice").await,
        msg(lang, "security-device-renamed", &[])
    );
    assert!(b.text(&card).await.contains("Mei's laptop"));
    b.shot("device-renamed").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_history_and_timeline_in_words() {
    history_and_timeline_in_words("en", "en-US", "Japan", "United States").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_history_and_timeline_in_words_in_japanese() {
    history_and_timeline_in_words("ja", "ja", "日本", "アメリカ合衆国").await;
}
