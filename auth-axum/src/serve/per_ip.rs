//! The per-client connection cap: how many connections each client address has open.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections per client. An address is in the map only while it has a connection
/// open, so the map holds at most as many entries as there are open connections.
#[derive(Debug)]
pub(super) struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `peer`, or `None` when its client already has the most open.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<IpSlot> {
        let client = client_of(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            counts: Arc::clone(self),
            client,
        })
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One open connection of a client; dropping it gives the place back.
#[derive(Debug)]
pub(super) struct IpSlot {
    counts: Arc<PerIp>,
    client: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The client an address belongs to: an IPv4 address is one client, and so is an IPv4
/// address written as IPv6 (`::ffff:a.b.c.d`); an IPv6 address counts with its /64 network,
/// the smallest block a provider hands one subscriber, since anyone holding a /64 can use
/// every address in it.
fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            client_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(client_of(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_of(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn the_cap_holds_per_client_and_frees_up() {
        let per_ip = PerIp::new(2);
        let first = per_ip.admit(ip("192.0.2.1")).unwrap();
        let _second = per_ip.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert!(per_ip.admit(ip("192.0.2.1")).is_none());
        let _other = per_ip.admit(ip("192.0.2.2")).unwrap();
        let _v6 = per_ip.admit(ip("2001:db8::1")).unwrap();
        let _v6_same_64 = per_ip.admit(ip("2001:db8::2")).unwrap();
        assert!(per_ip.admit(ip("2001:db8::ffff")).is_none());
        drop(first);
        assert!(per_ip.admit(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn clients_leave_the_map_when_their_last_connection_closes() {
        let per_ip = PerIp::new(64);
        let slots: Vec<_> = (0..100_u8)
            .map(|n| per_ip.admit(IpAddr::from([192, 0, 2, n])).unwrap())
            .collect();
        // A refused connection leaves no entry behind either.
        let refused = PerIp::new(1);
        let held = refused.admit(ip("192.0.2.1")).unwrap();
        assert!(refused.admit(ip("192.0.2.1")).is_none());
        drop(held);
        assert_eq!(refused.clients(), 0);
        assert_eq!(per_ip.clients(), 100);
        drop(slots);
        assert_eq!(per_ip.clients(), 0);
    }
}
