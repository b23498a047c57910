//! Which IP addresses a plugin's requests may reach. The allow-list matches names; a name (or a
//! `*.domain` rule) can still resolve to the host's own network: loopback services, the cloud
//! metadata endpoint at 169.254.169.254, private ranges. Unless the deployment allows private
//! egress, those are refused after DNS resolution by [`CheckedResolver`], which hands the
//! connector only the addresses it checked (so the connection is pinned to them), and IP-literal
//! URLs, which never reach a resolver, are checked by [`check_literal`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// How a refusal ends: the deployment decides, not the tenant.
const HOW: &str = "loopback, private, link-local and other non-public targets are refused unless \
                   the host runs with --allow-private-egress (WEFT_ALLOW_PRIVATE_EGRESS)";

/// The non-public range `ip` belongs to, if any.
pub(crate) fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "unspecified (0.0.0.0/8)",
        (10, _, _) => "private (10.0.0.0/8)",
        (100, 64..=127, _) => "shared carrier-grade NAT (100.64.0.0/10)",
        (127, _, _) => "loopback (127.0.0.0/8)",
        (169, 254, _) => "link-local (169.254.0.0/16, where cloud metadata lives)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (224..=239, _, _) => "multicast (224.0.0.0/4)",
        (240..=255, _, _) => "reserved or broadcast (240.0.0.0/4)",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    let s = ip.segments();
    // Forms that carry an IPv4 address are judged by it: ::ffff:127.0.0.1 reaches 127.0.0.1.
    let embedded = match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        [0x2002, hi, lo, ..] => Some((hi, lo)),
        _ => None,
    };
    if let Some((hi, lo)) = embedded {
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return non_public_v4(v4).map(|_| "an IPv6 form of a non-public IPv4 address");
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "unique local (fc00::/7)",
        0xfe80..=0xfebf => "link-local (fe80::/10)",
        0xfec0..=0xfeff => "site-local (fec0::/10)",
        0xff00..=0xffff => "multicast (ff00::/8)",
        _ => return None,
    })
}

/// A request refused because its target is not public.
#[derive(Debug)]
pub(crate) struct RefusedAddress {
    host: String,
    ip: IpAddr,
    range: &'static str,
}

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RefusedAddress { host, ip, range } = self;
        if host.trim_start_matches('[').trim_end_matches(']') == ip.to_string() {
            write!(f, "{ip} is {range}; {HOW}")
        } else {
            write!(f, "`{host}` resolves to {ip}, {range}; {HOW}")
        }
    }
}

impl std::error::Error for RefusedAddress {}

/// Refuses a URL whose host is a non-public IP literal. Names are left to [`CheckedResolver`].
pub(crate) fn check_literal(url: &Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) | None => return Ok(()),
    };
    match non_public(ip) {
        Some(range) => Err(RefusedAddress {
            host: url.host_str().unwrap_or_default().to_owned(),
            ip,
            range,
        }
        .to_string()),
        None => Ok(()),
    }
}

/// Why a failed request was refused for its address, if it was: the resolver's error travels in
/// reqwest's source chain.
pub(crate) fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<RefusedAddress>() {
            return Some(refused.to_string());
        }
        source = s.source();
    }
    None
}

/// The system resolver, keeping public addresses only; a name with none left is refused.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match non_public(addr.ip()) {
                    Some(range) => {
                        refused.get_or_insert((addr.ip(), range));
                        false
                    }
                    None => true,
                })
                .collect();
            match (public.is_empty(), refused) {
                (true, Some((ip, range))) => Err(RefusedAddress { host, ip, range }.into()),
                _ => {
                    let addrs: Addrs = Box::new(public.into_iter());
                    Ok(addrs)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        non_public(text.parse().unwrap()).is_some()
    }

    #[test]
    fn non_public_ranges_are_recognised() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn ip_literal_urls_are_checked_and_names_left_to_the_resolver() {
        let check = |u: &str| check_literal(&Url::parse(u).unwrap());
        let e = check("http://127.0.0.1:8080/x").unwrap_err();
        assert!(e.starts_with("127.0.0.1 is loopback"), "{e}");
        assert!(e.contains("--allow-private-egress"), "{e}");
        assert!(check("http://[::ffff:7f00:1]/").is_err());
        assert!(
            check("http://0x7f.1/").is_err(),
            "the URL parser normalizes IPv4 forms"
        );
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("https://8.8.8.8/").is_ok());
        assert!(check("http://localhost/").is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_with_only_non_public_addresses() {
        let name: Name = "localhost".parse().unwrap();
        let e = CheckedResolver.resolve(name).await.err().unwrap();
        let refused = e.downcast_ref::<RefusedAddress>().unwrap();
        assert!(
            refused.to_string().starts_with("`localhost` resolves to "),
            "{refused}"
        );
    }
}
