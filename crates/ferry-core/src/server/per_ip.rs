//! Counting open connections per client address, for
//! [`ServerConfig::max_connections_per_ip`](super::ServerConfig::max_connections_per_ip).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections by peer address, bounded by a limit.
#[derive(Debug)]
pub(crate) struct PerIpConnections {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; uncounted when dropped.
#[derive(Debug)]
pub(crate) struct IpSlot {
    table: Arc<PerIpConnections>,
    ip: IpAddr,
}

impl PerIpConnections {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(PerIpConnections {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `ip`, or `None` if it already holds the limit.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            table: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .table
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            // Forget addresses with nothing open, so the table holds only live clients.
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_the_limit_and_slots_return_on_drop() {
        let table = PerIpConnections::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = table.admit(a).unwrap();
        let _second = table.admit(a).unwrap();
        assert!(table.admit(a).is_none());
        let other = table.admit(b).unwrap();
        drop(first);
        assert!(table.admit(a).is_some());
        drop(other);
        // Only `a` is still open (the admitted slot above was dropped at once).
        assert_eq!(table.addresses(), 1);
    }
}
