//! Category forms configured by desk admins, and tickets checked against them.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn put(t: &TestApp, token: &str, category: &str, body: Value) -> (StatusCode, Value) {
    t.send(
        t.http
            .put(t.url(&format!("/api/v1/desk/forms/{category}")))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// The ticket `opened` answered with, as an agent reads it.
async fn seen_by(t: &TestApp, agent: &str, opened: &Value) -> Value {
    let reference: String = opened["reference"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (_, seen) = t
        .get(Some(agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    seen
}

/// One category's form out of `GET /api/v1/desk/forms`.
pub(crate) fn form_of(forms: &Value, category: &str) -> Value {
    forms
        .as_array()
        .and_then(|all| all.iter().find(|f| f["category"] == category))
        .cloned()
        .unwrap_or_default()
}

async fn admins_shape_the_forms_and_tickets_follow(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let user = t
        .signed_up("user@example.com", "correct horse battery")
        .await;
    let (status, forms) = t.get(None, "/api/v1/desk/forms").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(forms.as_array().map(Vec::len), Some(10));
    let good = json!({
        "required": ["subject", "body"],
        "optional": ["device_os"],
        "custom": [
            { "id": "order_number", "kind": { "type": "number" }, "required": true, "max_len": 20 },
            { "id": "plan", "kind": { "type": "choice", "options": ["free", "pro"] }, "required": false, "max_len": 10 },
        ],
    });
    // Not for agents or users; unknown categories do not exist.
    for token in [&agent, &user] {
        let (status, _) = put(&t, token, "other", good.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = put(&t, &admin, "lost_cat", good.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Duplicate ids, a choice without options, a bad type, subject optional.
    let (status, problem) = put(&t, &admin, "other", json!({
        "required": ["body"],
        "optional": ["subject"],
        "custom": [
            { "id": "x", "kind": { "type": "choice", "options": [] }, "required": false, "max_len": 10 },
            { "id": "x", "kind": { "type": "date" }, "required": false, "max_len": 10 },
        ],
    })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let codes: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert!(codes.contains(&"duplicate_custom_id"), "{codes:?}");
    assert!(codes.contains(&"choice_without_options"), "{codes:?}");
    assert!(codes.contains(&"must_be_required"), "{codes:?}");
    let (status, _) = put(&t, &admin, "other", json!({
        "required": ["subject", "body"], "optional": [],
        "custom": [{ "id": "y", "kind": { "type": "colour" }, "required": false, "max_len": 10 }],
    })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("desk_forms").await, 0);

    let (status, saved) = put(&t, &admin, "other", good.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(t.count("desk_form_changes").await, 1);
    // Tickets of the category now answer the custom fields.
    let open = |fields: Value| {
        let user = user.clone();
        let t = &t;
        async move {
            t.post_as(
                &user,
                "/api/v1/desk/tickets",
                json!({
                    "category": "other", "subject": "Billing", "body": "Question about my bill",
                    "fields": fields,
                }),
            )
            .await
        }
    };
    let (status, problem) = open(json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "fields.order_number");
    let (status, problem) = open(json!({ "order_number": "abc" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "not_a_number");
    let (status, problem) = open(json!({ "order_number": "12", "nickname": "x" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "fields.nickname");
    let (status, problem) = open(json!({ "order_number": "12", "plan": "gold" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(t.count("desk_tickets").await, 0);
    let (status, opened) =
        open(json!({ "order_number": "12", "plan": "<script>alert(1)</script>" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{opened}");
    let (status, opened) = open(json!({ "order_number": "12", "plan": "pro" })).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let seen = seen_by(&t, &agent, &opened).await;
    assert_eq!(seen["fields"]["order_number"], "12");
    assert_eq!(seen["fields"]["plan"], "pro");
}
both!(admins_shape_the_forms_and_tickets_follow);

/// The `privacy` form with a labelled choice and a consent checkbox.
fn labelled() -> Value {
    json!({
        "required": ["subject", "body"],
        "optional": [],
        "custom": [
            { "id": "plan", "kind": { "type": "choice", "options": ["free", "pro"] },
              "required": false, "max_len": 10,
              "labels": { "en": "  Plan ", "ja": "プラン" },
              "hints": { "en": "As on your bill" },
              "option_labels": { "pro": { "en": "Pro", "ja": "プロ" } } },
            { "id": "owner", "kind": { "type": "checkbox" }, "required": true, "max_len": 5,
              "labels": { "en": "I confirm I am the account owner", "ja": "アカウントの所有者本人です" } },
        ],
    })
}

async fn labels_per_language_and_checkboxes_through_the_api(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    // Refused label sets change nothing: an unknown language, no English,
    // too long, labels for an option the field lacks.
    let refusals = [
        (
            json!({ "en": "Plan", "fr": "Forfait" }),
            json!({}),
            "unknown_language",
        ),
        (
            json!({ "ja": "プラン" }),
            json!({}),
            "english_label_required",
        ),
        (
            json!({ "en": "x".repeat(201) }),
            json!({}),
            "label_too_long",
        ),
        (
            json!({ "en": "Plan" }),
            json!({ "gold": { "en": "Gold" } }),
            "unknown_option",
        ),
    ];
    for (labels, option_labels, code) in refusals {
        let mut body = labelled();
        body["custom"][0]["labels"] = labels;
        body["custom"][0]["option_labels"] = option_labels;
        let (status, problem) = put(&t, &admin, "privacy", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "plan", "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    assert_eq!(t.count("desk_forms").await, 0);

    let (status, saved) = put(&t, &admin, "privacy", labelled()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["custom"][0]["labels"]["en"], "Plan", "trimmed");
    let (_, forms) = t.get(None, "/api/v1/desk/forms").await;
    let privacy = form_of(&forms, "privacy");
    assert_eq!(privacy["custom"][0]["labels"]["ja"], "プラン");
    assert_eq!(privacy["custom"][0]["option_labels"]["pro"]["ja"], "プロ");
    assert_eq!(privacy["custom"][1]["kind"]["type"], "checkbox");
    // Forms without labels say nothing of them.
    let other = forms
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "other")
        .cloned()
        .unwrap();
    assert!(other["custom"].as_array().unwrap().is_empty());

    let open = |fields: Value| {
        let t = &t;
        async move {
            t.send(t.http.post(t.url("/api/v1/desk/tickets")).json(&json!({
                "category": "privacy", "subject": "Export my data", "body": "Please send my data",
                "email": "asker@example.com", "fields": fields,
            })))
            .await
        }
    };
    let cases = [
        (json!({}), "required"),
        (json!({ "owner": false }), "must_be_checked"),
        (json!({ "owner": "yes" }), "not_true_or_false"),
        (json!({ "owner": 2 }), "not_true_or_false"),
        (json!({ "owner": [true] }), "invalid_value"),
    ];
    for (fields, code) in cases {
        let (status, problem) = open(fields.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], "fields.owner", "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    assert_eq!(t.count("desk_tickets").await, 0);
    let (status, opened) = open(json!({ "owner": true, "plan": "pro" })).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let agent = t.staff("agent@example.com", "agent").await;
    let seen = seen_by(&t, &agent, &opened).await;
    assert_eq!(seen["fields"]["owner"], "true");
    assert_eq!(seen["fields"]["plan"], "pro", "the option id is stored");
}
both!(labels_per_language_and_checkboxes_through_the_api);
