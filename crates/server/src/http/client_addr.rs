//! The client's address behind reverse proxies (`--trusted-proxy`).
//!
//! A request's peer is the client unless the peer is a trusted proxy; then the
//! forwarding headers are walked from the right (the hop the proxy itself
//! added) past every trusted hop, and the first untrusted hop is the client —
//! entries further left were written by the client and may be forged.
//! `Forwarded` (RFC 7239 §4, `for=`) is read when present, else
//! `X-Forwarded-For`. From an untrusted peer both headers are ignored.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::extract::ClientIp;

/// The address ranges whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Trusts `ranges` (empty: trust nobody, headers always ignored).
    pub fn new(ranges: &[IpNet]) -> Self {
        TrustedProxies(ranges.into())
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_hops(headers).into_iter().rev() {
            if !self.trusts(client) {
                break;
            }
            // An obfuscated or unknown hop (`for=_hidden`, `unknown`): the
            // last address we can name is the best we know.
            let Some(ip) = hop else { break };
            client = ip.to_canonical();
        }
        client
    }
}

/// The `for` hops of `Forwarded`, else of `X-Forwarded-For`, left to right,
/// across every header line; `None` for a hop that names no address.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| parse_node(value))
                    })
                    .flatten()
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        // A header we cannot read at all counts as one unknown hop.
        .flat_map(|v| match v.to_str() {
            Ok(line) => line.split(',').map(parse_node).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|ip| ip.parse().ok())
}

/// Middleware: records the request's [`ClientIp`] for everything after it
/// (rate limit, login throttle, chat, logs).
pub async fn resolve(
    State(proxies): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = proxies.client(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientIp(client));
    }
    next.run(req).await
}

/// `--trusted-proxy` values: a CIDR range (`10.0.0.0/8`) or one address.
pub fn parse_range(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            "expected an address range like 10.0.0.0/8 or an address like 127.0.0.1".into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(ranges: &[&str]) -> TrustedProxies {
        let nets: Vec<IpNet> = ranges.iter().map(|r| parse_range(r).unwrap()).collect();
        TrustedProxies::new(&nets)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, value.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "192.168.1.1"]);
        for (peer, hdrs, want, why) in [
            (
                "10.0.0.5",
                vec![("x-forwarded-for", "203.0.113.7")],
                "203.0.113.7",
                "one proxy",
            ),
            (
                "10.0.0.5",
                vec![("x-forwarded-for", "6.6.6.6, 203.0.113.7, 192.168.1.1")],
                "203.0.113.7",
                "two trusted proxies; the forged leftmost entry is not used",
            ),
            (
                "10.0.0.5",
                vec![
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "203.0.113.7"),
                ],
                "203.0.113.7",
                "several header lines read in order",
            ),
            (
                "10.0.0.5",
                vec![("x-forwarded-for", "10.0.0.9, 10.0.0.8")],
                "10.0.0.9",
                "all hops trusted: the leftmost",
            ),
            (
                "10.0.0.5",
                vec![],
                "10.0.0.5",
                "no header: the proxy itself",
            ),
            (
                "10.0.0.5",
                vec![("x-forwarded-for", "garbage")],
                "10.0.0.5",
                "unreadable hop",
            ),
            (
                "10.0.0.5",
                vec![("x-forwarded-for", "203.0.113.7:5123")],
                "203.0.113.7",
                "with a port",
            ),
            (
                "10.0.0.5",
                vec![(
                    "forwarded",
                    "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
                )],
                "2001:db8::7",
                "RFC 7239 Forwarded",
            ),
            (
                "10.0.0.5",
                vec![
                    ("forwarded", "for=203.0.113.9"),
                    ("x-forwarded-for", "198.51.100.1"),
                ],
                "203.0.113.9",
                "Forwarded wins over X-Forwarded-For",
            ),
            (
                "10.0.0.5",
                vec![("forwarded", "for=_hidden")],
                "10.0.0.5",
                "obfuscated hop",
            ),
            (
                "::ffff:10.0.0.5",
                vec![("x-forwarded-for", "203.0.113.7")],
                "203.0.113.7",
                "v4-mapped peer",
            ),
        ] {
            assert_eq!(p.client(ip(peer), &headers(&hdrs)), ip(want), "{why}");
        }
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let spoof = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
        ]);
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client(ip("198.51.100.4"), &spoof),
            ip("198.51.100.4")
        );
        assert_eq!(
            proxies(&[]).client(ip("10.0.0.5"), &spoof),
            ip("10.0.0.5"),
            "nobody trusted by default"
        );
    }

    #[test]
    fn ranges_parse_as_cidr_or_single_addresses() {
        assert!(parse_range("10.0.0.0/8").is_ok());
        assert!(parse_range("::1").is_ok());
        assert!(parse_range("fd00::/8").is_ok());
        assert!(parse_range("10.0.0.0/33").is_err());
        assert!(parse_range("proxy.local").is_err());
    }
}
