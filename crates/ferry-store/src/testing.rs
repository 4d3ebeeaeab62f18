//! A throwaway PostgreSQL server for tests (the `testing` feature): a cluster of its own,
//! made with `initdb` in a temporary directory, run by an unprivileged user when the tests
//! run as root, on a free loopback port, with password authentication. It stops and its
//! directory goes when the test process ends, however it ends: a keeper shell holds the
//! server and waits on a pipe from the test process.
//!
//! The PostgreSQL programs are taken from `FERRY_TEST_POSTGRES_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package), else the `PATH`. Without
//! them, starting fails with what to install: tests that need PostgreSQL fail, never skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// The superuser of a test cluster.
pub const USER: &str = "ferry";
/// Its password.
pub const PASSWORD: &str = "ferry-test-password";

/// A running PostgreSQL server of a test's own.
#[derive(Debug)]
pub struct PostgresCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// What the server is started with (`pg_ctl -o`).
    server_options: String,
    /// As whom the server runs (`runuser -u nobody --` when the tests run as root).
    runner: Vec<String>,
    /// The keeper's end of the pipe: the server stops when it closes.
    _keeper: Mutex<(Child, ChildStdin)>,
    databases: AtomicU32,
}

/// Clusters started by this process, to name their directories apart.
static STARTED: AtomicU32 = AtomicU32::new(0);

impl PostgresCluster {
    /// The cluster every test of this process shares (started by the first to ask); each
    /// test makes its own database in it with [`PostgresCluster::create_database`].
    ///
    /// # Panics
    ///
    /// When the cluster cannot start, with the reason and what to install.
    pub fn shared() -> &'static PostgresCluster {
        static SHARED: OnceLock<PostgresCluster> = OnceLock::new();
        SHARED.get_or_init(|| match PostgresCluster::start() {
            Ok(cluster) => cluster,
            Err(error) => panic!("cannot start a PostgreSQL server for the tests: {error}"),
        })
    }

    /// Starts a new cluster.
    pub fn start() -> Result<PostgresCluster, String> {
        PostgresCluster::start_with(None)
    }

    /// Starts a new cluster that speaks TLS with the PEM `certificate` and `key` (plain text
    /// is still accepted).
    pub fn start_with_tls(certificate: &str, key: &str) -> Result<PostgresCluster, String> {
        PostgresCluster::start_with(Some((certificate, key)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Result<PostgresCluster, String> {
        let bin = programs()?;
        let runner = runner()?;
        let dir = std::env::temp_dir().join(format!(
            "ferry-postgres-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        if !runner.is_empty() {
            let (uid, gid) = nobody()?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|error| format!("chown {}: {error}", dir.display()))?;
        }
        let password_file = dir.join("password");
        std::fs::write(&password_file, PASSWORD)
            .map_err(|error| format!("{}: {error}", password_file.display()))?;
        let data = dir.join("data");
        let initdb = run_as(&runner, bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .map_err(|error| format!("initdb: {error}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let mut server_options = String::new();
        if let Some((certificate, key)) = tls {
            for (name, pem) in [("server.crt", certificate), ("server.key", key)] {
                let file = data.join(name);
                std::fs::write(&file, pem)
                    .map_err(|error| format!("{}: {error}", file.display()))?;
                std::fs::set_permissions(
                    &file,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .map_err(|error| format!("{}: {error}", file.display()))?;
                if !runner.is_empty() {
                    let (uid, gid) = nobody()?;
                    std::os::unix::fs::chown(&file, Some(uid), Some(gid))
                        .map_err(|error| format!("chown {}: {error}", file.display()))?;
                }
            }
            server_options.push_str("-c ssl=on ");
        }
        let port = free_port()?;
        server_options.push_str(&format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            dir.display()
        ));
        // Starts the server, says so, then waits for the test process to end (its end of
        // stdin closes) and stops the server and removes everything.
        let keeper_script = r#"
            "$0/pg_ctl" -D "$1/data" -l "$1/log" -o "$2" -w -t 60 start >/dev/null || { cat "$1/log"; exit 1; }
            echo ready
            cat >/dev/null
            "$0/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1
            rm -rf "$1"
        "#;
        let mut keeper = run_as(&runner, "sh")
            .arg("-c")
            .arg(keeper_script)
            .arg(&bin)
            .arg(&dir)
            .arg(&server_options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot run the server's keeper: {error}"))?;
        let mut said = String::new();
        if let Some(stdout) = keeper.stdout.take() {
            let mut lines = BufReader::new(stdout);
            let _ = lines.read_line(&mut said);
            if said.trim() != "ready" {
                let mut rest = String::new();
                let _ = std::io::Read::read_to_string(&mut lines, &mut rest);
                return Err(format!("the server did not start: {said}{rest}"));
            }
        }
        let stdin = keeper.stdin.take().ok_or("the keeper has no stdin")?;
        Ok(PostgresCluster {
            bin,
            dir,
            port,
            server_options,
            runner,
            _keeper: Mutex::new((keeper, stdin)),
            databases: AtomicU32::new(0),
        })
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` on this server, as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Makes a new, empty database and returns its URL.
    ///
    /// # Panics
    ///
    /// When the server refuses.
    pub fn create_database(&self) -> String {
        let name = format!("test_{}", self.databases.fetch_add(1, Ordering::Relaxed));
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs `sql` in `database` with `psql` and returns what it printed (unaligned, tuples
    /// only).
    ///
    /// # Panics
    ///
    /// When `psql` fails.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args([
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-A",
                "-t",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap_or_else(|error| panic!("psql: {error}"));
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Stops the server (fast: connections are cut), leaving its data, until
    /// [`PostgresCluster::start_again`].
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["-m", "fast", "-w", "stop"])
    }

    /// Starts the server stopped with [`PostgresCluster::stop`], on the same port.
    pub fn start_again(&self) -> Result<(), String> {
        let log = self.dir.join("log");
        let log = log.display().to_string();
        self.pg_ctl(&[
            "-l",
            &log,
            "-o",
            &self.server_options,
            "-w",
            "-t",
            "60",
            "start",
        ])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        let output = run_as(&self.runner, pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(args)
            .output()
            .map_err(|error| format!("pg_ctl: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// Where the PostgreSQL programs are.
fn programs() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("FERRY_TEST_POSTGRES_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    on_path.ok_or_else(|| {
        "no PostgreSQL programs (initdb, pg_ctl, psql) found: install Debian's `postgresql` package, or set FERRY_TEST_POSTGRES_BIN".to_owned()
    })
}

/// How to run the server: as `nobody` when this process is root (PostgreSQL refuses to run
/// as root), as this user otherwise.
fn runner() -> Result<Vec<String>, String> {
    let uid = command_output("id", &["-u"])?;
    if uid != "0" {
        return Ok(Vec::new());
    }
    let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .ok_or(
            "running as root, and runuser (util-linux) is missing to run PostgreSQL as nobody",
        )?;
    Ok(vec![
        runuser.to_owned(),
        "-u".into(),
        "nobody".into(),
        "--".into(),
    ])
}

/// `program`, run through `runner` when there is one.
fn run_as(runner: &[String], program: impl AsRef<std::ffi::OsStr>) -> Command {
    match runner.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn nobody() -> Result<(u32, u32), String> {
    let number = |flag: &str| -> Result<u32, String> {
        command_output("id", &[flag, "nobody"])?
            .parse()
            .map_err(|error| format!("id {flag} nobody: {error}"))
    };
    Ok((number("-u")?, number("-g")?))
}

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("{program}: {error}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("no free port: {error}"))
}
