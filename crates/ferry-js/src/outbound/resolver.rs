//! Name resolution for `fetch` that keeps only the addresses the network policy allows,
//! so a public-looking name that resolves to a private address is refused at the moment
//! of connecting (after redirects too), not only when the URL is read.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

use super::OutboundOptions;
use super::policy::private_refusal;

/// What a refusal by the resolver starts with, so the client's error can be told apart
/// from a failure to connect.
pub(super) const REFUSED: &str = "refused by Ferry's network policy";

/// Resolves names with the system's resolver and drops the addresses the policy refuses.
#[derive(Debug, Clone)]
pub(super) struct GuardedResolver {
    options: Arc<OutboundOptions>,
}

impl GuardedResolver {
    pub(super) fn new(options: Arc<OutboundOptions>) -> Self {
        GuardedResolver { options }
    }
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let options = self.options.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| options.policy.allows_address(address.ip()))
                .collect();
            if allowed.is_empty() && !found.is_empty() {
                let address = found[0].ip();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{REFUSED}: {}", private_refusal(&host, Some(address))),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use tower_service::Service;

    use super::*;
    use crate::outbound::NetPolicy;

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let mut resolver = GuardedResolver::new(Arc::new(OutboundOptions::default()));
        // The name check in the policy would stop "localhost" earlier; the resolver must
        // stop it on its own too (any name the system resolves to loopback).
        let refused = resolver
            .call(Name::from_str("localhost").unwrap())
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().starts_with(REFUSED), "{refused}");
        assert!(
            refused.to_string().contains("localhost resolves to"),
            "{refused}"
        );

        let mut open = GuardedResolver::new(Arc::new(OutboundOptions {
            policy: NetPolicy::Everything,
            ..OutboundOptions::default()
        }));
        let addresses: Vec<SocketAddr> = open
            .call(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addresses.iter().all(|address| address.ip().is_loopback()));
        assert!(!addresses.is_empty());
    }
}
