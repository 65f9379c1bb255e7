//! The overview, devices and sign-in methods each in one place, in every
//! language.

use super::*;

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
