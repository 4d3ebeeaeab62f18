//! The database URL: what tokio-postgres reads of it, what Ferry reads itself (`sslmode`
//! with libpq's full set of values, `sslrootcert`), and the TLS it leads to.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StoreError;

/// The schema Ferry's own tables live in.
pub(super) const SCHEMA: &str = "ferry";

/// A database to connect to, and how.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) config: tokio_postgres::Config,
    pub(super) tls: MakeRustlsConnect,
}

/// The parameters Ferry reads itself, taken out of the URL before tokio-postgres parses it
/// (it knows neither `verify-full` nor `sslrootcert`).
#[derive(Debug, Default, PartialEq, Eq)]
struct OwnParameters {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

fn invalid(message: impl std::fmt::Display) -> StoreError {
    StoreError::Settings(format!("--database-url: {message}"))
}

impl Target {
    /// Reads `url`; a wrong URL, `sslmode` or certificate file is a clear error that never
    /// repeats the password.
    pub(super) fn parse(url: &str) -> Result<Target, StoreError> {
        let (rest, own) = take_own_parameters(url)?;
        let mut config: tokio_postgres::Config = rest.parse().map_err(|error| {
            invalid(format!(
                "{error} (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
            ))
        })?;
        if config.get_hosts().is_empty() {
            return Err(invalid(
                "no host named (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)",
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("ferry");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let options = match config.get_options() {
            Some(given) => format!("{given} -c search_path={SCHEMA}"),
            None => format!("-c search_path={SCHEMA}"),
        };
        config.options(options);
        let encrypted = match own.sslmode.as_deref() {
            Some("disable") => false,
            Some("require" | "verify-ca" | "verify-full") => true,
            // libpq tries TLS and settles for plain text; Ferry does not send credentials in
            // the clear beyond this machine.
            None | Some("allow" | "prefer") => !on_this_machine(config.get_hosts()),
            Some(other) => {
                return Err(invalid(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        };
        config.ssl_mode(if encrypted {
            SslMode::Require
        } else {
            SslMode::Disable
        });
        let roots = match (encrypted, &own.sslrootcert) {
            (false, _) => rustls::RootCertStore::empty(),
            (true, Some(file)) => roots_from(Path::new(file))?,
            (true, None) => system_roots(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(format!("TLS: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Target {
            config,
            tls: MakeRustlsConnect::new(tls),
        })
    }

    /// The database as `postgres://user@host:port/database`, without the password.
    pub(super) fn describe(&self) -> String {
        describe(&self.config)
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(at, host)| {
            let name = match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = config
                .get_ports()
                .get(at)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// Splits `sslmode` and `sslrootcert` off a URL's query; other forms pass through whole.
fn take_own_parameters(url: &str) -> Result<(String, OwnParameters), StoreError> {
    let mut own = OwnParameters::default();
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok((url.to_owned(), own));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || {
            percent_decode_str(value)
                .decode_utf8()
                .map(|value| value.into_owned())
                .map_err(|_| invalid(format!("{key} is not UTF-8")))
        };
        match key {
            "sslmode" => own.sslmode = Some(decoded()?),
            "sslrootcert" => own.sslrootcert = Some(decoded()?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, own))
}

/// Whether every host is this machine (a Unix socket or a loopback address), where plain
/// text exposes nothing.
fn on_this_machine(hosts: &[Host]) -> bool {
    hosts.iter().all(|host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
    })
}

/// The certificates in the PEM file `file` (`sslrootcert`), and only those.
fn roots_from(file: &Path) -> Result<rustls::RootCertStore, StoreError> {
    let unreadable =
        |error: &dyn std::fmt::Display| invalid(format!("sslrootcert {}: {error}", file.display()));
    let certificates = CertificateDer::pem_file_iter(file)
        .map_err(|error| unreadable(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(&error))?;
    if certificates.is_empty() {
        return Err(unreadable(&"no certificate in it"));
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates {
        roots.add(certificate).map_err(|error| unreadable(&error))?;
    }
    Ok(roots)
}

/// The system's trusted certificates.
fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a system certificate could not be read");
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// Whether `error` says the database could not be reached (or the connection broke), rather
/// than refusing a statement.
pub(super) fn is_connectivity(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if error.as_db_error().is_some() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() || cause.is::<rustls::Error>() {
            return true;
        }
        source = cause.source();
    }
    let text = error.to_string();
    text.contains("connect") || text.contains("timed out") || text.contains("TLS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferry_reads_the_tls_parameters_and_passes_the_rest_on() {
        let (rest, own) = take_own_parameters(
            "postgres://u:p@db.example:6543/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p@db.example:6543/app?application_name=x"
        );
        assert_eq!(own.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(own.sslrootcert.as_deref(), Some("/etc/ca.pem"));
        let (rest, own) = take_own_parameters("host=db user=u").unwrap();
        assert_eq!(
            (rest.as_str(), own),
            ("host=db user=u", OwnParameters::default())
        );
    }

    #[test]
    fn the_password_never_shows_in_the_description() {
        let target = Target::parse("postgres://ferry:s3cret@127.0.0.1:5433/app").unwrap();
        assert_eq!(target.describe(), "postgres://ferry@127.0.0.1:5433/app");
        let error = Target::parse("postgres://ferry:s3cret@127.0.0.1:5433/app?sslmode=maybe")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("sslmode=maybe is not one of"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        let error = Target::parse("postgres://ferry:s3cret@127.0.0.1:notaport/app")
            .err()
            .unwrap()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn plain_text_only_on_this_machine_unless_asked() {
        let mode = |url: &str| Target::parse(url).map(|target| target.config.get_ssl_mode());
        assert!(matches!(
            mode("postgres://u@127.0.0.1/app"),
            Ok(SslMode::Disable)
        ));
        assert!(matches!(
            mode("postgres://u@localhost/app"),
            Ok(SslMode::Disable)
        ));
        assert!(matches!(
            mode("postgres://u@db.example/app"),
            Ok(SslMode::Require)
        ));
        assert!(matches!(
            mode("postgres://u@db.example/app?sslmode=disable"),
            Ok(SslMode::Disable)
        ));
        assert!(matches!(
            mode("postgres://u@127.0.0.1/app?sslmode=require"),
            Ok(SslMode::Require)
        ));
    }

    #[test]
    fn a_missing_or_empty_certificate_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        for file in [dir.path().join("missing.pem"), empty] {
            let url = format!(
                "postgres://u@db.example/app?sslmode=verify-full&sslrootcert={}",
                file.display()
            );
            let error = Target::parse(&url).err().unwrap().to_string();
            assert!(error.contains("sslrootcert"), "{error}");
            assert!(error.contains(&file.display().to_string()), "{error}");
        }
    }
}
