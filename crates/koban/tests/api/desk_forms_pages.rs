//! Category forms on the pages, on both databases: the requester's form in
//! the viewer's language with checkboxes, the console's labels, and the
//! desk admin's forms page (who may use it, saving, refusals that change
//! nothing, CSRF, escaping).

use crate::desk_forms::form_of;
use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

const STAFF_PASSWORD: &str = "staff password 1";
const PASSWORD: &str = "plum blossom 2026";
const XSS: &str = "<script>alert(1)</script>";

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("html")
}

async fn in_lang(p: &Pages, path: &str, lang: &str) -> String {
    let response = p
        .http
        .get(format!("{}{path}", p.base))
        .header("accept-language", lang)
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    text(response).await
}

/// The reference of the one ticket there is.
async fn only_reference(t: &TestApp) -> String {
    use sqlx::Row;
    t.settle().await;
    let row = sqlx::query("SELECT reference FROM desk_tickets")
        .fetch_one(t.app.store.read())
        .await
        .expect("one ticket");
    row.try_get("reference").expect("reference")
}

async fn staff(t: &TestApp, identifier: &str, role: &str) -> Pages {
    t.staff(identifier, role).await;
    let mut p = Pages::new(t).await;
    assert_eq!(
        p.sign_in(identifier, STAFF_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    p
}

async fn the_requester_reads_labels_in_their_language_and_ticks_boxes(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let (status, saved) = t
        .send(
            t.http
                .put(t.url("/api/v1/desk/forms/privacy"))
                .bearer_auth(&admin)
                .json(&json!({
                    "required": ["subject", "body"], "optional": [],
                    "custom": [
                        { "id": "plan", "kind": { "type": "choice", "options": ["free", "pro"] },
                          "required": false, "max_len": 10,
                          "labels": { "en": "Plan", "ja": "プラン" },
                          "option_labels": { "pro": { "en": "Pro plan", "ja": "プロプラン" } } },
                        { "id": "owner", "kind": { "type": "checkbox" }, "required": true, "max_len": 5,
                          "labels": { "en": "I confirm I am the account owner", "ja": "アカウントの所有者本人です" },
                          "hints": { "en": "Only the owner may ask for the data" } },
                    ],
                })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let mut p = Pages::new(&t).await;
    let ja = in_lang(&p, "/support?category=privacy", "ja").await;
    assert!(ja.contains("プラン") && ja.contains("プロプラン"), "{ja}");
    assert!(ja.contains("アカウントの所有者本人です"), "{ja}");
    assert!(
        ja.contains("Only the owner may ask for the data"),
        "hint in English"
    );
    let th = in_lang(&p, "/support?category=privacy", "th").await;
    assert!(th.contains("I confirm I am the account owner"), "{th}");
    assert!(
        th.contains(">Plan<") && th.contains("Pro plan") && th.contains(">free<"),
        "{th}"
    );
    assert!(!th.contains("プラン"));

    // Unticked, the required box is refused next to it; nothing opens.
    let base = [
        ("category", "privacy"),
        ("subject", "Export my data"),
        ("body", "Please send me my data"),
        ("email", "asker@example.com"),
    ];
    let response = p.post("/support", &base).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"fields.owner-error\""), "{html}");
    assert!(html.contains("Tick this box to continue."), "{html}");
    let mut form = base.to_vec();
    form.push(("fields.plan", "gold"));
    form.push(("fields.owner", "true"));
    let response = p.post("/support", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("id=\"fields.plan-error\""));
    assert_eq!(t.count("desk_tickets").await, 0);
    form.retain(|(k, _)| *k != "fields.plan");
    form.push(("fields.plan", "pro"));
    let response = p.post("/support", &form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reference = only_reference(&t).await;

    // The agent reads the answers by their labels.
    let mut agent = staff(&t, "agent@example.com", "agent").await;
    let html = text(agent.get(&format!("/desk/tickets/{reference}")).await).await;
    assert!(html.contains("I confirm I am the account owner"), "{html}");
    assert!(
        html.contains("<dd>Yes</dd>") && html.contains("<dd>Pro plan</dd>"),
        "{html}"
    );
}
both!(the_requester_reads_labels_in_their_language_and_ticks_boxes);

async fn only_desk_admins_use_the_forms_page(t: TestApp) {
    let paths = ["/desk/admin/forms", "/desk/admin/forms/other"];
    let mut visitor = Pages::new(&t).await;
    for path in paths {
        let response = visitor.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/signin?next="), "{path}");
    }
    t.signed_up("user@example.com", PASSWORD).await;
    let mut user = Pages::new(&t).await;
    user.sign_in("user@example.com", PASSWORD).await;
    let agent = staff(&t, "agent@example.com", "agent").await;
    let supervisor = staff(&t, "sup@example.com", "supervisor").await;
    let save = [
        ("std.subject", "required"),
        ("std.body", "required"),
        ("c0.id", "sneaky"),
        ("c0.type", "text"),
    ];
    for (mut p, want) in [
        (user, StatusCode::NOT_FOUND),
        (agent, StatusCode::FORBIDDEN),
        (supervisor, StatusCode::FORBIDDEN),
    ] {
        for path in paths {
            assert_eq!(p.get(path).await.status(), want, "{path}");
        }
        let response = p.post("/desk/admin/forms/other", &save).await;
        assert_eq!(response.status(), want);
    }
    assert_eq!(t.count("desk_forms").await, 0);
    // Agents' queue has no link to it; an admin's has.
    let mut agent = staff(&t, "agent2@example.com", "agent").await;
    assert!(!text(agent.get("/desk").await)
        .await
        .contains("id=\"nav-forms\""));
    let mut admin = staff(&t, "admin@example.com", "admin").await;
    assert!(text(admin.get("/desk").await)
        .await
        .contains("href=\"/desk/admin/forms\""));
}
both!(only_desk_admins_use_the_forms_page);

async fn desk_admins_edit_a_form_on_its_page(t: TestApp) {
    let mut p = staff(&t, "admin@example.com", "admin").await;
    let html = text(p.get("/desk/admin/forms").await).await;
    assert!(html.contains("id=\"edit-other\""), "{html}");
    let html = text(p.get("/desk/admin/forms/other").await).await;
    assert!(html.contains("id=\"form-editor\""));
    assert_eq!(
        p.get("/desk/admin/forms/lost_cat").await.status(),
        StatusCode::NOT_FOUND
    );

    let good = [
        ("std.subject", "required"),
        ("std.body", "required"),
        ("std.device_os", "optional"),
        ("c0.id", "agree"),
        ("c0.type", "checkbox"),
        ("c0.required", "true"),
        ("c0.label.en", "I agree"),
        ("c0.position", "2"),
        ("c1.id", "order_no"),
        ("c1.type", "number"),
        ("c1.max_len", "12"),
        ("c1.label.en", " Order number "),
        ("c1.label.ja", "注文番号"),
        ("c1.position", "1"),
        ("c2.id", ""),
        ("c2.type", "text"),
    ];
    // Refused, changing nothing: each bad input shown, and no CSRF token.
    let refusals: [(&str, &str, &str); 3] = [
        ("c1.type", "colour", "Choose one of the offered types."),
        ("c0.id", "order_no", "Two fields have this identifier."),
        ("c1.label.fr", "Numéro", "Labels can be written in English"),
    ];
    for (name, value, says) in refusals {
        let mut form = good.to_vec();
        form.retain(|(k, _)| *k != name);
        form.push((name, value));
        let response = p.post("/desk/admin/forms/other", &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = text(response).await;
        assert!(html.contains(says), "{name}: {html}");
        assert!(html.contains("field-error"), "shown by the field");
    }
    let response = p
        .http
        .post(format!("{}/desk/admin/forms/other", p.base))
        .header(COOKIE, p.cookie_header())
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_forms").await, 0);
    assert_eq!(t.count("desk_form_changes").await, 0);

    let response = p.post("/desk/admin/forms/other", &good).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/desk/admin/forms/other?saved=1");
    let html = text(p.get(&location(&response)).await).await;
    assert!(html.contains("id=\"notice\"") && html.contains("注文番号"));
    let (_, forms) = t.get(None, "/api/v1/desk/forms").await;
    let other = form_of(&forms, "other");
    assert_eq!(other["optional"], json!(["device_os"]));
    assert_eq!(other["custom"][0]["id"], "order_no", "reordered: {other}");
    assert_eq!(other["custom"][0]["labels"]["en"], "Order number");
    assert_eq!(other["custom"][1]["kind"]["type"], "checkbox");
    assert_eq!(other["custom"][1]["required"], true);

    // Removing a field.
    let mut form = good.to_vec();
    form.push(("c0.remove", "true"));
    let response = p.post("/desk/admin/forms/other", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, forms) = t.get(None, "/api/v1/desk/forms").await;
    let other = form_of(&forms, "other");
    let ids: Vec<&str> = other["custom"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["order_no"]);
}
both!(desk_admins_edit_a_form_on_its_page);

async fn a_label_with_markup_is_shown_as_text(t: TestApp) {
    let mut admin = staff(&t, "admin@example.com", "admin").await;
    let form = [
        ("std.subject", "required"),
        ("std.body", "required"),
        ("c0.id", "note"),
        ("c0.type", "choice"),
        ("c0.options", "a"),
        ("c0.label.en", XSS),
        ("c0.hint.en", "<img src=x onerror=alert(1)>"),
        ("c0.option_labels.en", "<b>bold</b>"),
    ];
    let response = admin.post("/desk/admin/forms/other", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut requester = Pages::new(&t).await;
    let support = in_lang(&requester, "/support?category=other", "en").await;
    let response = requester
        .post(
            "/support",
            &[
                ("category", "other"),
                ("subject", "Hello"),
                ("body", "A question"),
                ("email", "asker@example.com"),
                ("fields.note", "a"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let reference = only_reference(&t).await;
    let pages = [
        support,
        text(admin.get("/desk/admin/forms").await).await,
        text(admin.get("/desk/admin/forms/other").await).await,
        text(admin.get(&format!("/desk/tickets/{reference}")).await).await,
    ];
    for html in pages {
        assert!(!html.contains("<script>alert(1)"), "{html}");
        assert!(
            !html.contains("<img src=x") && !html.contains("<b>bold"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
    }
}
both!(a_label_with_markup_is_shown_as_text);
