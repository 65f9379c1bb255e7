//! The agent console's pages at the HTTP level, on both databases: who may
//! see them, CSRF, the queue and its bulk actions, a ticket's composer and
//! fields with their "changed meanwhile" refusals, the presence warning,
//! canned responses and macros (API and pages), and a list of XSS payloads
//! rendered on every console page and the requester's pages as text.

use crate::security_pages::{location, Pages};
use crate::support::{scalar, TestApp};
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};

const STAFF_PASSWORD: &str = "staff password 1";
const PASSWORD: &str = "plum blossom 2026";

async fn text(response: reqwest::Response) -> String {
    response.text().await.expect("html")
}

/// Signs in a new staff account on the pages; its API token too.
async fn staff_pages(t: &TestApp, identifier: &str, role: &str) -> (Pages, String) {
    let token = t.staff(identifier, role).await;
    let mut p = Pages::new(t).await;
    let response = p.sign_in(identifier, STAFF_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    (p, token)
}

/// Opens a ticket through the API as a signed-out requester; its reference.
async fn open(t: &TestApp, lang: &str, body: Value) -> String {
    let (status, opened) = t
        .send(
            t.http
                .post(t.url("/api/v1/desk/tickets"))
                .header("accept-language", lang)
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    opened["reference"].as_str().expect("reference").to_string()
}

/// The hidden `seen_*` members a ticket page's forms carry, read from the page.
fn seen_of(html: &str) -> Vec<(String, String)> {
    [
        "seen_status",
        "seen_priority",
        "seen_category",
        "seen_assignee",
    ]
    .iter()
    .map(|name| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = html.find(&marker).expect(name) + marker.len();
        let end = start + html[start..].find('"').expect("quote");
        (name.to_string(), html[start..end].to_string())
    })
    .collect()
}

async fn post_with(
    p: &mut Pages,
    path: &str,
    fixed: &[(&str, &str)],
    seen: &[(String, String)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fixed.to_vec();
    form.extend(seen.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    p.post(path, &form).await
}

async fn only_agents_see_the_console(t: TestApp) {
    let reference = open(
        &t,
        "en",
        json!({ "subject": "cannot sign in", "body": "locked", "email": "someone@example.com" }),
    )
    .await;
    let ticket = format!("/desk/tickets/{reference}");
    // Signed out: to sign-in, and back here after.
    let mut visitor = Pages::new(&t).await;
    for path in ["/desk", ticket.as_str(), "/desk/canned", "/desk/macros"] {
        let response = visitor.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(&response).starts_with("/signin?next="), "{path}");
    }
    // An ordinary user: as if nothing were there.
    t.signed_up("user@example.com", PASSWORD).await;
    let mut user = Pages::new(&t).await;
    user.sign_in("user@example.com", PASSWORD).await;
    for path in ["/desk", ticket.as_str(), "/desk/canned", "/desk/macros"] {
        assert_eq!(
            user.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = user
        .post(&format!("{ticket}/reply"), &[("body", "hi")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = user
        .post(
            "/desk/bulk",
            &[("action", "assign_to_me"), ("ticket", "1:1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // An agent sees it; a form without the CSRF token is refused and changes nothing.
    let (mut agent, _) = staff_pages(&t, "agent@example.com", "agent").await;
    assert_eq!(agent.get("/desk").await.status(), StatusCode::OK);
    let response = agent
        .http
        .post(format!("{}{ticket}/reply", agent.base))
        .header(COOKIE, agent.cookie_header())
        .form(&[("body", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = agent
        .http
        .post(format!("{}{ticket}/reply", agent.base))
        .header(COOKIE, agent.cookie_header())
        .form(&[("body", "forged"), ("csrf_token", "not-the-cookie")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_messages WHERE body = 'forged'").await, 0);
    // An agent who is not a desk admin reads the library but cannot change it.
    assert_eq!(agent.get("/desk/canned").await.status(), StatusCode::OK);
    let response = agent
        .post("/desk/canned", &[("name", "hello"), ("body_en", "Hello")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = agent
        .post("/desk/macros", &[("name", "solve"), ("status", "solved")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_canned_responses").await, 0);
    assert_eq!(t.count("desk_macros").await, 0);
}
both!(only_agents_see_the_console);

async fn agents_work_the_queue_and_a_ticket(t: TestApp) {
    let first = open(
        &t,
        "en",
        json!({ "subject": "code never arrives", "body": "no sms", "email": "a@example.com" }),
    )
    .await;
    let second = open(
        &t,
        "en",
        json!({ "subject": "forgot my password", "body": "help", "email": "b@example.com" }),
    )
    .await;
    let (mut agent, _) = staff_pages(&t, "agent1@example.com", "agent").await;
    let (mut other, _) = staff_pages(&t, "agent2@example.com", "agent").await;

    // Views and filters.
    let html = text(agent.get("/desk").await).await;
    assert!(html.contains(&first) && html.contains(&second), "{html}");
    let html = text(agent.get("/desk?view=mine").await).await;
    assert!(html.contains("id=\"queue-empty\""), "{html}");
    let html = text(agent.get("/desk?view=unassigned&status=new").await).await;
    assert!(html.contains(&first));
    let response = agent.get("/desk?status=bogus").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = agent.get("/desk?view=nobody").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A reply that sets the status after it.
    let path = format!("/desk/tickets/{first}");
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("code never arrives"));
    assert!(!html.contains("presence-warning"), "nobody else yet");
    let seen = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/reply"),
        &[
            ("body", "We are on it."),
            ("visibility", "public"),
            ("status_after", "pending"),
        ],
        &seen,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    let html = text(agent.get(&location_of(&path, "replied")).await).await;
    assert!(html.contains("We are on it."));
    assert!(html.contains("data-status=\"pending\""), "{html}");
    // An internal note looks different and stays off the requester's side.
    let seen = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/reply"),
        &[
            ("body", "checked the SMS gateway"),
            ("visibility", "internal"),
        ],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("class=\"message message-note\""), "{html}");
    assert_eq!(t.count("desk_messages WHERE public = 0").await, 1);

    // The other agent opens it: the first is named on their page.
    let html_other = text(other.get(&path).await).await;
    assert!(
        html_other.contains("id=\"presence-warning\""),
        "{html_other}"
    );
    assert!(html_other.contains("agent1@example.com"));

    // Fields and tags.
    let seen = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/fields"),
        &[
            ("status", "pending"),
            ("priority", "high"),
            ("category", "code_not_received"),
            ("assignee", ""),
            ("tags", "vip, 退款"),
            ("seen_tags", ""),
        ],
        &seen,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("value=\"vip, 退款\""), "{html}");
    assert_eq!(t.count("desk_ticket_tags").await, 2);

    // The other agent changes the status; the first agent's form is stale:
    // refused with a clear message, and nothing of it is written.
    let seen_other = seen_of(&text(other.get(&path).await).await);
    let response = post_with(
        &mut other,
        &format!("{path}/fields"),
        &[
            ("status", "on_hold"),
            ("priority", "high"),
            ("category", "code_not_received"),
            ("assignee", ""),
            ("tags", "vip, 退款"),
            ("seen_tags", "vip, 退款"),
        ],
        &seen_other,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stale = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/fields"),
        &[
            ("status", "solved"),
            ("priority", "low"),
            ("category", "code_not_received"),
            ("assignee", ""),
            ("tags", "vip, 退款"),
            ("seen_tags", "vip, 退款"),
        ],
        &stale,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = text(response).await;
    assert!(page.contains("id=\"alert\""), "{page}");
    assert!(
        page.contains("data-status=\"on_hold\""),
        "shows the ticket as it is now"
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM desk_tickets WHERE status = 'on_hold' AND priority = 'high'"
        )
        .await,
        1
    );
    // A stale reply is refused too, and the text typed is kept.
    let response = post_with(
        &mut agent,
        &format!("{path}/reply"),
        &[("body", "my long answer"), ("visibility", "public")],
        &stale,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(text(response).await.contains("my long answer</textarea>"));
    assert_eq!(
        t.count("desk_messages WHERE body = 'my long answer'").await,
        0
    );
    // A tag with a space is refused by name.
    let seen = seen_of(&text(agent.get(&path).await).await);
    let response = post_with(
        &mut agent,
        &format!("{path}/fields"),
        &[("tags", "two words"), ("seen_tags", "")],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bulk: one ticket as seen, one changed since the queue was drawn.
    let queue = text(agent.get("/desk?view=all").await).await;
    let seen_value = |reference: &str| {
        let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
        let marker = format!("value=\"{digits}:");
        let start = queue.find(&marker).expect("row") + "value=\"".len();
        let end = start + queue[start..].find('"').expect("quote");
        queue[start..end].to_string()
    };
    let (a, b) = (seen_value(&first), seen_value(&second));
    let seen_second = seen_of(&text(other.get(&format!("/desk/tickets/{second}")).await).await);
    let response = post_with(
        &mut other,
        &format!("/desk/tickets/{second}/fields"),
        &[("priority", "urgent")],
        &seen_second,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = agent
        .post(
            "/desk/bulk",
            &[
                ("ticket", &a),
                ("ticket", &b),
                ("action", "assign_to_me"),
                ("view", "all"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert!(
        html.contains(&format!("data-reference=\"{first}\" data-outcome=\"done\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "data-reference=\"{second}\" data-outcome=\"changed\""
        )),
        "{html}"
    );
    assert_eq!(
        t.count("desk_tickets WHERE assignee_id IS NOT NULL").await,
        1
    );
    let html = text(agent.get("/desk?view=mine").await).await;
    assert!(html.contains(&first) && !html.contains(&second));
    // A bulk action with a bad value changes nothing.
    let queue = text(agent.get("/desk?view=all").await).await;
    let _ = queue;
    let response = agent
        .post(
            "/desk/bulk",
            &[("ticket", &a), ("action", "status"), ("value", "new")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = agent
        .post("/desk/bulk", &[("action", "assign_to_me")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
both!(agents_work_the_queue_and_a_ticket);

fn location_of(path: &str, done: &str) -> String {
    format!("{path}?done={done}")
}

async fn canned_responses_and_macros(t: TestApp) {
    let (mut admin, admin_token) = staff_pages(&t, "lead@example.com", "admin").await;
    let (mut agent, agent_token) = staff_pages(&t, "helper@example.com", "agent").await;
    let canned = "/api/v1/desk/canned-responses";
    let good = json!({ "name": "received", "bodies": {
        "en": "Hello {{requester.name}}, we have {{ticket.reference}}. {{agent.name}}",
        "ja": "{{requester.name}} 様、{{ticket.reference}} を承りました。" } });
    let (status, _) = t.post_as(&agent_token, canned, good.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents read, admins write");
    let (status, created) = t.post_as(&admin_token, canned, good.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("id");
    for (bad, field) in [
        (
            json!({ "name": "x", "bodies": { "en": "{{7*7}}" } }),
            "bodies.en",
        ),
        (
            json!({ "name": "x", "bodies": { "en": "{{ requester.password }}" } }),
            "bodies.en",
        ),
        (json!({ "name": "x", "bodies": { "en": "   " } }), "bodies"),
        (json!({ "name": "x", "bodies": {} }), "bodies"),
        (
            json!({ "name": "x", "bodies": { "xx": "hello" } }),
            "bodies.xx",
        ),
        (json!({ "name": "  ", "bodies": { "en": "hello" } }), "name"),
        (
            json!({ "name": "received", "bodies": { "en": "again" } }),
            "name",
        ),
    ] {
        let (status, problem) = t.post_as(&admin_token, canned, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{bad}: {problem}");
    }
    let (status, list) = t.get(Some(&agent_token), canned).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let macros = "/api/v1/desk/macros";
    for bad in [
        json!({ "name": "m", "status": "closed" }),
        json!({ "name": "m", "status": "new" }),
        json!({ "name": "m", "status": "bogus" }),
        json!({ "name": "m", "priority": "extreme" }),
        json!({ "name": "m" }),
        json!({ "name": "m", "tag": "two words" }),
    ] {
        let (status, problem) = t.post_as(&admin_token, macros, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    let (status, _) = t
        .post_as(
            &agent_token,
            macros,
            json!({ "name": "solve", "status": "solved" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(t.count("desk_macros").await, 0);

    // The admin page adds one in another language; a bad one is shown again.
    let response = admin
        .post(
            "/desk/macros",
            &[
                ("name", "solve and thank"),
                ("status", "solved"),
                ("tag", "thanked"),
                ("visibility", "public"),
                ("body_en", "Glad it works, {{requester.name}}."),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    let response = admin
        .post(
            "/desk/canned",
            &[("name", "bad one"), ("body_en", "{{7*7}}")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert!(html.contains("id=\"new-body-en-error\""), "{html}");
    assert!(html.contains("value=\"bad one\""), "what was typed stays");
    // Every change is recorded with who made it.
    assert_eq!(
        t.count("desk_library_changes WHERE action = 'created'")
            .await,
        2
    );
    let (status, _) = t
        .send(
            t.http
                .put(t.url(&format!("{canned}/{id}")))
                .bearer_auth(&agent_token)
                .json(&good),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An agent uses them on a Japanese ticket from 鈴木.
    let reference = open(&t, "ja", json!({ "subject": "ログインできない", "body": "ロックされた", "email": "suzuki@example.com", "name": "鈴木" })).await;
    let path = format!("/desk/tickets/{reference}");
    let html = text(agent.get(&format!("{path}?canned={id}")).await).await;
    assert!(
        html.contains(&format!("鈴木 様、{reference} を承りました。</textarea>")),
        "{html}"
    );
    let (status, filled) = t
        .get(
            Some(&agent_token),
            &format!("/api/v1/desk/tickets/{reference}/canned-responses/{id}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        filled["body"].as_str().unwrap_or("").starts_with("鈴木 様"),
        "{filled}"
    );
    let macro_id = scalar(&t, "SELECT id FROM desk_macros").await.to_string();
    let seen = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/macro"),
        &[("macro", &macro_id)],
        &seen,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    assert_eq!(t.count("desk_tickets WHERE status = 'solved'").await, 1);
    assert_eq!(t.count("desk_ticket_tags WHERE tag = 'thanked'").await, 1);
    // No Japanese body: the English one, filled.
    assert_eq!(
        t.count("desk_messages WHERE body = 'Glad it works, 鈴木.'")
            .await,
        1
    );
    // Applying it again on the page drawn before is a stale form: nothing more.
    let response = post_with(
        &mut agent,
        &format!("{path}/macro"),
        &[("macro", &macro_id)],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        t.count("desk_messages WHERE body = 'Glad it works, 鈴木.'")
            .await,
        1
    );
    // Deleting is recorded too.
    let (status, _) = t
        .send(
            t.http
                .delete(t.url(&format!("{canned}/{id}")))
                .bearer_auth(&admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.count("desk_library_changes WHERE action = 'deleted'")
            .await,
        1
    );
    let (status, _) = t
        .send(
            t.http
                .delete(t.url(&format!("{canned}/{id}")))
                .bearer_auth(&admin_token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(canned_responses_and_macros);

/// Markup and template syntax a requester, an admin or an agent might type.
pub(crate) const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "'><iframe src=javascript:alert(1)>",
    "{{7*7}}",
    "{% raw %}{{ config }}",
];

/// A payload's markup must never reach a page as markup.
pub(crate) fn assert_inert(page: &str, html: &str) {
    for needle in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe",
        "href=\"javascript:",
        "<a href=\"javascript",
        "onerror=alert(1)>",
    ] {
        assert!(!html.contains(needle), "{page} has live {needle:?}");
    }
}

async fn xss_payloads_render_as_text(t: TestApp) {
    let owner = "owner@example.com";
    let token = t.signed_up(owner, PASSWORD).await;
    let (mut admin, admin_token) = staff_pages(&t, "xss-admin@example.com", "admin").await;
    let mut references = vec![];
    for payload in PAYLOADS {
        let (status, opened) = t
            .post_as(
                &token,
                "/api/v1/desk/tickets",
                json!({ "subject": payload, "body": format!("body {payload}"), "category": "cannot_sign_in",
                        "fields": { "error_text": payload, "steps": payload, "device_os": payload,
                                    "contact_used": owner, "happened_at": "2026-12-01T10:00:00+09:00" } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{payload}: {opened}");
        references.push(opened["reference"].as_str().expect("reference").to_string());
    }
    // A contact's name, signed out.
    let contact_ticket = open(&t, "en", json!({ "subject": "name", "body": "x", "email": "named@example.com", "name": PAYLOADS[1] })).await;
    // The library: names and bodies with markup; template syntax is refused.
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let body = format!("{payload} for {{{{requester.name}}}}");
        let (status, answer) = t
            .post_as(
                &admin_token,
                "/api/v1/desk/canned-responses",
                json!({ "name": format!("{payload} {i}"), "bodies": { "en": body } }),
            )
            .await;
        if payload.contains("{{") {
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{payload}: {answer}"
            );
        } else {
            assert_eq!(status, StatusCode::CREATED, "{payload}: {answer}");
        }
        let (status, answer) = t
            .post_as(
                &admin_token,
                "/api/v1/desk/macros",
                json!({ "name": format!("{payload} m{i}"), "priority": "high" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{payload}: {answer}");
    }
    // Tags with markup (one word each) and an agent's note and reply.
    let first = format!("/desk/tickets/{}", references[0]);
    let html = text(admin.get(&first).await).await;
    let seen = seen_of(&html);
    let response = post_with(
        &mut admin,
        &format!("{first}/fields"),
        &[
            ("tags", "<script>alert(1)</script>,<svg/onload=alert(1)>"),
            ("seen_tags", ""),
        ],
        &seen,
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(response).await
    );
    let seen = seen_of(&text(admin.get(&first).await).await);
    let canned_id = scalar(&t, "SELECT MIN(id) FROM desk_canned_responses").await;
    let response = post_with(
        &mut admin,
        &format!("{first}/reply"),
        &[("body", PAYLOADS[2]), ("visibility", "internal")],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let seen = seen_of(&text(admin.get(&first).await).await);
    let response = post_with(
        &mut admin,
        &format!("{first}/reply"),
        &[("body", PAYLOADS[4]), ("visibility", "public")],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Every console page, and the requester's.
    let mut pages: Vec<String> = vec![
        "/desk".into(),
        "/desk?view=all".into(),
        "/desk?view=unassigned".into(),
        "/desk/canned".into(),
        "/desk/macros".into(),
        format!("/desk/tickets/{contact_ticket}"),
        format!("{first}?canned={canned_id}"),
    ];
    pages.extend(references.iter().map(|r| format!("/desk/tickets/{r}")));
    for page in &pages {
        let response = admin.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_inert(page, &text(response).await);
    }
    let html = text(admin.get(&first).await).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "escaped, and shown"
    );
    assert!(
        html.contains("&lt;svg&#x2f;onload=alert(1)&gt;")
            || html.contains("&lt;svg/onload=alert(1)&gt;"),
        "{html}"
    );
    let html = text(admin.get(&format!("/desk/tickets/{}", references[6])).await).await;
    assert!(html.contains("{{7*7}}"), "template syntax stays as typed");
    let mut requester = Pages::new(&t).await;
    requester.sign_in(owner, PASSWORD).await;
    let mut requester_pages = vec!["/support/tickets".to_string()];
    requester_pages.extend(references.iter().map(|r| format!("/support/tickets/{r}")));
    for page in &requester_pages {
        let response = requester.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_inert(page, &text(response).await);
    }
    // The internal note (an <svg> payload) stays off the requester's page.
    let html = text(requester.get(&requester_pages[1]).await).await;
    assert!(!html.contains("&lt;svg onload"), "{html}");
    assert!(
        html.contains("&lt;a href="),
        "the public reply is there, as text"
    );
}
both!(xss_payloads_render_as_text);

/// The account panel and the verified actions on the ticket page: the
/// lock shows, actions are refused until the requester reads back the
/// code, and the unlock is recorded on the ticket and in the audit log.
async fn agents_verify_and_unlock_from_the_ticket_page(t: TestApp) {
    let owner = "locked@example.com";
    t.signed_up(owner, PASSWORD).await;
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": "wrong guess 123" }),
        )
        .await;
    }
    let reference = open(
        &t,
        "en",
        json!({ "subject": "locked out", "body": "my account is locked after a new phone", "email": owner }),
    )
    .await;
    let path = format!("/desk/tickets/{reference}");
    let (mut agent, _) = staff_pages(&t, "verifier@example.com", "agent").await;
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("id=\"account-unproved\""), "{html}");
    assert!(
        html.contains("id=\"lock-state\"><span class=\"badge badge-bad\">"),
        "{html}"
    );
    assert!(html.contains("id=\"actions-need-verification\""));
    let unlock = [
        ("action", "unlock"),
        ("reason", "owner locked out after a new phone"),
    ];
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "nothing proved yet"
    );
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        0
    );

    let response = agent.post(&format!("{path}/verifications"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(agent.get(&location(&response)).await).await;
    assert!(html.contains("id=\"verify-check-form\""), "{html}");
    let id = scalar(&t, "SELECT MAX(id) FROM desk_verifications").await;
    let check = format!("{path}/verifications/{id}");
    let code = t.latest_code(owner).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = agent.post(&check, &[("code", wrong)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(response).await.contains("id=\"code-error\""));
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a wrong code proves nothing"
    );
    let response = agent.post(&check, &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = text(agent.get(&path).await).await;
    assert!(html.contains("id=\"verified\""), "{html}");
    assert!(!html.contains("id=\"actions-need-verification\""));
    let response = agent
        .post(
            &format!("{path}/account-actions"),
            &[("action", "remove_device"), ("reason", "lost phone")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "which device?"
    );
    let response = agent
        .post(&format!("{path}/account-actions"), &unlock)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        1
    );
    let html = text(agent.get(&path).await).await;
    for event in [
        "verification_started",
        "verification_passed",
        "account_action",
    ] {
        assert!(
            html.contains(&format!("data-event=\"{event}\"")),
            "{event}: {html}"
        );
    }
    assert!(
        html.contains("id=\"lock-state\"><span class=\"badge badge-ok\">"),
        "{html}"
    );
    // The requester signs in again.
    let (status, _) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
both!(agents_verify_and_unlock_from_the_ticket_page);
