//! What only the PostgreSQL back end does: its schema among other people's, nodes starting
//! together, a database that goes away and comes back, TLS, and the password kept out of
//! every message.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferry_store::testing::{PASSWORD, PostgresCluster};
use ferry_store::{KeyValue, PostgresOptions, Store, StoreError};

fn quick(url: String) -> PostgresOptions {
    PostgresOptions {
        wait: Duration::from_secs(2),
        ..PostgresOptions::new(url)
    }
}

fn database_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[test]
fn ferry_keeps_to_its_own_schema() {
    let cluster = PostgresCluster::shared();
    let url = cluster.create_database();
    let database = database_of(&url);
    cluster.psql(database, "CREATE TABLE public.kv (mine TEXT)");
    let store = Store::postgres(&PostgresOptions::new(url.clone())).unwrap();
    store.connect().unwrap().set_item("a.js", "k", "v").unwrap();
    assert_eq!(
        cluster.psql(
            database,
            "SELECT scope || '/' || key || '=' || value FROM ferry.kv"
        ),
        "a.js/k=v"
    );
    assert_eq!(
        cluster.psql(database, "SELECT count(*) FROM public.kv"),
        "0",
        "the application's own table of that name is left alone"
    );
    assert_eq!(store.describe(), url.replace(&format!(":{PASSWORD}"), ""));
}

#[test]
fn nodes_starting_together_migrate_once() {
    let cluster = PostgresCluster::shared();
    let url = cluster.create_database();
    let nodes: Vec<_> = (0..6)
        .map(|_| {
            let options = PostgresOptions::new(url.clone());
            std::thread::spawn(move || Store::postgres(&options).map(|_| ()))
        })
        .collect();
    for node in nodes {
        node.join().unwrap().unwrap();
    }
    assert_eq!(
        cluster.psql(
            database_of(&url),
            "SELECT count(*) || ' at ' || max(version) FROM ferry.schema_version"
        ),
        "1 at 5"
    );
}

#[test]
fn a_database_from_a_newer_ferry_is_refused_untouched() {
    let cluster = PostgresCluster::shared();
    let url = cluster.create_database();
    drop(Store::postgres(&PostgresOptions::new(url.clone())).unwrap());
    let database = database_of(&url);
    cluster.psql(database, "UPDATE ferry.schema_version SET version = 999");
    let tables = cluster.psql(
        database,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ferry'",
    );
    let error = Store::postgres(&PostgresOptions::new(url.clone())).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::TooNew { found: 999, .. }),
        "{message}"
    );
    assert!(
        message.contains("another database in --database-url"),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
    assert_eq!(
        cluster.psql(database, "SELECT max(version) FROM ferry.schema_version"),
        "999"
    );
    assert_eq!(
        cluster.psql(
            database,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ferry'"
        ),
        tables
    );
}

#[test]
fn nothing_listening_is_unavailable_soon_and_says_where() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let error = Store::postgres(&quick(format!(
        "postgres://ferry:{PASSWORD}@127.0.0.1:{port}/app"
    )))
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let message = error.to_string();
    assert!(error.is_unavailable(), "{message}");
    assert!(
        message.contains(&format!("postgres://ferry@127.0.0.1:{port}/app")),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
}

#[test]
fn a_wrong_password_is_refused_without_repeating_it() {
    let cluster = PostgresCluster::shared();
    let url = cluster
        .create_database()
        .replace(PASSWORD, "not-the-password");
    let message = Store::postgres(&quick(url)).unwrap_err().to_string();
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
}

#[test]
fn the_store_comes_back_with_the_database() {
    // A cluster of this test's own: it goes down.
    let cluster = PostgresCluster::start().unwrap();
    cluster.psql("postgres", "CREATE DATABASE app");
    let store = Store::postgres(&quick(cluster.url("app"))).unwrap();
    let mut connection = store.connect().unwrap();
    connection.set_item("a.js", "k", "before").unwrap();

    cluster.stop().unwrap();
    let error = connection.get_item("a.js", "k").unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    let error = connection.set_item("a.js", "k", "during").unwrap_err();
    assert!(error.is_unavailable(), "{error}");

    cluster.start_again().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let value = loop {
        match connection.get_item("a.js", "k") {
            Ok(value) => break value,
            Err(error) if error.is_unavailable() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => panic!("the store did not come back: {error}"),
        }
    };
    assert_eq!(value.as_deref(), Some("before"));
    connection.set_item("a.js", "k", "after").unwrap();
}

#[test]
fn tls_is_verified_against_the_given_certificate() {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let certificate = generated.cert.pem();
    let cluster =
        PostgresCluster::start_with_tls(&certificate, &generated.signing_key.serialize_pem())
            .unwrap();
    cluster.psql("postgres", "CREATE DATABASE app");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, &certificate).unwrap();

    let trusted = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        cluster.url("app"),
        root.display()
    );
    let store = Store::postgres(&quick(trusted)).unwrap();
    store.connect().unwrap().set_item("a.js", "k", "v").unwrap();
    assert_eq!(
        cluster
            .psql(
                "app",
                "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE ssl AND application_name = 'ferry'"
            )
            .parse::<u32>()
            .unwrap()
            .min(1),
        1,
        "Ferry's connections are encrypted"
    );

    // The system's roots do not vouch for a self-signed certificate.
    let untrusted = format!("{}?sslmode=require", cluster.url("app"));
    let error = Store::postgres(&quick(untrusted)).unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(!error.to_string().contains(PASSWORD), "{error}");
}
