//! Who is asking: the client's address, from the socket, or from a forwarding header only
//! when the socket's peer is a proxy the operator listed (`--trusted-proxies`). Rate limits
//! are counted on this address, so a header a client writes itself never becomes a key.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// Forwarding headers longer than this are not read (no address list is that long).
const MAX_HEADER: usize = 1024;

/// The proxies (CIDRs) whose forwarding headers are believed; none by default.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Believes forwarding headers from these networks.
    pub fn new(networks: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(networks)
    }

    /// Whether `ip` is one of these proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request that arrived from `peer`: `peer` itself unless it
    /// is a trusted proxy; then the right-most hop of `X-Forwarded-For` (or `Forwarded`'s
    /// `for=`) that is not a trusted proxy, or `X-Real-IP`. Hops are read from the right, as
    /// the proxies appended them: whatever the client wrote further left is never read, so
    /// its junk cannot push it into the proxy's own count. A hop that does not parse before
    /// the client's is reached (a proxy's `unknown`), or a header too long, gives `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let text = |name: &str| {
            let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
            let joined = values.join(",");
            (!joined.trim().is_empty() && joined.len() <= MAX_HEADER).then_some(joined)
        };
        let hops: Vec<Option<IpAddr>> = if let Some(list) = text("x-forwarded-for") {
            list.split(',').map(|hop| parse_hop(hop.trim())).collect()
        } else if let Some(list) = text("forwarded") {
            forwarded_for(&list)
        } else if let Some(real) = text("x-real-ip") {
            vec![parse_hop(real.trim())]
        } else {
            Vec::new()
        };
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => continue,
                Some(ip) => return *ip,
                None => return peer,
            }
        }
        // Every hop one of ours: the first.
        hops.first().copied().flatten().unwrap_or(peer)
    }
}

/// One hop: an address, with or without a port (`203.0.113.7`, `203.0.113.7:5411`,
/// `2001:db8::1`, `[2001:db8::1]:443`, `"[2001:db8::1]"`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    hop.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|ip| ip.parse().ok())
}

/// The `for=` addresses of a `Forwarded` header (RFC 7239), in order; `None` for one that is
/// not an address (`unknown`, an obfuscated name).
fn forwarded_for(header: &str) -> Vec<Option<IpAddr>> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| value.trim().to_string())
            })
        })
        .map(|value| parse_hop(&value))
        .collect()
}

/// The client's address, as [`TrustedProxies::client`] tells it (`None` when the request
/// did not come over a socket, as in tests that call the router directly).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    Arc<TrustedProxies>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let proxies = Arc::<TrustedProxies>::from_ref(state);
        Ok(ClientAddr(peer.map(|peer| proxies.client(peer, &parts.headers))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = TrustedProxies::default();
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "5.6.7.8")]);
        assert_eq!(none.client(ip("198.51.100.9"), &spoofed), ip("198.51.100.9"), "no proxy trusted: the socket");

        let lb = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()]);
        assert_eq!(lb.client(ip("198.51.100.9"), &spoofed), ip("198.51.100.9"), "not from the proxy: the socket");
        // The right-most hop the proxies did not add; what the client wrote to the left is not believed.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.2.3")]);
        assert_eq!(lb.client(ip("10.0.0.5"), &chain), ip("203.0.113.7"));
        let split = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7:5411")]);
        assert_eq!(lb.client(ip("10.0.0.5"), &split), ip("203.0.113.7"));
        assert_eq!(lb.client(ip("10.0.0.5"), &headers(&[("x-forwarded-for", "10.9.9.9")])), ip("10.9.9.9"), "all hops ours: the first");
        assert_eq!(lb.client(ip("10.0.0.5"), &headers(&[("x-real-ip", "203.0.113.8")])), ip("203.0.113.8"));
        let rfc = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db9::1]:443";proto=https, for=10.1.1.1"#)]);
        assert_eq!(lb.client(ip("10.0.0.5"), &rfc), ip("2001:db9::1"));
        // Garbage, or a header too long to be an address list: the proxy's own address.
        for bad in ["not-an-ip", "1.2.3.4, <script>", &"9".repeat(5000)] {
            assert_eq!(lb.client(ip("10.0.0.5"), &headers(&[("x-forwarded-for", bad)])), ip("10.0.0.5"), "{bad:.20}");
        }
        assert_eq!(lb.client(ip("10.0.0.5"), &headers(&[("forwarded", "for=unknown")])), ip("10.0.0.5"));
        // Junk the client wrote to the left of what the proxy appended is never read.
        let junk = headers(&[("x-forwarded-for", "unknown, <script>, 203.0.113.9")]);
        assert_eq!(lb.client(ip("10.0.0.5"), &junk), ip("203.0.113.9"));
    }
}
