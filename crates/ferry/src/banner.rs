//! The start-up banner: what is served, where, and how to stop.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// The URLs a server on `addr` can be reached at, split into this machine's and the
/// network's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Urls {
    /// The URL to open on this machine.
    pub local: String,
    /// URLs other machines can use (empty when listening on loopback only).
    pub network: Vec<String>,
}

/// Works out the URLs for `addr` (`https` when `tls`); `interfaces` are this machine's
/// addresses (used when listening on every interface).
pub(crate) fn urls(addr: SocketAddr, tls: bool, interfaces: &[IpAddr]) -> Urls {
    let scheme = if tls { "https" } else { "http" };
    let port = addr.port();
    let ip = addr.ip();
    let url_for = |ip: IpAddr| url(scheme, ip, port);
    if ip.is_unspecified() {
        let network = interfaces
            .iter()
            .filter(|candidate| !candidate.is_loopback())
            .filter(|candidate| ip.is_ipv6() || candidate.is_ipv4())
            .filter(|candidate| !is_ipv6_link_local(candidate))
            .map(|candidate| url_for(*candidate))
            .collect();
        Urls {
            local: format!("{scheme}://localhost:{port}/"),
            network,
        }
    } else if ip.is_loopback() {
        Urls {
            local: url_for(ip),
            network: Vec::new(),
        }
    } else {
        Urls {
            local: url_for(ip),
            network: vec![url_for(ip)],
        }
    }
}

fn is_ipv6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

fn url(scheme: &str, ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}/"),
    }
}

/// This machine's interface addresses (empty if they cannot be listed).
pub(crate) fn interface_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|interfaces| interfaces.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

/// What the start-up banner tells.
#[derive(Debug)]
pub(crate) struct Banner<'a> {
    /// The directory served.
    pub dir: &'a Path,
    /// Where it is served.
    pub urls: &'a Urls,
    /// Whether the server listens on loopback only (then the banner says how to share).
    pub loopback: bool,
    /// The certificate in use, described, when serving HTTPS.
    pub tls: Option<&'a str>,
    /// Whether live reload is on.
    pub live_reload: bool,
    /// Where metrics are served, when on a listener of their own.
    pub metrics: Option<&'a str>,
    /// Sign-in, described, when on.
    pub sign_in: Option<&'a str>,
}

impl Banner<'_> {
    /// The banner text.
    pub(crate) fn render(&self) -> String {
        let mut text = format!(
            "\n  Ferry {} serving {}\n\n  Local:    {}\n",
            env!("CARGO_PKG_VERSION"),
            self.dir.display(),
            self.urls.local
        );
        if self.urls.network.is_empty() {
            if self.loopback {
                text.push_str("  Network:  use --host 0.0.0.0 to share on your network\n");
            }
        } else {
            for url in &self.urls.network {
                text.push_str(&format!("  Network:  {url}\n"));
            }
        }
        if let Some(tls) = self.tls {
            text.push_str(&format!("  TLS:      {tls}\n"));
        }
        if self.live_reload {
            text.push_str("  Reload:   pages reload when files change\n");
        }
        if let Some(metrics) = self.metrics {
            text.push_str(&format!("  Metrics:  {metrics}\n"));
        }
        if let Some(sign_in) = self.sign_in {
            text.push_str(&format!("  Sign-in:  {sign_in}\n"));
        }
        text.push_str("\n  Press Ctrl+C to stop\n");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_has_only_a_local_url() {
        let urls = urls(
            addr("127.0.0.1:8080"),
            false,
            &["192.168.1.20".parse().unwrap()],
        );
        assert_eq!(urls.local, "http://127.0.0.1:8080/");
        assert!(urls.network.is_empty());
    }

    #[test]
    fn all_interfaces_lists_every_lan_address() {
        let interfaces: Vec<IpAddr> = [
            "127.0.0.1",
            "192.168.1.20",
            "10.0.0.5",
            "::1",
            "fe80::1",
            "2001:db8::7",
        ]
        .iter()
        .map(|ip| ip.parse().unwrap())
        .collect();
        let v4 = urls(addr("0.0.0.0:9000"), false, &interfaces);
        assert_eq!(v4.local, "http://localhost:9000/");
        assert_eq!(
            v4.network,
            ["http://192.168.1.20:9000/", "http://10.0.0.5:9000/"]
        );
        let v6 = urls(addr("[::]:9000"), true, &interfaces);
        assert!(
            v6.network
                .contains(&"https://[2001:db8::7]:9000/".to_owned())
        );
        assert!(!v6.network.iter().any(|u| u.contains("fe80")));
    }

    #[test]
    fn banner_says_what_where_and_how_to_stop() {
        let urls = urls(addr("127.0.0.1:8080"), false, &[]);
        let banner = Banner {
            dir: Path::new("./site"),
            urls: &urls,
            loopback: true,
            tls: None,
            live_reload: false,
            metrics: None,
            sign_in: None,
        };
        let text = banner.render();
        assert!(text.contains("serving ./site"));
        assert!(text.contains("Local:    http://127.0.0.1:8080/"));
        assert!(text.contains("--host 0.0.0.0"));
        assert!(text.contains("Press Ctrl+C to stop"));
        assert!(!text.contains("TLS:"));
        let tls = Banner {
            tls: Some("self-signed (SHA-256 AB:CD)"),
            live_reload: true,
            ..banner
        }
        .render();
        assert!(tls.contains("  TLS:      self-signed (SHA-256 AB:CD)\n"));
        assert!(tls.contains("  Reload:   pages reload when files change\n"));
    }
}
