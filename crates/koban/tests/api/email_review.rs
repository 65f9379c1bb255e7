//! Mails no rule could place, listed for agents and placed by them:
//! onto a ticket, as a ticket of their own, or nowhere; first come, first
//! served; every refusal.

use crate::support::{eventually, TestApp};
use koban::channels::email::inbound::{accept, Accepted, Envelope};
use reqwest::StatusCode;
use serde_json::{json, Value};

const DESK: &str = "support@desk.example";

fn configure(c: &mut koban::config::Config) {
    c.email_addresses = DESK.into();
    c.email_unknown_sender = "review".into();
    c.email_sender_limit_per_hour = 1;
}

fn mail(from: &str, subject: &str, message_id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\nplease help\r\n"
    )
    .into_bytes()
}

/// Hands `raw` to the channel; its id once ingested.
async fn deliver(t: &TestApp, raw: &[u8]) -> i64 {
    let envelope = Envelope {
        source: "smtp".into(),
        mail_from: String::new(),
        recipients: vec![DESK.into()],
    };
    let Accepted::Stored(id) = accept(&t.app, &envelope, raw).await.expect("accept") else {
        panic!("duplicate");
    };
    eventually("ingest", || async {
        let n = crate::support::scalar(
            t,
            &format!("SELECT COUNT(*) FROM email_inbound WHERE id = {id} AND status <> 'received'"),
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    id
}

fn place(id: i64) -> String {
    format!("/api/v1/desk/mail/{id}/place")
}

fn find(list: &Value, id: i64) -> Option<Value> {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["id"] == id).cloned())
}

async fn agents_place_what_the_rules_could_not(t: TestApp) {
    let agent = t.staff("agent@example.com", "agent").await;
    let other_agent = t.staff("agent2@example.com", "agent").await;
    let user = t
        .signed_up("user@example.com", "correct horse battery")
        .await;
    let first = deliver(
        &t,
        &mail("owner@example.com", "locked out", "o1@example.com", ""),
    )
    .await;
    let stranger = deliver(
        &t,
        &mail(
            "helper@example.com",
            "Re: locked out",
            "h1@example.com",
            "In-Reply-To: <o1@example.com>\r\n",
        ),
    )
    .await;
    let held = deliver(
        &t,
        &mail("owner@example.com", "another thing", "o2@example.com", ""),
    )
    .await;
    let auto = deliver(
        &t,
        &mail(
            "boss@example.com",
            "Away",
            "a1@example.com",
            "Auto-Submitted: auto-replied\r\n",
        ),
    )
    .await;
    let unreadable = deliver(&t, b"").await;

    // Only staff read the list; by default what waits: review, held, unreadable.
    let (status, _) = t.get(Some(&user), "/api/v1/desk/mail").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.get(None, "/api/v1/desk/mail").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, waiting) = t.get(Some(&agent), "/api/v1/desk/mail").await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    let ids: Vec<i64> = waiting["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![unreadable, held, stranger],
        "newest first, only what waits"
    );
    let shown = find(&waiting, stranger).expect("stranger's mail listed");
    assert_eq!(shown["status"], "review");
    assert_eq!(shown["sender"], "helper@example.com");
    assert_eq!(shown["clue"], "in_reply_to");
    let (_, opened) = t.get(Some(&agent), "/api/v1/desk/mail?status=opened").await;
    assert_eq!(
        opened["type"], "/problems/validation",
        "no such filter: {opened}"
    );
    let (_, all) = t.get(Some(&agent), "/api/v1/desk/mail?status=all").await;
    let owner_ticket = find(&all, first).expect("first mail")["ticket"]
        .as_str()
        .expect("on a ticket")
        .to_string();
    assert_eq!(shown["related"], owner_ticket.as_str());

    // The agent knows the helper: onto the owner's ticket.
    let (status, body) = t
        .post_as(
            &agent,
            &place(stranger),
            json!({ "action": "join", "ticket": owner_ticket }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["ticket"].as_str()),
        (Some("joined"), Some(owner_ticket.as_str()))
    );
    // A second agent a moment later: placed already, nothing changes.
    let (status, body) = t
        .post_as(&other_agent, &place(stranger), json!({ "action": "open" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["type"], "/problems/mail-placed");
    let (_, ticket) = t
        .get(
            Some(&agent),
            &format!("/api/v1/desk/tickets/{owner_ticket}"),
        )
        .await;
    let kinds: Vec<&str> = ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"email_placed"), "{kinds:?}");
    assert_eq!(ticket["messages"].as_array().expect("messages").len(), 2);

    // Held over the sender's limit: the agent opens it as a ticket.
    let (status, body) = t
        .post_as(&agent, &place(held), json!({ "action": "open" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "opened");
    assert_ne!(body["ticket"], owner_ticket.as_str());
    // An automatic reply is discarded.
    let (status, body) = t
        .post_as(&agent, &place(auto), json!({ "action": "discard" }))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("discarded"))
    );

    // Bad requests change nothing.
    let tickets = t.count("desk_tickets").await;
    let refusals = [
        (
            place(unreadable),
            json!({ "action": "open" }),
            StatusCode::CONFLICT,
        ),
        (
            place(unreadable),
            json!({ "action": "join" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            place(unreadable),
            json!({ "action": "discard", "ticket": owner_ticket }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            place(unreadable),
            json!({ "action": "join", "ticket": "12345678901" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            place(unreadable),
            json!({ "action": "burn" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            place(999_999),
            json!({ "action": "discard" }),
            StatusCode::NOT_FOUND,
        ),
        (
            place(auto),
            json!({ "action": "open" }),
            StatusCode::CONFLICT,
        ),
    ];
    for (path, body, want) in refusals {
        let (status, answer) = t.post_as(&agent, &path, body.clone()).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
    }
    assert_eq!(t.count("desk_tickets").await, tickets);
    // An unreadable mail can only be discarded.
    let (status, body) = t
        .post_as(&agent, &place(unreadable), json!({ "action": "discard" }))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("discarded"))
    );
    let (_, waiting) = t.get(Some(&agent), "/api/v1/desk/mail").await;
    assert_eq!(
        waiting["items"].as_array().expect("items").len(),
        0,
        "{waiting}"
    );
}
both!(agents_place_what_the_rules_could_not, super::configure);

async fn agents_place_mail_from_the_console_page(t: TestApp) {
    use crate::security_pages::{location, Pages};
    t.staff("page-agent@example.com", "agent").await;
    t.signed_up("page-user@example.com", "correct horse battery")
        .await;
    let first = deliver(
        &t,
        &mail("owner@example.com", "locked out", "p1@example.com", ""),
    )
    .await;
    let stranger = deliver(
        &t,
        &mail(
            "helper@example.com",
            "Re: locked out",
            "p2@example.com",
            "In-Reply-To: <p1@example.com>\r\n",
        ),
    )
    .await;
    let mut p = Pages::new(&t).await;
    p.sign_in("page-agent@example.com", "staff password 1")
        .await;
    let html = p.get("/desk/mail").await.text().await.expect("html");
    assert!(html.contains(&format!("id=\"mail-{stranger}\"")), "{html}");
    assert!(
        !html.contains(&format!("id=\"mail-{first}\"")),
        "an opened mail does not wait"
    );
    assert!(html.contains("helper@example.com"));
    // Join without a number: told what is missing, nothing changes.
    let response = p
        .post(&place_page(stranger), &[("action", "join"), ("ticket", "")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("id=\"mail-refusal\""));
    // Open it as a ticket of its own: back to the list, where it no longer waits.
    let response = p.post(&place_page(stranger), &[("action", "open")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/desk/mail");
    let html = p.get("/desk/mail").await.text().await.expect("html");
    assert!(html.contains("id=\"mail-empty\""), "{html}");
    // A user who is not an agent does not see the page.
    let mut other = Pages::new(&t).await;
    other
        .sign_in("page-user@example.com", "correct horse battery")
        .await;
    assert_eq!(
        other.get("/desk/mail").await.status(),
        StatusCode::NOT_FOUND
    );
}
both!(agents_place_mail_from_the_console_page, super::configure);

fn place_page(id: i64) -> String {
    format!("/desk/mail/{id}/place")
}
