//! Requests Backroom makes to addresses someone else gave it (an image URL in an imported
//! catalog, a merchant's webhook endpoint), made so that they cannot reach into the shop's
//! own network: no server-side request forgery.
//!
//! - Every address a host name resolves to is checked when connecting (the resolver below
//!   is the only one the client uses), and an address literal before the request:
//!   loopback, private, shared (CGNAT), link-local, multicast, unspecified and broadcast
//!   ranges are refused unless the operator allows them ([`Reach`]).
//! - Redirects are not followed (a public address could send us to a private one).
//! - A whole request takes at most 15 seconds, and no more of a body is read than asked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long one request may take, connecting and reading included.
pub const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http or https URL")]
    NotHttp(String),
    #[error("{0} is an address in a refused range (loopback, private, link-local or multicast)")]
    RefusedAddress(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request failed: {0}")]
    Failed(String),
}

/// Which addresses requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Somebody else's public servers only.
    Public,
    /// Those and this machine's loopback (webhook receivers in development and tests).
    PublicAndLoopback,
    /// Every range (a shop whose image host is on its own network, and tests).
    Everywhere,
}

impl Reach {
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::PublicAndLoopback => !is_refused(ip) || is_loopback(ip),
            Reach::Public => !is_refused(ip),
        }
    }
}

/// A client for outside addresses.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    reach: Reach,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outbound {{ reach: {:?} }}", self.reach)
    }
}

/// What a server answered a POST: its status and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body_start: String,
}

impl Outbound {
    pub fn new(reach: Reach) -> Outbound {
        // No proxy from the environment (HTTP_PROXY and the like): a proxy resolves the
        // host itself, past the resolver's checks.
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { reach }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("Backroom/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only when the TLS backend cannot start: nothing could be
            // fetched, and a client without the checks must never stand in.
            .expect("the outbound HTTP client builds");
        Outbound { client, reach }
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// `url` parsed, when it is http(s) and not an address literal in a refused range.
    fn checked_url(&self, url: &str) -> Result<reqwest::Url, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::NotHttp(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FetchError::NotHttp(url.to_owned()));
        }
        // An address literal never reaches the resolver: check it here.
        let host = parsed.host_str().ok_or_else(|| FetchError::NotHttp(url.to_owned()))?;
        let literal: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
        if let Some(ip) = literal
            && !self.reach.allows(ip)
        {
            return Err(FetchError::RefusedAddress(ip.to_string()));
        }
        Ok(parsed)
    }

    /// Every address `url`'s host stands for, when all are within reach: what a request
    /// would connect to now (it is checked again then, as the answer may change).
    pub async fn resolve(&self, url: &str) -> Result<Vec<IpAddr>, FetchError> {
        let parsed = self.checked_url(url)?;
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let found: Vec<IpAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|error| FetchError::Failed(format!("{host} does not resolve: {error}")))?
            .map(|address| address.ip())
            .collect();
        match found.iter().find(|ip| !self.reach.allows(**ip)) {
            Some(refused) => Err(FetchError::RefusedAddress(refused.to_string())),
            None => Ok(found),
        }
    }

    /// POSTs `body` to `url` with `headers`, and reads at most `limit` bytes of the answer
    /// (the rest is not waited for). Any status is an answer; only a failure to get one is
    /// an error.
    pub async fn post(
        &self,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body: String,
        limit: usize,
    ) -> Result<Answer, FetchError> {
        let parsed = self.checked_url(url)?;
        let response = self
            .client
            .post(parsed)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(failure)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while body.len() < limit
            && let Some(chunk) = stream.next().await
        {
            // A body cut short still leaves its status as the answer.
            let Ok(chunk) = chunk else { break };
            body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]);
        }
        Ok(Answer {
            status,
            body_start: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// GETs `url` and reads at most `limit` bytes of its body; any answer but 200 is an
    /// error (a redirect included).
    pub async fn get(&self, url: &str, limit: usize) -> Result<Bytes, FetchError> {
        let parsed = self.checked_url(url)?;
        let response = self.client.get(parsed).send().await.map_err(failure)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(FetchError::TooLarge(limit));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(failure)?;
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

/// The reason, as far down as it goes (reqwest's own message says only "error sending
/// request"); a refused address is named as such.
fn failure(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut reasons = Vec::new();
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<RefusedResolution>() {
            return FetchError::RefusedAddress(refused.0.clone());
        }
        reasons.push(current.to_string());
        source = current.source();
    }
    FetchError::Failed(reasons.last().cloned().unwrap_or_default())
}

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to refused addresses")]
struct RefusedResolution(String);

/// Resolves with the system's resolver, and keeps only the addresses allowed.
struct CheckedResolver {
    reach: Reach,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|address| reach.allows(address.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(RefusedResolution(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// This machine's loopback, in either family.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Addresses that are not somebody else's public server.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_refused_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_refused_v4(v4),
            None => is_refused_v6(ip),
        },
    }
}

fn is_refused_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Reserved for future use, 240.0.0.0/4.
        || a >= 240
}

fn is_refused_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // IPv4-compatible forms could name a private IPv4 address.
        || ip.to_ipv4().is_some_and(is_refused_v4)
        // NAT64 (64:ff9b::/96 and 64:ff9b:1::/48) carries an IPv4 address in its last bits.
        || (ip.segments()[..2] == [0x64, 0xff9b] && is_refused_v4(last_ipv4(ip)))
}

fn last_ipv4(ip: Ipv6Addr) -> Ipv4Addr {
    let octets = ip.octets();
    Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_networks_are_refused() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::7f00:1",
        ] {
            assert!(is_refused(refused.parse().expect("an address")), "{refused}");
        }
        for allowed in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(!is_refused(allowed.parse().expect("an address")), "{allowed}");
        }
    }

    #[tokio::test]
    async fn literals_and_names_of_refused_ranges_are_not_fetched() {
        let outbound = Outbound::new(Reach::Public);
        for url in [
            "http://127.0.0.1:9/x.jpg",
            "http://[::1]:9/x.jpg",
            "http://localhost:9/x.jpg",
        ] {
            let refused = outbound.get(url, 1024).await;
            assert!(
                matches!(refused, Err(FetchError::RefusedAddress(_))),
                "{url}: {refused:?}"
            );
        }
        assert!(matches!(
            outbound.get("file:///etc/passwd", 1024).await,
            Err(FetchError::NotHttp(_))
        ));
    }
}
