//! Groups through the management API of a running `ferry run --dev`: nested groups and the
//! circle refused by name, scripts owned by a group and granted to a user, a path kept for a
//! group, scripts seeing the groups of who signed in, and rate limits counted per user.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::json;

use crate::auth::{client, dev_sign_in, json};
use crate::support::run_app;

const ADMIN_TOKEN: &str = "break-glass-token";

#[tokio::test]
async fn groups_nest_own_scripts_and_keep_paths_and_grants_let_editors_edit() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("site.js"),
        r#"
        register("/internal/groups", () => JSON.stringify(auth.groups));
        register("/mine", () => String(auth.canManageScript("team.js")));
        "#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        app.path(),
        data.path(),
        &[
            "--dev",
            "--admin-token",
            ADMIN_TOKEN,
            "--protect",
            "/internal",
            "--allow-group",
            "staff",
        ],
    );
    let client = client();
    let url = |path: &str| format!("{}{}", ferry.url, path.trim_start_matches('/'));
    let (dee, dee_id) = dev_sign_in(&ferry, "dee", "editor").await;
    let (gus, gus_id) = dev_sign_in(&ferry, "gus", "editor").await;
    let admin = |path: &str, fields: &[(&str, &str)], delete: bool| {
        let request = if delete {
            client.delete(url(path))
        } else {
            client.post(url(path))
        };
        request.bearer_auth(ADMIN_TOKEN).form(fields).send()
    };

    // Administrators make groups and nest them; a circle is refused and named.
    for name in ["staff", "devs"] {
        let made = admin("/engine/groups", &[("name", name)], false)
            .await
            .unwrap();
        assert_eq!(made.status(), StatusCode::CREATED);
    }
    let nested = admin(
        "/engine/group_members",
        &[("group", "staff"), ("member_group", "devs")],
        false,
    )
    .await
    .unwrap();
    assert_eq!(nested.status(), StatusCode::OK);
    let joined = admin(
        "/engine/group_members",
        &[("group", "devs"), ("user_id", &dee_id)],
        false,
    )
    .await
    .unwrap();
    assert_eq!(joined.status(), StatusCode::OK);
    let circle = admin(
        "/engine/group_members",
        &[("group", "devs"), ("member_group", "staff")],
        false,
    )
    .await
    .unwrap();
    assert_eq!(circle.status(), StatusCode::CONFLICT);
    let circle = json(circle).await;
    assert_eq!(circle["cycle"], json!(["devs", "staff", "devs"]));
    assert!(
        circle["error"]
            .as_str()
            .unwrap()
            .contains("devs → staff → devs"),
        "{circle}"
    );
    let unknown = admin(
        "/engine/group_members",
        &[("group", "nope"), ("user_id", &gus_id)],
        false,
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Editors read the groups but do not change them.
    let listed = json(
        client
            .get(url("/engine/groups"))
            .header(COOKIE, &gus)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed[1]["name"], "staff");
    assert_eq!(listed[1]["members"], json!([{ "group": "devs" }]));
    let refused = client
        .post(url("/engine/groups"))
        .header(COOKIE, &gus)
        .form(&[("name", "mine")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // Signed in already, dee belongs to devs and, through it, to staff: the path kept for
    // staff lets her in and not gus; scripts see her groups.
    let status = json(
        client
            .get(url("/auth/status"))
            .header(COOKIE, &dee)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["user"]["groups"], json!(["devs", "staff"]));
    let inside = client
        .get(url("/internal/groups"))
        .header(COOKIE, &dee)
        .send()
        .await
        .unwrap();
    assert_eq!(inside.status(), StatusCode::OK);
    assert_eq!(inside.text().await.unwrap(), r#"["devs","staff"]"#);
    let kept_out = client
        .get(url("/internal/groups"))
        .header(COOKIE, &gus)
        .send()
        .await
        .unwrap();
    assert_eq!(kept_out.status(), StatusCode::FORBIDDEN);

    // A script handed to staff: dee (through devs) owns it; gus, granted it, edits it but
    // neither deletes it nor hands it on.
    let upsert = |credential: Option<&str>, content: &str| {
        let request = client
            .post(url("/engine/upsert_script"))
            .form(&[("uri", "team.js"), ("content", content)]);
        match credential {
            Some(cookie) => request.header(COOKIE, cookie.to_owned()),
            None => request.bearer_auth(ADMIN_TOKEN),
        }
        .send()
    };
    let uploaded = upsert(None, r#"register("/team", () => "v1");"#)
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let mine = |cookie: &str| {
        client
            .get(url("/mine"))
            .header(COOKIE, cookie.to_owned())
            .send()
    };
    assert_eq!(mine(&dee).await.unwrap().text().await.unwrap(), "false");
    let handed = admin(
        "/engine/script_owners",
        &[("uri", "team.js"), ("group", "staff")],
        false,
    )
    .await
    .unwrap();
    assert_eq!(handed.status(), StatusCode::OK);
    assert_eq!(mine(&dee).await.unwrap().text().await.unwrap(), "true");
    let edited = upsert(Some(&dee), r#"register("/team", () => "v2");"#)
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(
        upsert(Some(&gus), r#"register("/team", () => "v3");"#)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let granted = client
        .post(url("/engine/script_grants"))
        .header(COOKIE, &dee)
        .form(&[("uri", "team.js"), ("user_id", gus_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::OK);
    assert_eq!(
        upsert(Some(&gus), r#"register("/team", () => "v3");"#)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(url("/team"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "v3"
    );
    let grants = json(
        client
            .get(url("/engine/script_grants?uri=team.js"))
            .header(COOKIE, &gus)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(grants["users"], json!([gus_id]));
    let owners = json(
        client
            .get(url("/engine/script_owners?uri=team.js"))
            .header(COOKIE, &gus)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(owners["groups"], json!(["staff"]));
    for (path, fields) in [
        ("/engine/delete_script", vec![("uri", "team.js")]),
        (
            "/engine/script_owners",
            vec![("uri", "team.js"), ("user_id", gus_id.as_str())],
        ),
    ] {
        let refused = client
            .post(url(path))
            .header(COOKIE, &gus)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let deleted = client
        .post(url("/engine/delete_script"))
        .header(COOKIE, &dee)
        .form(&[("uri", "team.js")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);

    // Leaving the group takes the path away at once.
    let left = admin(
        "/engine/group_members",
        &[("group", "devs"), ("user_id", &dee_id)],
        true,
    )
    .await
    .unwrap();
    assert_eq!(left.status(), StatusCode::OK);
    let now_out = client
        .get(url("/internal/groups"))
        .header(COOKIE, &dee)
        .send()
        .await
        .unwrap();
    assert_eq!(now_out.status(), StatusCode::FORBIDDEN);

    let log = ferry
        .stderr_until(std::time::Duration::from_secs(5), |line| {
            line.contains("removed a member from devs")
        })
        .join("\n");
    assert!(
        log.contains("delete team.js: denied (a grant lets an editor change and read the script"),
        "{log}"
    );
    assert!(
        log.contains("upsert team.js: allowed (member of an owning group)"),
        "{log}"
    );
}

/// With a rate limit, a signed-in user's requests count under the user, wherever they come
/// from; anonymous ones under the address.
#[tokio::test]
async fn rate_limits_count_signed_in_users_apart_from_their_address() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("site.js"),
        r#"register("/", () => "home");"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(app.path(), data.path(), &["--dev", "--rate-limit", "4/min"]);
    let client = client();
    // Each sign-in is one anonymous POST (the address: 2 of 4 used), then one request as
    // the user (/auth/status).
    let (ann, _) = dev_sign_in(&ferry, "ann", "authenticated").await;
    let (bob, _) = dev_sign_in(&ferry, "bob", "authenticated").await;
    let home = |cookie: Option<&str>| {
        let request = client.get(ferry.url.clone());
        match cookie {
            Some(cookie) => request.header(COOKIE, cookie.to_owned()),
            None => request,
        }
        .send()
    };
    for _ in 0..3 {
        assert_eq!(home(Some(&ann)).await.unwrap().status(), StatusCode::OK);
    }
    let spent = home(Some(&ann)).await.unwrap();
    assert_eq!(spent.status(), StatusCode::TOO_MANY_REQUESTS);
    // bob has his own allowance, and so has the address for anonymous requests.
    let bobs = home(Some(&bob)).await.unwrap();
    assert_eq!(bobs.status(), StatusCode::OK);
    assert_eq!(bobs.headers()["ratelimit-remaining"], "2");
    for _ in 0..2 {
        assert_eq!(home(None).await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(
        home(None).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
