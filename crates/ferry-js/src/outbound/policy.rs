//! Where scripts' `fetch` may go. By default only to public addresses: loopback, private,
//! link-local and other special-purpose addresses are refused, whether a URL names them or
//! a host name resolves there (server-side request forgery). `--allow-net` widens that to
//! everything, or narrows it to a list of hosts (which may then be private).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where `fetch` may connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetPolicy {
    /// Any host whose addresses are all public (the default).
    #[default]
    PublicOnly,
    /// Any host at all, private addresses included (`--allow-net` with no list).
    Everything,
    /// Only these hosts, on any address (`--allow-net host[:port],…`).
    Only(Vec<NetRule>),
}

/// One entry of `--allow-net`: a host name or address, and a port or any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRule {
    host: String,
    port: Option<u16>,
}

impl NetRule {
    /// Parses `host`, `host:port`, an IPv4 address with or without a port, or an IPv6
    /// address in brackets (`[::1]:8080`).
    pub fn parse(text: &str) -> Result<NetRule, String> {
        let text = text.trim();
        let refuse = || {
            format!(
                "{text:?} is not a host: write host, host:port or [ipv6]:port (for example api.example.com or 127.0.0.1:8080)"
            )
        };
        if text.is_empty() || text.contains('/') || text.contains('@') {
            return Err(refuse());
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(refuse)?;
            address.parse::<Ipv6Addr>().map_err(|_| refuse())?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(refuse)?),
            };
            (address.to_owned(), port)
        } else if text.matches(':').count() > 1 {
            // A bare IPv6 address: no port can follow it.
            text.parse::<Ipv6Addr>().map_err(|_| refuse())?;
            (text.to_owned(), None)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (text.to_owned(), None),
            }
        };
        let port = port
            .map(|port| port.parse::<u16>().map_err(|_| refuse()))
            .transpose()?;
        let host = if host.contains(':') {
            url::Host::parse(&format!("[{host}]"))
        } else {
            url::Host::parse(&host)
        }
        .map_err(|_| refuse())?;
        Ok(NetRule {
            host: host_text(&host),
            port,
        })
    }
}

/// A host as rules and URLs are compared: lower case, IPv6 without brackets.
fn host_text<S: AsRef<str>>(host: &url::Host<S>) -> String {
    match host {
        url::Host::Domain(name) => name.as_ref().trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(address) => address.to_string(),
        url::Host::Ipv6(address) => address.to_string(),
    }
}

impl NetPolicy {
    /// The policy of `--allow-net`: absent, public hosts only; given with no list,
    /// everything; given a comma-separated list, only those hosts.
    pub fn from_flag(flag: Option<&str>) -> Result<NetPolicy, String> {
        match flag.map(str::trim) {
            None => Ok(NetPolicy::PublicOnly),
            Some("" | "*") => Ok(NetPolicy::Everything),
            Some(list) => list
                .split(',')
                .filter(|entry| !entry.trim().is_empty())
                .map(NetRule::parse)
                .collect::<Result<Vec<_>, _>>()
                .map(NetPolicy::Only),
        }
    }

    /// Whether a request to `host` on `port` may be made, before any name is resolved;
    /// the reason in words when not.
    pub fn check_target<S: AsRef<str>>(
        &self,
        host: &url::Host<S>,
        port: u16,
    ) -> Result<(), String> {
        match self {
            NetPolicy::Everything => Ok(()),
            NetPolicy::Only(rules) => {
                let name = host_text(host);
                if rules.iter().any(|rule| {
                    rule.host == name && rule.port.is_none_or(|allowed| allowed == port)
                }) {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}:{port} is not in --allow-net; add it there to let scripts reach it"
                    ))
                }
            }
            NetPolicy::PublicOnly => match host {
                url::Host::Ipv4(address) => public_or_refused(IpAddr::V4(*address)),
                url::Host::Ipv6(address) => public_or_refused(IpAddr::V6(*address)),
                url::Host::Domain(name) => {
                    let name = name.as_ref().trim_end_matches('.').to_ascii_lowercase();
                    if name == "localhost" || name.ends_with(".localhost") {
                        Err(private_refusal(&name, None))
                    } else {
                        Ok(())
                    }
                }
            },
        }
    }

    /// Whether a connection to `address`, which a permitted host name resolved to, may
    /// be made.
    pub fn allows_address(&self, address: IpAddr) -> bool {
        match self {
            NetPolicy::PublicOnly => is_public(address),
            NetPolicy::Everything | NetPolicy::Only(_) => true,
        }
    }
}

fn public_or_refused(address: IpAddr) -> Result<(), String> {
    if is_public(address) {
        Ok(())
    } else {
        Err(private_refusal(&address.to_string(), None))
    }
}

/// Why the private destination `host` (which resolved to `address`) is refused, and how
/// to allow it.
pub(crate) fn private_refusal(host: &str, address: Option<IpAddr>) -> String {
    let what = match address {
        Some(address) => format!("{host} resolves to {address}, which"),
        None => host.to_owned(),
    };
    let allow = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!(
        "{what} is a loopback, private or link-local address, refused to keep scripts from reaching internal services; allow it with --allow-net (for example --allow-net {allow}:PORT)"
    )
}

/// Whether `address` is on the public internet: not loopback, private, link-local,
/// shared (carrier-grade NAT), multicast, broadcast, documentation, benchmarking or
/// otherwise reserved; IPv4 inside IPv6 (mapped, NAT64) is judged as IPv4.
pub(crate) fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = address.segments();
    if segments[..6] == [0; 6] {
        // ::, ::1 and the deprecated IPv4-compatible form (::a.b.c.d).
        return false;
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: the IPv4 address it reaches.
        let [.., high, low] = segments;
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let first = segments[0];
    !((first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (first & 0xff00) == 0xff00 // multicast
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        || (first == 0x2001 && segments[1] < 0x0200) // IETF protocol assignments, Teredo
        || first == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn special_purpose_addresses_are_not_public() {
        for private in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!public(private), "{private} counted as public");
        }
        for open in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(public(open), "{open} counted as private");
        }
    }

    #[test]
    fn the_flag_reads_as_deno_spells_it() {
        assert_eq!(NetPolicy::from_flag(None).unwrap(), NetPolicy::PublicOnly);
        assert_eq!(
            NetPolicy::from_flag(Some("")).unwrap(),
            NetPolicy::Everything
        );
        let NetPolicy::Only(rules) =
            NetPolicy::from_flag(Some("API.example.com, 127.0.0.1:8080,[::1]:9000,::1")).unwrap()
        else {
            panic!("a list is a list");
        };
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[0].host, "api.example.com");
        assert_eq!(rules[1].port, Some(8080));
        assert_eq!((rules[2].host.as_str(), rules[2].port), ("::1", Some(9000)));
        for bad in [
            "http://x.test",
            "x.test:port",
            "[::1",
            "a b",
            "x.test:99999",
            "u@x.test",
        ] {
            assert!(NetPolicy::from_flag(Some(bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn targets_are_checked_before_resolving() {
        let host = |text: &str| url::Host::parse(text).unwrap();
        let default = NetPolicy::PublicOnly;
        assert!(default.check_target(&host("example.com"), 443).is_ok());
        assert!(default.check_target(&host("127.0.0.1"), 80).is_err());
        assert!(default.check_target(&host("[::1]"), 80).is_err());
        assert!(default.check_target(&host("LOCALHOST"), 80).is_err());
        assert!(default.check_target(&host("api.localhost"), 80).is_err());
        assert!(!default.allows_address("10.0.0.1".parse().unwrap()));

        let only = NetPolicy::from_flag(Some("127.0.0.1:8080,example.com")).unwrap();
        assert!(only.check_target(&host("127.0.0.1"), 8080).is_ok());
        assert!(only.check_target(&host("127.0.0.1"), 8081).is_err());
        assert!(only.check_target(&host("Example.COM."), 1).is_ok());
        assert!(only.check_target(&host("other.com"), 443).is_err());
        assert!(only.allows_address("127.0.0.1".parse().unwrap()));
    }
}
