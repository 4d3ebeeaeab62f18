//! TLS for the listener: rustls (ring) with ALPN `h2` and `http/1.1`, from PEM files or a
//! certificate generated at start-up.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS configuration could not be built. Each message names the file and says what
/// was expected.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read or parsed.
    #[error("cannot read the certificate file {}: {reason}", path.display())]
    CertificateFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate in {}: expected PEM blocks starting with -----BEGIN CERTIFICATE-----", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file could not be read, parsed, or holds no private key.
    #[error("cannot read a private key from {}: {reason} (expected a PEM block such as -----BEGIN PRIVATE KEY-----)", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The key is not the certificate's.
    #[error("the private key in {} does not belong to the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the certificate or key for another reason.
    #[error("the certificate or key cannot be used: {0}")]
    Rejected(String),
    /// A self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// A TLS server configuration with Ferry's defaults: TLS 1.2 and 1.3 (ring), ALPN offering
/// HTTP/2 before HTTP/1.1.
///
/// ```
/// use ferry_core::server::TlsConfig;
///
/// let tls = TlsConfig::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
/// assert_eq!(tls.fingerprint().len(), 32 * 3 - 1); // "AB:CD:..." for 32 bytes
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    certificate: CertificateDer<'static>,
    fingerprint: String,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Loads a certificate chain (leaf first) and its private key from PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|error| TlsError::CertificateFile {
                path: cert.to_path_buf(),
                reason: error.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert.to_path_buf(),
            });
        }
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::KeyFile {
            path: key.to_path_buf(),
            reason: error.to_string(),
        })?;
        Self::new(chain, private_key).map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            other => TlsError::Rejected(other.to_string()),
        })
    }

    /// Generates a self-signed certificate for `names` (host names or IP addresses): an
    /// ECDSA P-256 key, valid from an hour ago (clocks drift) for
    /// [`SELF_SIGNED_DAYS`](Self::SELF_SIGNED_DAYS) days, well inside the 366 days TLS
    /// scanners accept. Browsers will warn about it; it is for development.
    pub fn self_signed(names: &[String]) -> Result<Self, TlsError> {
        let failed = |error: rcgen::Error| TlsError::Generate(error.to_string());
        let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(failed)?;
        // Named for what it is, so a browser's certificate viewer and a TLS scanner say so.
        let mut subject = rcgen::DistinguishedName::new();
        subject.push(rcgen::DnType::OrganizationName, "Ferry");
        subject.push(rcgen::DnType::CommonName, Self::SELF_SIGNED_NAME);
        params.distinguished_name = subject;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(Self::SELF_SIGNED_DAYS);
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let certificate = params.self_signed(&key).map_err(failed)?;
        let private_key = PrivateKeyDer::try_from(key.serialize_der())
            .map_err(|error| TlsError::Generate(error.to_string()))?;
        Self::new(vec![certificate.der().clone()], private_key)
            .map_err(|error| TlsError::Generate(error.to_string()))
    }

    /// The names a development certificate should cover: `localhost`, the loopback
    /// addresses, this machine's host name (where the system tells it) and the addresses
    /// in `served`.
    pub fn development_names(served: &[std::net::IpAddr]) -> Vec<String> {
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        if let Ok(hostname) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let hostname = hostname.trim();
            if !hostname.is_empty() {
                names.push(hostname.to_owned());
            }
        }
        for ip in served {
            let text = ip.to_string();
            if !names.contains(&text) {
                names.push(text);
            }
        }
        names
    }

    /// The common name of a [self-signed](Self::self_signed) certificate.
    pub const SELF_SIGNED_NAME: &str = "Ferry development certificate";

    /// How many days a [self-signed](Self::self_signed) certificate is valid.
    pub const SELF_SIGNED_DAYS: i64 = 90;

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let leaf = chain[0].clone();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server: Arc::new(server),
            fingerprint: fingerprint(&leaf),
            certificate: leaf,
        })
    }

    /// The SHA-256 fingerprint of the certificate, as colon-separated hex
    /// (`AB:CD:...`), the form browsers show.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The leaf certificate (DER), e.g. for a client that should trust a self-signed one.
    pub fn certificate_der(&self) -> &[u8] {
        self.certificate.as_ref()
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }
}

fn fingerprint(certificate: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, certificate.as_ref());
    let mut text = String::with_capacity(digest.as_ref().len() * 3);
    for (index, byte) in digest.as_ref().iter().enumerate() {
        if index > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        (cert, key)
    }

    #[test]
    fn pem_files_load_and_offer_h2_first() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path(), "a");
        let tls = TlsConfig::from_pem_files(&cert, &key).unwrap();
        assert_eq!(tls.server.alpn_protocols[0], b"h2");
        assert!(
            tls.fingerprint()
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':')
        );
    }

    #[test]
    fn a_key_from_another_certificate_is_named_as_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = write_pair(dir.path(), "a");
        let (_, other_key) = write_pair(dir.path(), "b");
        let error = TlsConfig::from_pem_files(&cert, &other_key).unwrap_err();
        assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("does not belong to the certificate")
        );
    }

    #[test]
    fn unreadable_and_empty_files_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path(), "a");
        let missing = dir.path().join("missing.pem");
        let error = TlsConfig::from_pem_files(&missing, &key).unwrap_err();
        assert!(error.to_string().contains("missing.pem"), "{error}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem at all\n").unwrap();
        assert!(matches!(
            TlsConfig::from_pem_files(&empty, &key).unwrap_err(),
            TlsError::NoCertificate { .. }
        ));
        let error = TlsConfig::from_pem_files(&cert, &empty).unwrap_err();
        assert!(matches!(error, TlsError::KeyFile { .. }), "{error}");
        // The certificate given as the key: no private key in it.
        assert!(matches!(
            TlsConfig::from_pem_files(&cert, &cert).unwrap_err(),
            TlsError::KeyFile { .. }
        ));
    }

    #[test]
    fn a_self_signed_certificate_lives_as_long_as_a_development_one_should() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let tls =
            TlsConfig::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let (_, certificate) = X509Certificate::from_der(tls.certificate_der()).unwrap();
        let validity = certificate.validity();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        assert!(
            not_before <= now && now - not_before <= 3700,
            "{validity:?}"
        );
        let subject = certificate.subject().to_string();
        assert!(
            subject.contains("CN=Ferry development certificate"),
            "{subject}"
        );
        let days = (not_after - not_before) / 86_400;
        assert!((90..=91).contains(&days), "{days} days");
        // Mozilla's intermediate profile: at most 366 days, ECDSA P-256 with SHA-256.
        assert!(days <= 366);
        assert_eq!(
            certificate.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.2",
            "ecdsa-with-SHA256"
        );
    }

    #[test]
    fn self_signed_certificates_differ_each_time() {
        let names = ["localhost".to_owned()];
        let a = TlsConfig::self_signed(&names).unwrap();
        let b = TlsConfig::self_signed(&names).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
