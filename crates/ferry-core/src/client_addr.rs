//! Who the client is: the connection's peer address, or — when that peer is a trusted
//! proxy — the address the proxy reports in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is only believed from the proxies the operator names: anyone can send
//! the header, so reading it from an untrusted peer would let clients pick the address that
//! rate limits and logs see. The list is read from the right (the hop nearest to Ferry),
//! skipping trusted proxies; the first address that is not one is the client.
//!
//! ```
//! use ferry_core::client_addr::TrustedProxies;
//! use http::HeaderMap;
//!
//! let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
//! let mut headers = HeaderMap::new();
//! headers.insert("x-forwarded-for", "203.0.113.7, 10.1.2.3".parse().unwrap());
//! let client = proxies.client_of("10.0.0.1".parse().unwrap(), &headers);
//! assert_eq!(client, "203.0.113.7".parse::<std::net::IpAddr>().unwrap());
//! ```

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use http::HeaderMap;

use crate::ConnectionInfo;

/// The client address a trusted proxy reported for a request. Ferry's server puts it in the
/// request's extensions when proxies are trusted (otherwise the peer is the client); read
/// it with [`ClientAddr::of`] or [`RequestExt::client_addr`](crate::RequestExt::client_addr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The client of the request with these extensions: the address a trusted proxy
    /// reported, else the connection's peer; `None` for a request that did not come from a
    /// Ferry server.
    pub fn of(extensions: &http::Extensions) -> Option<IpAddr> {
        match extensions.get::<ClientAddr>() {
            Some(ClientAddr(ip)) => Some(*ip),
            None => extensions
                .get::<ConnectionInfo>()
                .map(|info| info.peer.ip()),
        }
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    base: IpAddr,
    prefix: u8,
}

/// Text that is not an address or a network in CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or a network such as 10.0.0.0/8 or fd00::/8")]
pub struct InvalidNetwork(pub String);

impl IpNetwork {
    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// count as their IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => prefix_matches(
                u32::from(base).into(),
                u32::from(ip).into(),
                self.prefix,
                32,
            ),
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                prefix_matches(u128::from(base), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` agree.
fn prefix_matches(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    let host_bits = width - u32::from(prefix);
    if host_bits >= width {
        return true;
    }
    (a >> host_bits) == (b >> host_bits)
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; other addresses unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidNetwork(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let base = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let width = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| u32::from(*p) <= width)
                .ok_or_else(invalid)?,
            None => width as u8,
        };
        Ok(IpNetwork { base, prefix })
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` header Ferry believes. Empty by default: the peer
/// address is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNetwork]>);

impl TrustedProxies {
    /// Trusts the given networks.
    pub fn new(networks: impl IntoIterator<Item = IpNetwork>) -> Self {
        TrustedProxies(networks.into_iter().collect())
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(ip))
    }

    /// The client address of a request that came from `peer` with `headers`.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Later header lines were appended by nearer hops, like later list items.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|value| value.as_bytes().rsplit(|byte| *byte == b','));
        for hop in hops {
            let Some(address) = parse_hop(hop) else {
                // A hop we cannot read: the last proxy we trust is as far as we can see.
                return client;
            };
            client = address;
            if !self.trusts(address) {
                return address;
            }
        }
        client
    }
}

impl FromStr for TrustedProxies {
    type Err = InvalidNetwork;

    /// A comma- or space-separated list of addresses and networks.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies::new)
    }
}

/// One `X-Forwarded-For` item: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:80`).
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (address, _) = rest.split_once(']')?;
        return address.parse().ok().map(canonical);
    }
    let (address, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")));
        let one: IpNetwork = "192.168.1.5".parse().unwrap();
        assert!(one.contains(ip("192.168.1.5")));
        assert!(!one.contains(ip("192.168.1.6")));
        let v6: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!(!all.contains(ip("::1")));
    }

    #[test]
    fn invalid_networks_are_refused() {
        for text in [
            "",
            "10.0.0.0/33",
            "::/129",
            "example.com",
            "10.0.0/8",
            "1.2.3.4/x",
        ] {
            assert!(text.parse::<IpNetwork>().is_err(), "{text}");
        }
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let proxies: TrustedProxies = "10.0.0.1".parse().unwrap();
        let headers = forwarded(&["1.2.3.4"]);
        assert_eq!(proxies.client_of(ip("9.9.9.9"), &headers), ip("9.9.9.9"));
        assert_eq!(
            TrustedProxies::default().client_of(ip("10.0.0.1"), &headers),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // A client-supplied spoof on the left is not believed.
        let headers = forwarded(&["6.6.6.6, 203.0.113.9", "10.0.0.7"]);
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), &headers),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn all_trusted_hops_give_the_leftmost() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let headers = forwarded(&["10.0.0.5, 10.0.0.6"]);
        assert_eq!(proxies.client_of(ip("10.0.0.1"), &headers), ip("10.0.0.5"));
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn hops_with_ports_and_garbage() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        let peer = ip("127.0.0.1");
        assert_eq!(
            proxies.client_of(peer, &forwarded(&["1.2.3.4:5678"])),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxies.client_of(peer, &forwarded(&["[2001:db8::1]:80"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            proxies.client_of(peer, &forwarded(&["1.2.3.4, unknown"])),
            peer
        );
    }

    proptest! {
        #[test]
        fn client_is_never_a_trusted_proxy_unless_all_hops_are(
            hops in proptest::collection::vec(any::<[u8; 4]>(), 0..6),
            peer in any::<[u8; 4]>(),
        ) {
            let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
            let list: Vec<String> = hops.iter().map(|h| IpAddr::from(*h).to_string()).collect();
            let headers = forwarded(&[&list.join(", ")]);
            let peer = IpAddr::from(peer);
            let client = proxies.client_of(peer, &headers);
            let all: Vec<IpAddr> = std::iter::once(peer)
                .chain(hops.iter().rev().map(|h| IpAddr::from(*h)))
                .collect();
            prop_assert!(all.contains(&client));
            if !proxies.trusts(peer) {
                prop_assert_eq!(client, peer);
            } else if all.iter().any(|a| !proxies.trusts(*a)) {
                prop_assert!(!proxies.trusts(client));
            }
        }
    }
}
