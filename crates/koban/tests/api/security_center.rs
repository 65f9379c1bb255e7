//! The security center as a person meets it (issue 11, points 4–7): an
//! overview, devices, sign-in methods and activity each in one place; the
//! history and timeline in words; devices that count under the limit, said
//! before the second factor; recovery codes to copy, download and print.
//! Browser tests run in English and a CJK language on SQLite and leave
//! screenshots under `target/browser-screenshots/`; the device-limit rule
//! is also checked over the JSON API on both databases.

use crate::chromium::{totp_at, totp_step_now, Browser, DESKTOP, PHONE};
use crate::support::{Db, TestApp};
use koban::web::i18n::{t as message, Lang};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "plum blossom 2026";
const DAY_MS: i64 = 24 * 3_600_000;

fn lang_of(tag: &str) -> Lang {
    Lang::parse(tag).expect("a supported language")
}

/// A message as the pages show it.
fn msg(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    message(lang, id, args)
}

/// A message with numbers and words as arguments, as the templates pass them.
fn tr(lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (*k, v.to_string())).collect();
    msg(lang, id, &args)
}

async fn scalar(t: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(t.app.store.read())
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("number")
}

/// Signs in over the API from an app with its own device id and name.
async fn app_sign_in(
    t: &TestApp,
    device: &str,
    name: &str,
    identifier: &str,
) -> (StatusCode, serde_json::Value) {
    t.send(
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .header("x-koban-device-name", name)
            .json(&json!({ "identifier": identifier, "password": PASSWORD })),
    )
    .await
}

/// Makes every device of the account signed out and last used long ago,
/// as a browser that signed out months back.
async fn age_all_devices(t: &TestApp) {
    t.exec(&format!(
        "UPDATE devices SET last_seen_at = {}",
        koban::store::now_ms() - 90 * DAY_MS
    ))
    .await;
    t.exec("UPDATE sessions SET revoked_at = 1 WHERE revoked_at IS NULL")
        .await;
}

/// Signs the browser in and, for a language other than English, switches
/// the account to it (the account was made in English over the API).
async fn browser_signed_in(b: &Browser, email: &str, tag: &str) {
    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("account").await;
    if tag != "en" {
        b.switch_language(tag).await;
        b.on_page("account").await;
    }
}

/// Every tab of the center sits on one row of equal height: on a phone the
/// row scrolls sideways rather than wrapping into two with the active one taller.
async fn tabs_on_one_row(b: &Browser) {
    let rows = b
        .script(
            "var a = Array.from(document.querySelectorAll('.tabs-page a'));\
             return [new Set(a.map(function (x) { return x.offsetTop; })).size,\
                     new Set(a.map(function (x) { return x.offsetHeight; })).size, a.length];",
        )
        .await;
    assert_eq!(rows, json!([1, 1, 4]), "tops, heights, tabs");
}

// ---- 4. Organised by what people look for --------------------------------------------

async fn overview_devices_and_methods(tag: &str, browser_lang: &str) {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let test = format!("security_center_tabs_{tag}");
    let Some(mut b) = Browser::start(&test, browser_lang, &t.base).await else {
        return;
    };
    let lang = lang_of(tag);
    let email = "tabs@example.com";
    t.signed_up(email, PASSWORD).await;
    browser_signed_in(&b, email, tag).await;

    // The overview: status at a glance, each with its one link.
    b.goto("/account/security").await;
    b.on_page("security").await;
    assert_eq!(
        b.text("#twofa-state").await,
        msg(lang, "twofa-state-off", &[])
    );
    assert_eq!(
        b.text("#devices-count").await,
        "2",
        "the sign-up's device and this browser"
    );
    assert_eq!(
        b.text("#places-count").await,
        tr(lang, "security-places-used", &[("used", "2"), ("max", "5")])
    );
    assert_eq!(
        b.text("#no-risky").await,
        msg(lang, "security-overview-no-risky", &[])
    );
    b.find("#security-reminders .reminder[data-kind=\"enable_two_factor\"]")
        .await;
    // Devices, 2FA and passkeys each live in their own tab, not here.
    for elsewhere in ["#devices", "#passkeys-section", "#twofa-on", "#twofa-off"] {
        assert!(
            !b.has(elsewhere).await,
            "{elsewhere} is not on the overview"
        );
    }
    assert_eq!(
        b.text("#tab-overview").await,
        msg(lang, "security-tab-overview", &[])
    );
    b.shot("overview").await;

    // Devices: the sign-up's session is still live, so there is another
    // device to sign out, and the button is not red.
    b.click("#tab-devices").await;
    b.on_page("security-devices").await;
    let class = b
        .attr("#sign-out-others", "class")
        .await
        .unwrap_or_default();
    assert!(
        class.contains("btn-secondary") && !class.contains("btn-danger"),
        "{class}"
    );
    let short: Vec<String> = {
        let mut ids = vec![];
        for el in b
            .client()
            .find_all(fantoccini::Locator::Css("#devices .short-id"))
            .await
            .expect("ids")
        {
            ids.push(el.text().await.expect("text"));
        }
        ids
    };
    assert_eq!(short.len(), 2);
    assert_ne!(short[0], short[1], "devices are told apart");
    assert!(short.iter().all(|s| s.len() == 4), "{short:?}");
    assert!(b.text("#device-limit-rule").await.contains("30"));
    b.shot("devices").await;
    b.click("#sign-out-others").await;
    b.on_page("security-devices").await;
    assert_eq!(
        b.text("#notice").await,
        msg(lang, "security-signed-out-others", &[])
    );
    assert!(!b.has("#sign-out-others").await, "nothing left to sign out");
    assert_eq!(
        b.text("#no-other-sessions").await,
        msg(lang, "security-no-other-sessions", &[])
    );
    // The signed-out device was used just now: it still holds its place...
    let other = scalar(&t, "SELECT MIN(id) FROM devices").await;
    let other_css = format!("li[data-device-id=\"{other}\"]");
    assert_eq!(
        b.attr(&other_css, "data-holds-place").await.as_deref(),
        Some("true")
    );
    // ...until it has not been used for the window.
    t.exec(&format!(
        "UPDATE devices SET last_seen_at = {} WHERE id = {other}",
        koban::store::now_ms() - 31 * DAY_MS
    ))
    .await;
    b.goto("/account/security/devices").await;
    b.on_page("security-devices").await;
    assert_eq!(
        b.attr(&other_css, "data-holds-place").await.as_deref(),
        Some("false")
    );
    assert!(b
        .text(&other_css)
        .await
        .contains(&msg(lang, "security-no-place", &[])));
    assert_eq!(
        b.text("#places-count").await,
        tr(lang, "security-places-used", &[("used", "1"), ("max", "5")])
    );
    b.shot("devices-signed-out").await;

    // Sign-in methods: password, 2FA, passkeys and recovery codes, each once.
    b.click("#tab-methods").await;
    b.on_page("two-factor").await;
    for section in [
        "#method-password",
        "#twofa-off",
        "#passkeys-section",
        "#method-recovery",
    ] {
        b.find(section).await;
    }
    let cards = b
        .script("return document.querySelectorAll('#twofa-on, #twofa-off, #status-2fa').length;")
        .await;
    assert_eq!(cards, json!(1), "one 2FA card");
    assert_eq!(
        b.text("#no-passkeys").await,
        msg(lang, "passkeys-none", &[])
    );
    let height = b
        .script("return document.getElementById('no-passkeys').getBoundingClientRect().height;")
        .await;
    assert!(
        height.as_f64().unwrap_or(999.0) < 60.0,
        "the empty passkey list is one line: {height}"
    );
    b.shot("methods").await;

    // On a phone the tabs keep one row on every page.
    b.window(PHONE).await;
    for (path, page) in [
        ("/account/security", "security"),
        ("/account/security/devices", "security-devices"),
        ("/account/security/2fa", "two-factor"),
        ("/account/security/history", "login-history"),
        ("/account/security/timeline", "security-timeline"),
    ] {
        b.goto(path).await;
        b.on_page(page).await;
        tabs_on_one_row(&b).await;
        b.shot(&format!("{page}-phone")).await;
    }
    b.window(DESKTOP).await;
    b.goto("/account/security").await;
    b.on_page("security").await;
    tabs_on_one_row(&b).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_security_center_is_organised_by_what_people_look_for() {
    overview_devices_and_methods("en", "en-US").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_security_center_is_organised_by_what_people_look_for_in_chinese() {
    overview_devices_and_methods("zh-CN", "zh-CN").await;
}

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

// ---- 7. Recovery codes people can keep --------------------------------------------------

/// Turns TOTP on through the methods page; returns the secret and the step used.
async fn totp_on_through_the_page(b: &Browser) -> (String, i64) {
    b.goto("/account/security/2fa").await;
    b.on_page("two-factor").await;
    b.click("#twofa-begin").await;
    b.on_page("two-factor").await;
    let secret: String = b
        .text("#totp-secret")
        .await
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let step = totp_step_now();
    b.fill("#code", &totp_at(&secret, step)).await;
    b.click("#totp-confirm").await;
    b.on_page("recovery-codes").await;
    (secret, step)
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = vec![];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

async fn recovery_codes_can_be_kept(tag: &str, browser_lang: &str) {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start(
        &format!("security_center_codes_{tag}"),
        browser_lang,
        &t.base,
    )
    .await
    else {
        return;
    };
    let lang = lang_of(tag);
    let email = "codes@example.com";
    t.signed_up(email, PASSWORD).await;
    browser_signed_in(&b, email, tag).await;
    totp_on_through_the_page(&b).await;
    let codes: Vec<String> = b
        .text("#recovery-codes")
        .await
        .lines()
        .map(str::to_string)
        .filter(|l| l.len() == 11)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");

    // Download: a text file with every code, what they are and whose.
    assert_eq!(
        b.attr("#codes-download", "download").await.as_deref(),
        Some("koban-recovery-codes.txt")
    );
    let href = b.attr("#codes-download", "href").await.unwrap_or_default();
    let file = percent_decoded(
        href.strip_prefix("data:text/plain;charset=utf-8,")
            .expect("a text file"),
    );
    assert!(
        file.starts_with(&msg(lang, "codes-file-title", &[])),
        "{file}"
    );
    assert!(file.contains(email), "{file}");
    for code in &codes {
        assert!(file.contains(code.as_str()), "{code} in {file}");
    }
    // Copy and print need the script, which shows their buttons.
    assert!(b
        .find("#codes-print")
        .await
        .is_displayed()
        .await
        .expect("shown"));
    b.click("#codes-copy").await;
    let copied = msg(lang, "codes-copied", &[]);
    crate::support::eventually("the copy is confirmed", || async {
        (b.text("#codes-status").await == copied).then_some(())
    })
    .await;
    b.shot("codes").await;

    // Leaving asks to confirm they were saved: not without the tick...
    b.click("#codes-saved").await;
    let missing = b
        .script("return document.getElementById('codes-kept').validity.valueMissing;")
        .await;
    assert_eq!(missing, json!(true));
    b.on_page("recovery-codes").await;
    // ...and with it, the methods page says so and counts them.
    b.click("#codes-kept").await;
    b.click("#codes-saved").await;
    b.on_page("two-factor").await;
    assert_eq!(
        b.text("#notice").await,
        msg(lang, "codes-saved-notice", &[])
    );
    assert_eq!(
        b.text("#codes-left").await,
        tr(lang, "security-codes-left", &[("count", "10")])
    );
    b.shot("codes-saved").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recovery_codes_can_be_copied_downloaded_and_printed() {
    recovery_codes_can_be_kept("en", "en-US").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recovery_codes_can_be_copied_downloaded_and_printed_in_traditional_chinese() {
    recovery_codes_can_be_kept("zh-TW", "zh-TW").await;
}

// ---- 6. Devices that count --------------------------------------------------------------

async fn device_limit_told_before_the_second_factor(tag: &str, browser_lang: &str) {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.max_devices = 2;
        // Three devices in a day would be churn, which asks for a code first.
        c.risk_device_churn_count = 0;
    })
    .await;
    let Some(mut b) = Browser::start(
        &format!("security_center_limit_{tag}"),
        browser_lang,
        &t.base,
    )
    .await
    else {
        return;
    };
    let lang = lang_of(tag);
    let email = "limit@example.com";
    t.signed_up(email, PASSWORD).await;
    // The sign-up's browser signed out months ago: listed, but no place.
    age_all_devices(&t).await;
    let (status, first) = app_sign_in(&t, "tablet-000000000001", "Tablet", email).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = app_sign_in(&t, "phone-0000000000002", "Phone", email).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the old device leaves room: {second}"
    );
    let token = first["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    let used = totp_step_now();
    let (status, _) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_at(&secret, used) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The API tells an app the same before its second factor; a bound
    // device has its place and hears nothing of it.
    let (status, ahead) = app_sign_in(&t, "laptop-00000000000003", "Laptop", email).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ahead}");
    assert_eq!(ahead["device_limit"], json!(2), "{ahead}");
    let (status, bound) = app_sign_in(&t, "tablet-000000000001", "Tablet", email).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{bound}");
    assert!(bound.get("device_limit").is_none(), "{bound}");

    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("second-factor").await;
    // Told before the code is asked for, not after.
    assert_eq!(
        b.text("#device-limit-ahead").await,
        tr(lang, "device-limit-ahead", &[("max", "2")])
    );
    b.shot("second-factor-limit-ahead").await;
    let step = loop {
        let now = totp_step_now();
        if now > used {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    b.fill("#code", &totp_at(&secret, step)).await;
    b.click("#second-factor-submit").await;
    b.on_page("device-limit").await;
    let list = b.text("#device-limit-list").await;
    assert!(list.contains("Tablet") && list.contains("Phone"), "{list}");
    let old = scalar(&t, "SELECT MIN(id) FROM devices").await;
    assert!(
        !b.has(&format!("#remove-device-{old}")).await,
        "a device without a place is not in the way"
    );
    assert!(b.text("#device-limit-rule").await.contains("30"));
    b.shot("device-limit").await;
    let tablet = first["device_id"].as_i64().expect("device id");
    b.click(&format!("#remove-device-{tablet}")).await;
    b.on_page("account").await;
    if tag != "en" {
        // Signed in, the account's own language (English) comes first.
        b.switch_language(tag).await;
    }
    b.goto("/account/security/devices").await;
    b.on_page("security-devices").await;
    assert_eq!(
        b.text("#places-count").await,
        tr(lang, "security-places-used", &[("used", "2"), ("max", "2")])
    );
    b.shot("devices-after-limit").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_device_limit_is_told_before_the_second_factor() {
    device_limit_told_before_the_second_factor("en", "en-US").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_device_limit_is_told_before_the_second_factor_in_chinese() {
    device_limit_told_before_the_second_factor("zh-CN", "zh-CN").await;
}

/// The JSON API counts devices as the pages do: six browsers that signed out
/// long ago leave room; two signed-in apps fill a limit of two, and the 409
/// lists only the devices holding a place.
async fn api_counts_only_devices_holding_a_place(t: TestApp) {
    let email = "api-limit@example.com";
    t.signed_up(email, PASSWORD).await;
    for i in 0..6 {
        let (status, body) = app_sign_in(
            &t,
            &format!("old-browser-00000{i}"),
            &format!("Old {i}"),
            email,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{i}: {body}");
        age_all_devices(&t).await;
    }
    let (status, first) = app_sign_in(&t, "fresh-app-0000000001", "Fresh 1", email).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = app_sign_in(&t, "fresh-app-0000000002", "Fresh 2", email).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let token = second["session"]["token"].as_str().expect("token");
    let (status, devices) = t.get(Some(token), "/api/v1/me/devices").await;
    assert_eq!(status, StatusCode::OK);
    let devices = devices.as_array().expect("list");
    assert_eq!(devices.len(), 9);
    let holding: Vec<&str> = devices
        .iter()
        .filter(|d| d["holds_place"] == json!(true))
        .map(|d| d["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(holding.len(), 2, "{devices:?}");
    assert!(
        devices.iter().all(|d| d["signed_in"] == d["holds_place"]),
        "{devices:?}"
    );

    let (status, refused) = app_sign_in(&t, "third-app-0000000003", "Third", email).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let listed = refused["devices"].as_array().expect("devices");
    assert_eq!(listed.len(), 2, "only the devices in the way: {refused}");
    let (status, done) = t
        .post(
            "/api/v1/sessions/device-limit",
            json!({ "challenge": refused["challenge"], "remove_device_id": listed[0]["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_counts_only_devices_holding_a_place_sqlite() {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.max_devices = 2;
        c.risk_device_churn_count = 0;
    })
    .await;
    api_counts_only_devices_holding_a_place(t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_counts_only_devices_holding_a_place_postgres() {
    let Some(t) = TestApp::start_if_postgres(|c| {
        c.max_devices = 2;
        c.risk_device_churn_count = 0;
    })
    .await
    else {
        return;
    };
    api_counts_only_devices_holding_a_place(t).await;
}

// ---- Every page, every language, desktop and phone ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_security_center_screenshots_in_every_language() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("security_center_every_language", "en-US", &t.base).await
    else {
        return;
    };
    let email = "shots@example.com";
    t.signed_up(email, PASSWORD).await;
    browser_signed_in(&b, email, "en").await;
    let (secret, used) = totp_on_through_the_page(&b).await;
    // Turning 2FA on may count as a fresh step-up; if not, one step-up
    // serves every language's new set of recovery codes.
    b.goto("/account/security/2fa/recovery-codes").await;
    if !b.has("body[data-page=\"confirm\"]").await {
        b.on_page("step-up").await;
        let step = loop {
            let now = totp_step_now();
            if now > used {
                break now;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        b.fill("#code", &totp_at(&secret, step)).await;
        b.click("#step-up-submit").await;
    }
    b.on_page("confirm").await;
    let pages = [
        ("/account/security", "security", "overview"),
        ("/account/security/devices", "security-devices", "devices"),
        ("/account/security/2fa", "two-factor", "methods"),
        ("/account/security/history", "login-history", "history"),
        (
            "/account/security/timeline",
            "security-timeline",
            "timeline",
        ),
    ];
    for tag in ["en", "zh-CN", "zh-TW", "ja", "th"] {
        b.window(DESKTOP).await;
        b.goto("/account/security").await;
        b.on_page("security").await;
        b.switch_language(tag).await;
        let lang = lang_of(tag);
        for (size, width) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
            b.window(size).await;
            for (path, page, name) in pages {
                b.goto(path).await;
                b.on_page(page).await;
                assert_eq!(b.text("h1").await, msg(lang, "security-title", &[]));
                tabs_on_one_row(&b).await;
                b.shot(&format!("{tag}-{width}-{name}")).await;
            }
            b.goto("/account/security/2fa/recovery-codes").await;
            b.on_page("confirm").await;
            b.click("#confirm-twofa-regenerate").await;
            b.on_page("recovery-codes").await;
            b.shot(&format!("{tag}-{width}-recovery-codes")).await;
        }
    }
    b.close().await;
}
