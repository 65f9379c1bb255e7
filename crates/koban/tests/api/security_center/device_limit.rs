//! Devices that count under the limit, said before the second factor; the
//! same rule over the JSON API on both databases.

use super::*;

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
