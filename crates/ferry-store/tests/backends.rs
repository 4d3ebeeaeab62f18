//! One suite for both back ends: every behaviour of the store traits is checked on the
//! embedded SQLite database and on a real PostgreSQL server (a throwaway cluster of the
//! suite's own, each test in a fresh database of it).

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use ferry_store::testing::PostgresCluster;
use ferry_store::{
    AccessLevel, AccountClaims, AssetStore, AuthorizationCode, Groups, IdentityStore, JobQueue,
    JobRecord, Joined, KeyValue, Member, NewAsset, OAuthClient, OAuthStore, OAuthToken,
    OAuthTokenKind, PendingSignIn, PersonalKeyValue, PostgresOptions, Refresh, ScriptAccess,
    ScriptAccessRecord, ScriptRepository, SecretKey, SecretStore, Store, StoreConnection,
    TokenRecord,
};

/// A fresh, empty store of one back end, and how to open it again.
struct Backend {
    store: Store,
    reopen: Box<dyn Fn() -> Store>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let store = Store::sqlite(&path).unwrap();
        Backend {
            store,
            reopen: Box::new(move || Store::sqlite(&path).unwrap()),
            _dir: Some(dir),
        }
    }

    fn postgres() -> Backend {
        let options = PostgresOptions::new(PostgresCluster::shared().create_database());
        let store = Store::postgres(&options).unwrap();
        Backend {
            store,
            reopen: Box::new(move || Store::postgres(&options).unwrap()),
            _dir: None,
        }
    }

    fn connect(&self) -> StoreConnection {
        self.store.connect().unwrap()
    }

    fn reopen(&self) -> Store {
        (self.reopen)()
    }
}

/// Each behaviour, as a test on each back end.
macro_rules! on_both_back_ends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::postgres());
            })*
        }
    };
}

on_both_back_ends!(
    items_are_scoped_per_script,
    personal_items_are_kept_per_script_and_user_apart_from_shared_ones,
    set_replaces_and_remove_reports_presence,
    data_survives_reopening_and_is_shared_between_connections,
    scripts_round_trip_in_name_order,
    a_second_sign_in_updates_the_user_and_keeps_id_and_role,
    sessions_beyond_the_cap_are_evicted_oldest_first,
    tokens_are_found_by_digest_listed_per_user_and_revoked_by_their_owner,
    a_pending_sign_in_can_be_taken_once_and_old_ones_are_forgotten,
    a_user_belongs_to_the_groups_that_contain_their_groups,
    circles_and_unknown_groups_are_refused_and_named,
    deleting_a_group_removes_its_memberships_and_scripts,
    scripts_are_handed_to_owners_and_grantees_in_order,
    clients_round_trip_with_their_redirect_uris,
    a_code_is_taken_once_and_old_ones_are_forgotten,
    access_tokens_are_found_with_their_user_and_refresh_tokens_taken_once,
    secrets_are_kept_sealed_per_script,
    assets_round_trip_per_script_with_their_digest,
    asset_batches_are_stored_together_and_edits_check_the_digest,
    due_jobs_are_claimed_once_in_order_and_finished_by_their_holder,
    a_claim_that_runs_out_is_taken_over_and_the_late_finish_changes_nothing,
    nodes_claiming_at_once_never_share_a_job,
);

fn alice() -> AccountClaims<'static> {
    AccountClaims {
        provider: "test",
        subject: "alice",
        email: Some("alice@example.com"),
        email_verified: true,
        name: Some("Alice"),
    }
}

fn user(id: &str) -> Member {
    Member::User(id.into())
}

fn group(name: &str) -> Member {
    Member::Group(name.into())
}

/// A connection to `backend` with one user, `u-ann`.
fn with_ann(backend: &Backend) -> StoreConnection {
    let mut connection = backend.connect();
    let account = AccountClaims {
        provider: "dev",
        subject: "ann",
        email: None,
        email_verified: false,
        name: Some("Ann"),
    };
    connection
        .record_sign_in(&account, "u-ann", "authenticated", 1)
        .unwrap();
    connection
}

fn token(kind: OAuthTokenKind, expires: i64) -> OAuthToken {
    OAuthToken {
        kind,
        client_id: "c".into(),
        user_id: "u-ann".into(),
        resource: "http://127.0.0.1/mcp".into(),
        scope: "mcp".into(),
        family: "f1".into(),
        created: 100,
        expires,
    }
}

fn items_are_scoped_per_script(backend: Backend) {
    let mut connection = backend.connect();
    connection.set_item("a.js", "k", "from a").unwrap();
    connection.set_item("b.js", "k", "from b").unwrap();
    assert_eq!(
        connection.get_item("a.js", "k").unwrap().as_deref(),
        Some("from a")
    );
    assert_eq!(
        connection.get_item("b.js", "k").unwrap().as_deref(),
        Some("from b")
    );
    assert_eq!(connection.clear("a.js").unwrap(), 1);
    assert_eq!(connection.get_item("a.js", "k").unwrap(), None);
    assert_eq!(
        connection.get_item("b.js", "k").unwrap().as_deref(),
        Some("from b")
    );
}

fn personal_items_are_kept_per_script_and_user_apart_from_shared_ones(backend: Backend) {
    let mut connection = backend.connect();
    connection.set_item("a.js", "k", "shared").unwrap();
    connection
        .personal_set("a.js", "ann", "k", "ann's")
        .unwrap();
    connection
        .personal_set("a.js", "bob", "k", "bob's")
        .unwrap();
    connection
        .personal_set("b.js", "ann", "k", "other script")
        .unwrap();
    assert_eq!(
        connection
            .personal_get("a.js", "ann", "k")
            .unwrap()
            .as_deref(),
        Some("ann's")
    );
    assert_eq!(
        connection.get_item("a.js", "k").unwrap().as_deref(),
        Some("shared")
    );
    assert_eq!(connection.personal_clear("a.js", "ann").unwrap(), 1);
    assert_eq!(connection.personal_get("a.js", "ann", "k").unwrap(), None);
    assert!(connection.personal_remove("a.js", "bob", "k").unwrap());
    assert!(!connection.personal_remove("a.js", "bob", "k").unwrap());
    assert_eq!(
        connection
            .personal_get("b.js", "ann", "k")
            .unwrap()
            .as_deref(),
        Some("other script")
    );
}

fn set_replaces_and_remove_reports_presence(backend: Backend) {
    let mut connection = backend.connect();
    connection.set_item("s", "k", "1").unwrap();
    connection.set_item("s", "k", "2").unwrap();
    assert_eq!(connection.get_item("s", "k").unwrap().as_deref(), Some("2"));
    assert!(connection.remove_item("s", "k").unwrap());
    assert!(!connection.remove_item("s", "k").unwrap());
}

fn data_survives_reopening_and_is_shared_between_connections(backend: Backend) {
    backend.connect().set_item("s", "k", "kept").unwrap();
    let other = backend.connect().get_item("s", "k").unwrap();
    assert_eq!(other.as_deref(), Some("kept"));
    let reopened = backend.reopen();
    let value = reopened.connect().unwrap().get_item("s", "k").unwrap();
    assert_eq!(value.as_deref(), Some("kept"));
}

fn scripts_round_trip_in_name_order(backend: Backend) {
    let mut connection = backend.connect();
    connection.upsert_script("b.js", "two").unwrap();
    connection.upsert_script("a.js", "one").unwrap();
    connection.upsert_script("b.js", "two, again").unwrap();
    let names: Vec<String> = connection
        .list_scripts()
        .unwrap()
        .into_iter()
        .map(|script| script.uri)
        .collect();
    assert_eq!(names, ["a.js", "b.js"]);
    let b = connection.read_script("b.js").unwrap().unwrap();
    assert_eq!(b.content, "two, again");
    assert!(connection.delete_script("a.js").unwrap());
    assert!(connection.read_script("a.js").unwrap().is_none());
}

fn a_second_sign_in_updates_the_user_and_keeps_id_and_role(backend: Backend) {
    let mut store = backend.connect();
    let first = store
        .record_sign_in(&alice(), "u1", "authenticated", 10)
        .unwrap();
    assert_eq!(first.id, "u1");
    assert!(store.set_role("u1", "editor").unwrap());
    let renamed = AccountClaims {
        name: Some("Alice A."),
        ..alice()
    };
    let second = store
        .record_sign_in(&renamed, "u2", "authenticated", 20)
        .unwrap();
    assert_eq!(second.id, "u1");
    assert_eq!(second.role, "editor");
    assert_eq!(second.name.as_deref(), Some("Alice A."));
    assert_eq!((second.created, second.last_sign_in), (10, 20));
    assert_eq!(store.users().unwrap().len(), 1);
}

fn sessions_beyond_the_cap_are_evicted_oldest_first(backend: Backend) {
    let mut store = backend.connect();
    store
        .record_sign_in(&alice(), "u1", "authenticated", 0)
        .unwrap();
    for (index, hash) in [b"a", b"b", b"c"].iter().enumerate() {
        let evicted = store.create_session(*hash, "u1", index as i64, 2).unwrap();
        if index == 2 {
            assert_eq!(evicted, vec![b"a".to_vec()]);
        } else {
            assert!(evicted.is_empty());
        }
    }
    assert!(store.session(b"a").unwrap().is_none());
    let (session, user) = store.session(b"c").unwrap().unwrap();
    assert_eq!(
        (session.created, user.email.as_deref()),
        (2, Some("alice@example.com"))
    );
    store.touch_session(b"c", 50).unwrap();
    assert_eq!(store.session(b"c").unwrap().unwrap().0.last_seen, 50);
    assert!(store.delete_session(b"c").unwrap());
    assert!(!store.delete_session(b"c").unwrap());
    assert_eq!(store.prune_sessions(100, 0).unwrap(), 1);
}

fn tokens_are_found_by_digest_listed_per_user_and_revoked_by_their_owner(backend: Backend) {
    let mut store = backend.connect();
    store.record_sign_in(&alice(), "u1", "editor", 0).unwrap();
    let token = TokenRecord {
        id: "t1".into(),
        user_id: "u1".into(),
        name: "deploy".into(),
        created: 5,
        expires: Some(100),
    };
    store.create_token(b"hash-1", &token).unwrap();
    let (found, user) = store.token(b"hash-1").unwrap().unwrap();
    assert_eq!((found, user.role.as_str()), (token.clone(), "editor"));
    assert!(store.token(b"other").unwrap().is_none());
    assert_eq!(store.tokens("u1").unwrap(), [token]);
    assert_eq!(store.revoke_token("u2", "t1").unwrap(), None, "not theirs");
    assert_eq!(
        store.revoke_token("u1", "t1").unwrap(),
        Some(b"hash-1".to_vec())
    );
    assert!(store.token(b"hash-1").unwrap().is_none());
}

fn a_pending_sign_in_can_be_taken_once_and_old_ones_are_forgotten(backend: Backend) {
    let mut store = backend.connect();
    let pending = |state: &str, created| PendingSignIn {
        state: state.into(),
        provider: "test".into(),
        nonce: "n".into(),
        verifier: "v".into(),
        callback: "http://127.0.0.1/auth/callback/test".into(),
        redirect: "/".into(),
        created,
    };
    store.save_pending(&pending("old", 1), 0).unwrap();
    store.save_pending(&pending("new", 100), 50).unwrap();
    assert!(store.take_pending("old").unwrap().is_none());
    assert_eq!(
        store.take_pending("new").unwrap(),
        Some(pending("new", 100))
    );
    assert!(store.take_pending("new").unwrap().is_none());
}

fn a_user_belongs_to_the_groups_that_contain_their_groups(backend: Backend) {
    let mut store = backend.connect();
    for name in ["staff", "devs", "ops", "other"] {
        assert!(store.create_group(name, 1).unwrap());
    }
    assert!(!store.create_group("staff", 2).unwrap());
    assert!(store.has_group("staff").unwrap());
    assert!(!store.has_group("nope").unwrap());
    assert_eq!(
        store.join_group("devs", &user("ann")).unwrap(),
        Joined::Added
    );
    assert_eq!(
        store.join_group("devs", &user("ann")).unwrap(),
        Joined::AlreadyMember
    );
    assert_eq!(
        store.join_group("staff", &group("devs")).unwrap(),
        Joined::Added
    );
    assert_eq!(
        store.join_group("ops", &user("bob")).unwrap(),
        Joined::Added
    );
    assert_eq!(store.user_groups("ann").unwrap(), ["devs", "staff"]);
    assert_eq!(store.user_groups("bob").unwrap(), ["ops"]);
    assert!(store.user_groups("carol").unwrap().is_empty());

    let listed = store.groups().unwrap();
    let staff = listed.iter().find(|g| g.name == "staff").unwrap();
    assert_eq!(staff.members, [group("devs")]);

    assert!(store.leave_group("staff", &group("devs")).unwrap());
    assert_eq!(store.user_groups("ann").unwrap(), ["devs"]);
}

fn circles_and_unknown_groups_are_refused_and_named(backend: Backend) {
    let mut store = backend.connect();
    for name in ["a", "b", "c"] {
        store.create_group(name, 1).unwrap();
    }
    store.join_group("a", &group("b")).unwrap();
    store.join_group("b", &group("c")).unwrap();
    assert_eq!(
        store.join_group("c", &group("a")).unwrap(),
        Joined::Cycle(vec!["c".into(), "a".into(), "b".into(), "c".into()])
    );
    assert_eq!(
        store.join_group("a", &group("a")).unwrap(),
        Joined::Cycle(vec!["a".into(), "a".into()])
    );
    assert_eq!(
        store.join_group("a", &group("nope")).unwrap(),
        Joined::NoSuchGroup("nope".into())
    );
    assert_eq!(
        store.join_group("nope", &user("ann")).unwrap(),
        Joined::NoSuchGroup("nope".into())
    );
}

fn deleting_a_group_removes_its_memberships_and_scripts(backend: Backend) {
    let mut store = backend.connect();
    store.create_group("staff", 1).unwrap();
    store.create_group("devs", 1).unwrap();
    store.join_group("staff", &group("devs")).unwrap();
    store.join_group("devs", &user("ann")).unwrap();
    store
        .hand_script("app.js", AccessLevel::Owner, &group("devs"))
        .unwrap();
    assert!(store.delete_group("devs").unwrap());
    assert!(!store.delete_group("devs").unwrap());
    assert!(store.user_groups("ann").unwrap().is_empty());
    assert!(store.groups().unwrap()[0].members.is_empty());
    assert_eq!(
        store.script_access("app.js").unwrap(),
        ScriptAccessRecord::default()
    );
}

fn scripts_are_handed_to_owners_and_grantees_in_order(backend: Backend) {
    let mut store = backend.connect();
    assert!(
        store
            .hand_script("a.js", AccessLevel::Owner, &user("ann"))
            .unwrap()
    );
    assert!(
        !store
            .hand_script("a.js", AccessLevel::Owner, &user("ann"))
            .unwrap()
    );
    store
        .hand_script("a.js", AccessLevel::Owner, &group("devs"))
        .unwrap();
    store
        .hand_script("a.js", AccessLevel::Grant, &user("bob"))
        .unwrap();
    store
        .hand_script("b.js", AccessLevel::Owner, &user("bob"))
        .unwrap();
    let access = store.script_access("a.js").unwrap();
    assert_eq!(access.owners, [user("ann"), group("devs")]);
    assert_eq!(access.grants, [user("bob")]);
    assert!(
        store
            .take_script("a.js", AccessLevel::Owner, &user("ann"))
            .unwrap()
    );
    assert!(
        !store
            .take_script("a.js", AccessLevel::Grant, &user("ann"))
            .unwrap()
    );
    store.forget_script_access("a.js").unwrap();
    assert_eq!(
        store.script_access("a.js").unwrap(),
        ScriptAccessRecord::default()
    );
    assert_eq!(store.script_access("b.js").unwrap().owners, [user("bob")]);
}

fn clients_round_trip_with_their_redirect_uris(backend: Backend) {
    let mut store = with_ann(&backend);
    let client = OAuthClient {
        id: "c".into(),
        secret_hash: None,
        name: "Inspector".into(),
        redirect_uris: vec![
            "http://127.0.0.1:9/cb".into(),
            "https://a.example/cb".into(),
        ],
        created: 5,
    };
    store.register_client(&client).unwrap();
    assert_eq!(store.oauth_client("c").unwrap(), Some(client));
    assert_eq!(store.oauth_client("nope").unwrap(), None);
}

fn a_code_is_taken_once_and_old_ones_are_forgotten(backend: Backend) {
    let mut store = with_ann(&backend);
    let code = AuthorizationCode {
        client_id: "c".into(),
        user_id: "u-ann".into(),
        redirect_uri: "http://127.0.0.1:9/cb".into(),
        challenge: "x".into(),
        resource: "http://127.0.0.1/mcp".into(),
        scope: "mcp".into(),
        created: 100,
    };
    store
        .save_code(
            b"old",
            &AuthorizationCode {
                created: 1,
                ..code.clone()
            },
            0,
        )
        .unwrap();
    store.save_code(b"new", &code, 50).unwrap();
    assert_eq!(store.take_code(b"old").unwrap(), None, "expired");
    assert_eq!(store.take_code(b"new").unwrap(), Some(code));
    assert_eq!(store.take_code(b"new").unwrap(), None, "used");
}

fn access_tokens_are_found_with_their_user_and_refresh_tokens_taken_once(backend: Backend) {
    let mut store = with_ann(&backend);
    store
        .save_oauth_token(b"a", &token(OAuthTokenKind::Access, 1000), 100)
        .unwrap();
    store
        .save_oauth_token(b"r", &token(OAuthTokenKind::Refresh, 2000), 100)
        .unwrap();
    let (found, user) = store.access_token(b"a").unwrap().unwrap();
    assert_eq!(
        (found.kind, user.id.as_str()),
        (OAuthTokenKind::Access, "u-ann")
    );
    assert!(
        store.access_token(b"r").unwrap().is_none(),
        "a refresh token is no access token"
    );
    assert_eq!(store.use_refresh_token(b"a").unwrap(), Refresh::Unknown);
    assert!(matches!(
        store.use_refresh_token(b"r").unwrap(),
        Refresh::Fresh(_)
    ));
    // Used again: somebody kept a copy. The family goes, the access token with it.
    assert!(matches!(
        store.use_refresh_token(b"r").unwrap(),
        Refresh::Replayed { .. }
    ));
    assert!(
        store.access_token(b"a").unwrap().is_none(),
        "the family is revoked"
    );
    assert_eq!(store.use_refresh_token(b"r").unwrap(), Refresh::Unknown);
    store
        .save_oauth_token(b"a", &token(OAuthTokenKind::Access, 1000), 100)
        .unwrap();
    // Saving later forgets what expired.
    store
        .save_oauth_token(b"b", &token(OAuthTokenKind::Access, 5000), 1500)
        .unwrap();
    assert!(store.access_token(b"a").unwrap().is_none());
}

fn secrets_are_kept_sealed_per_script(backend: Backend) {
    let key = SecretKey::parse(&"5a".repeat(32)).unwrap();
    let mut connection = backend.connect();
    assert!(!connection.secret_exists("a.js", "TOKEN").unwrap());
    let sealed = key.seal("a.js", "TOKEN", "hunter2").unwrap();
    connection.put_secret("a.js", "TOKEN", &sealed).unwrap();
    connection
        .put_secret("a.js", "OTHER", &key.seal("a.js", "OTHER", "x").unwrap())
        .unwrap();
    assert!(connection.secret_exists("a.js", "TOKEN").unwrap());
    assert!(!connection.secret_exists("b.js", "TOKEN").unwrap());
    let stored = connection.sealed_secret("a.js", "TOKEN").unwrap().unwrap();
    assert!(
        !stored.windows(7).any(|window| window == b"hunter2"),
        "kept sealed"
    );
    assert_eq!(key.open("a.js", "TOKEN", &stored).unwrap(), "hunter2");
    // Replacing keeps one row; another process sees it.
    let replaced = key.seal("a.js", "TOKEN", "correct horse").unwrap();
    connection.put_secret("a.js", "TOKEN", &replaced).unwrap();
    let mut reopened = backend.reopen().connect().unwrap();
    let stored = reopened.sealed_secret("a.js", "TOKEN").unwrap().unwrap();
    assert_eq!(key.open("a.js", "TOKEN", &stored).unwrap(), "correct horse");
    assert!(connection.remove_secret("a.js", "TOKEN").unwrap());
    assert!(!connection.remove_secret("a.js", "TOKEN").unwrap());
    connection
        .put_secret("b.js", "TOKEN", &key.seal("b.js", "TOKEN", "b").unwrap())
        .unwrap();
    assert_eq!(connection.clear_secrets("a.js").unwrap(), 1);
    assert!(connection.secret_exists("b.js", "TOKEN").unwrap());
}

fn due_jobs_are_claimed_once_in_order_and_finished_by_their_holder(backend: Backend) {
    let mut connection = backend.connect();
    connection
        .schedule_job(&JobRecord::new("a.js", "late", "tick", 3_000, None))
        .unwrap();
    connection
        .schedule_job(&JobRecord::new(
            "a.js",
            "early",
            "tick",
            1_000,
            Some(60_000),
        ))
        .unwrap();
    connection
        .schedule_job(&JobRecord::new("a.js", "future", "tick", 9_000, None))
        .unwrap();
    let claimed = connection
        .claim_due_jobs("node-1", 5_000, 30_000, 10)
        .unwrap();
    let names: Vec<&str> = claimed
        .iter()
        .map(|claim| claim.job.name.as_str())
        .collect();
    assert_eq!(names, ["early", "late"]);
    assert_eq!(claimed[0].locked_until, 35_000);
    assert_eq!(claimed[0].job.every, Some(60_000));
    // Held: nobody else gets them while the lock lasts.
    assert!(
        connection
            .claim_due_jobs("node-2", 6_000, 30_000, 10)
            .unwrap()
            .is_empty()
    );
    // Another node cannot finish or release what it does not hold.
    assert!(
        !connection
            .finish_job("node-2", "a.js", "early", Some(65_000), None)
            .unwrap()
    );
    assert!(!connection.release_job("node-2", "a.js", "early").unwrap());
    // A job given back unrun is as it was, for any node to claim.
    assert!(connection.release_job("node-1", "a.js", "early").unwrap());
    let retaken = connection
        .claim_due_jobs("node-2", 6_000, 30_000, 10)
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!(
        (retaken[0].job.name.as_str(), retaken[0].job.runs),
        ("early", 0)
    );
    assert!(connection.release_job("node-2", "a.js", "early").unwrap());
    assert_eq!(
        connection
            .claim_due_jobs("node-1", 6_000, 30_000, 10)
            .unwrap()
            .len(),
        1
    );
    // The recurring one comes back at its next time, counted; the one-off is gone.
    assert!(
        connection
            .finish_job("node-1", "a.js", "early", Some(65_000), Some("boom"))
            .unwrap()
    );
    assert!(
        connection
            .finish_job("node-1", "a.js", "late", None, None)
            .unwrap()
    );
    let jobs = connection.jobs("a.js").unwrap();
    let early = jobs.iter().find(|job| job.name == "early").unwrap();
    assert_eq!(
        (early.due, early.runs, early.last_error.as_deref()),
        (65_000, 1, Some("boom"))
    );
    assert!(jobs.iter().all(|job| job.name != "late"));
    // Limits hold.
    for n in 0..5 {
        connection
            .schedule_job(&JobRecord::new(
                "b.js",
                &format!("j{n}"),
                "run",
                100 + n,
                None,
            ))
            .unwrap();
    }
    assert_eq!(
        connection
            .claim_due_jobs("node-1", 70_000, 1_000, 2)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(connection.remove_jobs("b.js").unwrap(), 5);
    assert!(connection.remove_job("a.js", "future").unwrap());
}

fn a_claim_that_runs_out_is_taken_over_and_the_late_finish_changes_nothing(backend: Backend) {
    let mut connection = backend.connect();
    connection
        .schedule_job(&JobRecord::new("a.js", "once", "run", 0, None))
        .unwrap();
    assert_eq!(
        connection
            .claim_due_jobs("dies", 1_000, 5_000, 10)
            .unwrap()
            .len(),
        1
    );
    assert!(
        connection
            .claim_due_jobs("other", 5_999, 5_000, 10)
            .unwrap()
            .is_empty()
    );
    // The lock ran out (the node died): the job is claimed again.
    let taken = connection
        .claim_due_jobs("other", 6_001, 5_000, 10)
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert!(
        !connection
            .finish_job("dies", "a.js", "once", None, None)
            .unwrap()
    );
    assert_eq!(
        connection.jobs("a.js").unwrap().len(),
        1,
        "still there for its holder"
    );
    assert!(
        connection
            .finish_job("other", "a.js", "once", None, None)
            .unwrap()
    );
    assert!(connection.jobs("a.js").unwrap().is_empty());
    // Scheduling again releases a lock.
    connection
        .schedule_job(&JobRecord::new("a.js", "again", "run", 0, Some(10)))
        .unwrap();
    assert_eq!(
        connection.claim_due_jobs("n", 1, 60_000, 10).unwrap().len(),
        1
    );
    connection
        .schedule_job(&JobRecord::new("a.js", "again", "run", 0, Some(10)))
        .unwrap();
    assert_eq!(
        connection.claim_due_jobs("m", 2, 60_000, 10).unwrap().len(),
        1
    );
}

fn nodes_claiming_at_once_never_share_a_job(backend: Backend) {
    const JOBS: i64 = 300;
    let mut connection = backend.connect();
    for n in 0..JOBS {
        connection
            .schedule_job(&JobRecord::new(
                "c.js",
                &format!("job{n:03}"),
                "run",
                n,
                None,
            ))
            .unwrap();
    }
    let store = backend.store.clone();
    let claims: Vec<Vec<String>> = std::thread::scope(|scope| {
        let nodes: Vec<_> = (0..6)
            .map(|node| {
                let store = store.clone();
                scope.spawn(move || {
                    let mut connection = store.connect().unwrap();
                    let mut mine = Vec::new();
                    loop {
                        let claimed = connection
                            .claim_due_jobs(&format!("node-{node}"), 1_000, 60_000, 7)
                            .unwrap();
                        if claimed.is_empty() {
                            break mine;
                        }
                        mine.extend(claimed.into_iter().map(|claim| claim.job.name));
                    }
                })
            })
            .collect();
        nodes.into_iter().map(|node| node.join().unwrap()).collect()
    });
    let mut all: Vec<String> = claims.iter().flatten().cloned().collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, JOBS as usize, "every job claimed exactly once");
    assert_eq!(all.len(), JOBS as usize);
}

fn assets_round_trip_per_script_with_their_digest(backend: Backend) {
    let mut connection = backend.connect();
    assert!(connection.list_assets("a.js").unwrap().is_empty());
    let png = [0x89u8, b'P', b'N', b'G', 0, 255, 10];
    let stored = connection
        .upsert_asset("a.js", "img/logo.png", "image/png", &png)
        .unwrap();
    assert_eq!((stored.name.as_str(), stored.size), ("img/logo.png", 7));
    assert_eq!(stored.sha256.len(), 64);
    assert_eq!(stored.created, stored.updated);
    connection
        .upsert_asset("a.js", "site.css", "text/css", b"body{}")
        .unwrap();
    connection
        .upsert_asset("b.js", "site.css", "text/css", b"other")
        .unwrap();
    let listed = connection.list_assets("a.js").unwrap();
    let names: Vec<&str> = listed.iter().map(|asset| asset.name.as_str()).collect();
    assert_eq!(names, ["img/logo.png", "site.css"]);
    let read = connection.asset("a.js", "img/logo.png").unwrap().unwrap();
    assert_eq!(read.content, png);
    assert_eq!(read.info, stored);
    // Replacing keeps the creation time and changes the digest; another process sees it.
    let replaced = connection
        .upsert_asset(
            "a.js",
            "site.css",
            "text/css; charset=utf-8",
            b"body{color:red}",
        )
        .unwrap();
    let mut other = backend.reopen().connect().unwrap();
    let seen = other.asset("a.js", "site.css").unwrap().unwrap();
    assert_eq!(seen.content, b"body{color:red}");
    assert_eq!(seen.info.sha256, replaced.sha256);
    assert_eq!(seen.info.mimetype, "text/css; charset=utf-8");
    assert_eq!(
        other.asset("b.js", "site.css").unwrap().unwrap().content,
        b"other"
    );
    assert!(connection.delete_asset("a.js", "site.css").unwrap());
    assert!(!connection.delete_asset("a.js", "site.css").unwrap());
    assert!(connection.asset("a.js", "site.css").unwrap().is_none());
}

fn asset_batches_are_stored_together_and_edits_check_the_digest(backend: Backend) {
    let mut connection = backend.connect();
    connection
        .upsert_asset("a.js", "app.css", "text/css", b"old")
        .unwrap();
    let batch = [
        NewAsset {
            name: "app.css",
            mimetype: "text/css",
            content: b"body{}",
        },
        NewAsset {
            name: "js/app.js",
            mimetype: "text/javascript",
            content: b"let a = 1;",
        },
    ];
    let stored = connection.upsert_assets("a.js", &batch).unwrap();
    let names: Vec<&str> = stored.iter().map(|info| info.name.as_str()).collect();
    assert_eq!(names, ["app.css", "js/app.js"]);
    assert_eq!(stored[0].size, 6);
    assert!(connection.upsert_assets("a.js", &[]).unwrap().is_empty());
    let listed = connection.list_assets("a.js").unwrap();
    assert_eq!(listed, stored);

    // The edit lands only on the version it was made from.
    let base = stored[0].sha256.clone();
    let edited = connection
        .replace_asset_if("a.js", "app.css", &base, b"body{color:red}")
        .unwrap()
        .expect("the digest matches");
    assert_eq!(edited.size, 15);
    assert_eq!(edited.mimetype, "text/css");
    assert_ne!(edited.sha256, base);
    assert!(
        connection
            .replace_asset_if("a.js", "app.css", &base, b"lost update")
            .unwrap()
            .is_none()
    );
    assert!(
        connection
            .replace_asset_if("b.js", "app.css", &edited.sha256, b"other script")
            .unwrap()
            .is_none()
    );
    let read = connection.asset("a.js", "app.css").unwrap().unwrap();
    assert_eq!(read.content, b"body{color:red}");
}
