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

mod library;
mod verify;
mod xss;

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
    // A status the ticket cannot take refuses the reply too: nothing is sent.
    let seen = seen_of(&html);
    let response = post_with(
        &mut agent,
        &format!("{path}/reply"),
        &[
            ("body", "closing now"),
            ("visibility", "public"),
            ("status_after", "closed"),
        ],
        &seen,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = text(response).await;
    assert!(page.contains("id=\"status_after-error\""), "{page}");
    assert!(
        page.contains("closing now</textarea>"),
        "the text typed is kept"
    );
    assert_eq!(t.count("desk_messages WHERE body = 'closing now'").await, 0);
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
    // The other agent, seeing the first ticket as it is now, cannot take it over.
    let queue = text(other.get("/desk?view=all").await).await;
    let digits: String = first.chars().filter(char::is_ascii_digit).collect();
    let marker = format!("value=\"{digits}:");
    let start = queue.find(&marker).expect("row") + "value=\"".len();
    let current = queue[start..start + queue[start..].find('"').expect("quote")].to_string();
    let response = other
        .post(
            "/desk/bulk",
            &[("ticket", &current), ("action", "assign_to_me")],
        )
        .await;
    let html = text(response).await;
    assert!(
        html.contains(&format!(
            "data-reference=\"{first}\" data-outcome=\"taken\""
        )),
        "{html}"
    );
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
