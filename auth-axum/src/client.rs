//! Who is asking: the client's IP address (behind trusted proxies only) and user agent.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Once;

use auth_core::ClientInfo;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::config::AuthConfig;
use crate::state::AuthCore;

/// The client's address and user agent, as [`ClientInfo`] for the manager.
///
/// The address is the socket peer: serve with [`serve`](crate::serve) or
/// `into_make_service_with_connect_info::<SocketAddr>()`, or no per-IP throttling applies
/// (the first such request logs a warning when the manager has per-IP limits).
/// `X-Forwarded-For` is believed only when the peer is a configured trusted proxy, and then
/// the right-most address that is not itself a trusted proxy is the client (ASVS5 4.1.3).
///
/// ```
/// use auth_axum::Client;
///
/// async fn whereami(Client(client): Client) -> String {
///     match client.ip {
///         Some(ip) => format!("you are at {ip}"),
///         None => "served without the client's address".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    AuthCore: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthCore::from_ref(state);
        let client = client_info(parts, auth.config());
        if client.ip.is_none() && auth.has_per_ip_limits() {
            warn_no_client_address();
        }
        Ok(Self(client))
    }
}

/// Says once per process, loudly, that per-IP throttling is off because the server does not
/// hand requests their client's address.
fn warn_no_client_address() {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "a request reached the auth routes without a client address, so the per-IP \
             limits on login, registration and token submission are OFF: serve the app with \
             `auth_axum::serve`, or with \
             `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`; \
             behind a reverse proxy, also list it in `AuthConfig::with_trusted_proxies` so that \
             `X-Forwarded-For` names the client (this warning is logged once)"
        );
    });
}

/// Reads the client's address and user agent from a request.
pub(crate) fn client_info(parts: &Parts, config: &AuthConfig) -> ClientInfo {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let ip = peer.map(|peer| client_ip(peer, &parts.headers, config));
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    ClientInfo::new(ip, agent)
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, config: &AuthConfig) -> IpAddr {
    if !config.is_trusted_proxy(peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !config.is_trusted_proxy(*hop))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let config = AuthConfig::default();
        let peer: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("1.2.3.4"), &config), peer);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let config = AuthConfig::default().with_trusted_proxies(["10.0.0.0/8".parse().unwrap()]);
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            client_ip(peer, &headers("6.6.6.6, 203.0.113.5, 10.0.0.1"), &config),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(peer, &HeaderMap::new(), &config), peer);
    }
}
