//! Bad input: a clear 422 naming the parameter, or (for text that only
//! looks like syntax) an ordinary search.

use super::{open, q, search, until, urlencode, PASSWORD};
use crate::support::TestApp;
use reqwest::StatusCode;

async fn bad_input_is_refused_by_name_and_syntax_is_text(t: TestApp) {
    let agent = t.staff("agent3@example.com", "agent").await;
    let mei = t.signed_up("mei3@example.com", PASSWORD).await;
    let reference = open(
        &t,
        &mei,
        "Cannot sign in (again)",
        "title:admin OR \"unbalanced AND -x +y*",
    )
    .await;
    until(&t, Some(&agent), &q("sign"), |b| {
        super::refs(b).contains(&reference)
    })
    .await;
    let long = "密".repeat(257);
    for (query, field) in [
        ("q=".to_string(), "q"),
        (q("   "), "q"),
        (q(&long), "q"),
        (String::new(), "q"),
        (format!("{}&status=sleeping", q("x")), "status"),
        (format!("{}&category=nonsense", q("x")), "category"),
        (format!("{}&team=no-such-team", q("x")), "team"),
        (format!("{}&kind=user", q("x")), "kind"),
        (format!("{}&assignee=abc", q("x")), "assignee"),
        (format!("{}&cursor=bm9wZQ", q("x")), "cursor"),
        (format!("{}&cursor=%%%", q("x")), "cursor"),
        (format!("{}&page=0", q("x")), "page"),
        (format!("{}&page=2&cursor=bzoy", q("x")), "page"),
        (format!("{}&limit=51", q("x")), "limit"),
        (format!("{}&from=yesterday", q("x")), "from"),
        (format!("{}&from=2026-02-01&to=2026-01-01", q("x")), "to"),
        (format!("{}&sort=score", q("x")), "sort"),
    ] {
        let (status, body) = search(&t, Some(&agent), &query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    // Exactly the longest query is fine.
    let (status, _) = search(&t, Some(&agent), &q(&"密".repeat(256))).await;
    assert_eq!(status, StatusCode::OK);
    // Operators, quotes left open and every script mixed are text.
    for text in [
        "title:admin",
        "\"unbalanced",
        "sign AND in",
        "-x +y*",
        "sign (again",
        "\\\"",
        "*",
        "ログイン 登录 ล็อกอิน sign",
        "+ - && || ! ( ) { } [ ] ^ \" ~ * ? : \\ /",
    ] {
        let (status, body) = search(&t, Some(&agent), &format!("q={}", urlencode(text))).await;
        assert_eq!(status, StatusCode::OK, "{text}: {body}");
    }
    // `title:admin` finds the ticket that says so, not a field search.
    let (_, body) = search(&t, Some(&agent), &q("\"title:admin\"")).await;
    assert_eq!(super::refs(&body), vec![reference.clone()]);
    let (_, body) = search(&t, Some(&agent), &q("unbalanced AND")).await;
    assert!(super::refs(&body).contains(&reference), "{body}");
}
both!(bad_input_is_refused_by_name_and_syntax_is_text);
