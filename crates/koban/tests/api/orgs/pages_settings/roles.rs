//! `/orgs/{org}/roles`: built-in and custom roles with their permissions
//! in words; creating, changing and deleting custom roles, and every
//! refusal explained.

use super::*;

async fn roles_named(t: &TestApp, org: i64, name: &str) -> i64 {
    t.count(&format!(
        "org_roles WHERE org_id = {org} AND name = '{name}'"
    ))
    .await
}

async fn role_id(t: &TestApp, org: i64, name: &str) -> i64 {
    crate::support::scalar(
        t,
        &format!("SELECT id AS n FROM org_roles WHERE org_id = {org} AND name = '{name}'"),
    )
    .await
}

async fn administrators_write_custom_roles(t: TestApp) {
    let owner = t.signed_up("rp-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Role Pages").await;
    member(&t, &owner, org, "rp-plain@example.com", &["member"]).await;
    let rival = t.signed_up("rp-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    let path = format!("/orgs/{org}/roles");

    let mut pages = pages_of(&t, "rp-owner@example.com").await;
    let response = pages.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    // Built-in roles and their permissions, in words.
    for words in [
        "Security admin",
        "Auditor",
        "Change the security policy",
        "Read the audit log",
    ] {
        assert!(html.contains(words), "{words} in {html}");
    }
    assert!(html.contains("id=\"no-custom-roles\""));
    assert!(html.contains("id=\"create-role\""));
    // Ownership is never offered for a custom role.
    assert!(!html.contains("name=\"permission.organization.own\""));

    // Created with a name and boxes ticked.
    let response = pages
        .post(
            &path,
            &[
                ("name", "Watcher"),
                ("permission.audit.read", "on"),
                ("permission.devices.read", "on"),
            ],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The role is created"), "{html}");
    assert!(html.contains("See members&#x27; devices and onboarding"));
    let watcher = role_id(&t, org, "Watcher").await;
    let block = &html[html
        .find(&format!("id=\"role-custom-{watcher}\""))
        .expect("shown")..];
    assert!(block.contains("data-permission=\"audit.read\""));

    // Refusals, each explained, nothing changed.
    let roles = t.count(&format!("org_roles WHERE org_id = {org}")).await;
    for (form, status, words) in [
        (
            vec![("name", "Watcher"), ("permission.audit.read", "on")],
            StatusCode::CONFLICT,
            "A role with this name already exists",
        ),
        (
            vec![("name", "Owner"), ("permission.audit.read", "on")],
            StatusCode::CONFLICT,
            "A role with this name already exists",
        ),
        (
            vec![("name", "Nothing")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "new-role-permissions-error\">This field is required.",
        ),
        (
            vec![("name", ""), ("permission.audit.read", "on")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "new-role-name-error\">",
        ),
        (
            vec![("name", "Bogus"), ("permission.audit.teleport", "on")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is no such permission.",
        ),
        (
            vec![("name", "Crown"), ("permission.organization.own", "on")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ownership cannot be part of a custom role",
        ),
    ] {
        let response = pages.post(&path, &form).await;
        assert_eq!(response.status(), status, "{form:?}");
        let html = response.text().await.expect("html");
        assert!(html.contains(words), "{form:?}: {html}");
        // What was typed stays.
        assert!(
            html.contains(&format!("value=\"{}\"", form[0].1)),
            "{form:?}"
        );
    }
    assert_eq!(
        t.count(&format!("org_roles WHERE org_id = {org}")).await,
        roles
    );

    // Changed: renamed, a permission added.
    let response = pages
        .post(
            &format!("{path}/{watcher}"),
            &[
                ("name", "Watchers"),
                ("permission.audit.read", "on"),
                ("permission.audit.export", "on"),
            ],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The role is saved"), "{html}");
    assert_eq!(roles_named(&t, org, "Watchers").await, 1);
    assert_eq!(roles_named(&t, org, "Watcher").await, 0);

    // A member holding it: it cannot be deleted.
    let key = format!("custom:{watcher}");
    member(&t, &owner, org, "rp-watcher@example.com", &[&key]).await;
    let response = pages.post(&format!("{path}/{watcher}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.expect("html");
    assert!(html.contains("Members still hold this role"), "{html}");
    assert_eq!(roles_named(&t, org, "Watchers").await, 1);

    // A role keeper cannot give a permission they do not hold.
    let (status, keeper) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/roles"),
            json!({ "name": "Keeper", "permissions": ["roles.manage", "members.read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{keeper}");
    let keeper_key = keeper["key"].as_str().expect("key").to_string();
    member(&t, &owner, org, "rp-keeper@example.com", &[&keeper_key]).await;
    let mut keeper = pages_of(&t, "rp-keeper@example.com").await;
    let html = keeper.get(&path).await.text().await.expect("html");
    assert!(html.contains("you do not hold this"), "{html}");
    let response = keeper
        .post(&path, &[("name", "Spy"), ("permission.audit.read", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("You cannot give a permission you do not hold"),
        "{html}"
    );
    assert!(
        html.contains("id=\"create-role\""),
        "the form is shown again"
    );
    assert_eq!(roles_named(&t, org, "Spy").await, 0);

    // Deleted once nobody holds it.
    let response = pages
        .post(
            &format!("{path}/{}/delete", role_id(&t, org, "Keeper").await),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let spare = role_id(&t, org, "Keeper").await + 1000;
    assert_eq!(
        pages
            .post(&format!("{path}/{spare}/delete"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = pages
        .post(&path, &[("name", "Temp"), ("permission.audit.read", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let temp = role_id(&t, org, "Temp").await;
    let response = pages.post(&format!("{path}/{temp}/delete"), &[]).await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The role is deleted"), "{html}");
    assert_eq!(roles_named(&t, org, "Temp").await, 0);

    // A plain member sees the roles, no forms, and may not write them.
    let mut plain = pages_of(&t, "rp-plain@example.com").await;
    let response = plain.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("Watchers"));
    assert!(
        !html.contains("<form method=\"post\" action=\"/orgs/"),
        "{html}"
    );
    let response = plain
        .post(
            &path,
            &[("name", "Mine"), ("permission.members.read", "on")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("roles.manage"));
    let response = plain.post(&format!("{path}/{watcher}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(roles_named(&t, org, "Mine").await, 0);
    assert_eq!(roles_named(&t, org, "Watchers").await, 1);

    // Another organization is not found.
    let mut other = pages_of(&t, "rp-rival@example.com").await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = other.post(&format!("{path}/{watcher}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(roles_named(&t, org, "Watchers").await, 1);

    visitor_signs_in_first(&t, &path).await;
}
both!(administrators_write_custom_roles);
