//! The member directory's search through its indexes (migration 0034):
//! three characters or more anywhere in a name, email or phone, fewer at
//! their start; the indexes follow changes of names and contacts; a search
//! that matches too many for the indexes to help still pages in order.

use super::*;
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;

/// Adds an account with `email` (and `phone`).
async fn add_account(t: &TestApp, email: &str, phone: Option<&str>) {
    let phone = phone.map_or("NULL".to_string(), |p| format!("'{p}'"));
    t.exec(&format!(
        "INSERT INTO accounts (email, phone, email_verified_at, password_hash, password_changed_at, status, created_at)
         VALUES ('{email}', {phone}, 1, 'x', 1, 'active', 1)"
    ))
    .await;
}

/// Adds an account with `email` (and `phone`) as a member named `name`.
async fn add_member(t: &TestApp, org: i64, email: &str, phone: Option<&str>, name: &str) {
    add_account(t, email, phone).await;
    t.exec(&format!(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, joined_at, updated_at)
         SELECT {org}, id, '{name}', 'active', 'member', 1, 1 FROM accounts WHERE email = '{email}'"
    ))
    .await;
}

/// The emails the directory lists for `search`, in its order.
async fn found(t: &TestApp, owner: &str, org: i64, search: &str) -> Vec<String> {
    let (status, body) = t
        .send(
            t.http
                .get(t.url(&format!("/api/v1/orgs/{org}/members")))
                .query(&[("search", search), ("limit", "100")])
                .bearer_auth(owner),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{search}: {body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn searches_find_anywhere_from_three_characters_and_starts_below(t: TestApp) {
    let owner = t.signed_up("search-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Search Co").await;
    add_member(
        &t,
        org,
        "hanako.tanaka@example.com",
        Some("+819012345678"),
        "田中 花子",
    )
    .await;
    add_member(&t, org, "ken@corp.example", None, "Ken YAMADA").await;
    add_member(&t, org, "ryo@example.com", None, "山田中 涼").await;
    // Matches most searches below but belongs to no organization.
    add_account(&t, "tanaka-ken-yamada@example.com", Some("+819087654321")).await;

    let hanako = "hanako.tanaka@example.com".to_string();
    let ken = "ken@corp.example".to_string();
    let ryo = "ryo@example.com".to_string();
    for (search, expected) in [
        ("anak", vec![hanako.clone()]),
        ("yamada", vec![ken.clone()]),
        ("YaMaDa", vec![ken.clone()]),
        ("2345", vec![hanako.clone()]),
        ("田中 花", vec![hanako.clone()]),
        ("田中", vec![hanako.clone()]),
        ("山田中", vec![ryo.clone()]),
        ("ke", vec![ken.clone()]),
        ("+8", vec![hanako.clone()]),
        ("ya", vec![]),
        ("涼", vec![]),
        ("山", vec![ryo.clone()]),
        ("%", vec![]),
        ("a_a", vec![]),
        ("\"", vec![]),
        ("an\"ak", vec![]),
    ] {
        assert_eq!(found(&t, &owner, org, search).await, expected, "{search}");
    }
    assert_eq!(
        found(&t, &owner, org, "example.com").await,
        vec![
            ryo.clone(),
            hanako.clone(),
            "search-owner@example.com".to_string()
        ],
        "newest first"
    );

    // The indexes follow a changed address, phone and name, and a removal.
    t.exec("UPDATE accounts SET email = 'ken.new@corp.example', phone = '+66812345678' WHERE email = 'ken@corp.example'")
        .await;
    t.exec("UPDATE org_members SET display_name = 'Kenji Mori' WHERE display_name = 'Ken YAMADA'")
        .await;
    let ken = "ken.new@corp.example".to_string();
    assert_eq!(found(&t, &owner, org, "new@corp").await, vec![ken.clone()]);
    assert_eq!(
        found(&t, &owner, org, "ken@corp").await,
        Vec::<String>::new()
    );
    assert_eq!(found(&t, &owner, org, "yamada").await, Vec::<String>::new());
    assert_eq!(found(&t, &owner, org, "nji mo").await, vec![ken.clone()]);
    assert_eq!(found(&t, &owner, org, "+66").await, vec![ken.clone()]);
    assert_eq!(found(&t, &owner, org, "6681").await, vec![ken.clone()]);
    t.exec("DELETE FROM org_members WHERE display_name = '山田中 涼'")
        .await;
    assert_eq!(found(&t, &owner, org, "山田中").await, Vec::<String>::new());
}
both!(searches_find_anywhere_from_three_characters_and_starts_below);

async fn large_directories_page_in_order_and_find_the_rare_below_the_newest(t: TestApp) {
    let owner = t.signed_up("bulk-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Bulk Co").await;
    // More members than a search reads directly (the newest 2,000) and more
    // matches than the indexes hand over (1,000); the two oldest are named
    // Onizuka, so a search for them is answered from below the newest.
    t.exec(
        "INSERT INTO accounts (email, email_verified_at, password_hash, password_changed_at, status, created_at)
         SELECT 'sato-' || n || '@bulk.example', 1, 'x', 1, 'active', 1
         FROM (WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2600)
               SELECT n FROM seq) AS s",
    )
    .await;
    t.exec(&format!(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, joined_at, updated_at)
         SELECT {org}, id, CASE WHEN email IN ('sato-1@bulk.example', 'sato-2@bulk.example')
                                THEN 'Onizuka' ELSE 'Sato' END, 'active', 'member', 1, 1
         FROM accounts WHERE email LIKE '%@bulk.example'"
    ))
    .await;
    let ids = scalar(
        &t,
        "SELECT COUNT(*) FROM accounts WHERE email LIKE 'sato-%@bulk.example'",
    )
    .await;
    assert_eq!(ids, 2600);

    for (search, expected) in [
        ("sato", 2600),
        ("sa", 2600),
        ("bulk.example", 2600),
        ("onizuka", 2),
        ("on", 2),
    ] {
        let mut seen: Vec<i64> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("search", search.to_string()), ("limit", "100".into())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let (status, body) = t
                .send(
                    t.http
                        .get(t.url(&format!("/api/v1/orgs/{org}/members")))
                        .query(&query)
                        .bearer_auth(&owner),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            seen.extend(
                body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .map(|m| m["account_id"].as_i64().expect("id")),
            );
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected, "{search}");
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "{search}: in order");
    }
    assert_eq!(
        found(&t, &owner, org, "Onizuka").await,
        vec![
            "sato-2@bulk.example".to_string(),
            "sato-1@bulk.example".to_string()
        ]
    );
    assert_eq!(
        found(&t, &owner, org, "sato-1@").await,
        vec!["sato-1@bulk.example".to_string()]
    );
    assert_eq!(
        found(&t, &owner, org, "sato-2599@").await,
        vec!["sato-2599@bulk.example".to_string()]
    );
}
both!(large_directories_page_in_order_and_find_the_rare_below_the_newest);
