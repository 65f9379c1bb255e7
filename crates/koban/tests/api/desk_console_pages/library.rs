//! Canned responses and macros: the API (agents read, admins write), the
//! admin pages, and their use on a ticket in its language.

use super::*;

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
    // Through the API: on another ticket, and a macro that does not exist.
    let other = open(
        &t,
        "en",
        json!({ "subject": "other", "body": "x", "email": "o@example.com" }),
    )
    .await;
    let apply = format!("/api/v1/desk/tickets/{other}/macros/{macro_id}");
    let (status, body) = t.post_as(&agent_token, &apply, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(t.count("desk_tickets WHERE status = 'solved'").await, 2);
    let (status, _) = t
        .post_as(
            &agent_token,
            &format!("/api/v1/desk/tickets/{other}/macros/999999"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let user = t.signed_up("plain@example.com", PASSWORD).await;
    let (status, _) = t.post_as(&user, &apply, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not their ticket");
    let (status, _) = t.get(Some(&user), canned).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
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
