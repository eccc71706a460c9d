//! The PROXY protocol header a client sends before anything else
//! (HAProxy's specification, §2.1 and §2.2), for a proxy or a relay that
//! speaks for the original client.

use bytes::Bytes;

use super::event::ApiError;
use super::{Client, Phase};
use crate::proxy::{ProxyHeader, ProxyVersion};

impl Client {
    /// Queues a PROXY protocol header ([`crate::proxy`]) in `version`'s
    /// form, to go out first: the server reads it before it greets (§2.1:
    /// "sent immediately and at once upon the connection establishment").
    ///
    /// Only right after [`Client::new`], before anything was received,
    /// and once: otherwise [`ApiError::ProxyHeaderTooLate`]. A header the
    /// version cannot carry (a LOCAL command, UNIX addresses or TLVs in
    /// version 1) is [`ApiError::ProxyHeader`].
    ///
    /// ```
    /// use esmtp::client::{Client, ClientConfig};
    /// use esmtp::proxy::{ProxyAddresses, ProxyHeader, ProxyVersion};
    /// use esmtp::values::Domain;
    ///
    /// let mut client = Client::new(ClientConfig::new(Domain::parse("relay.example").unwrap().into_owned()));
    /// let addresses = ProxyAddresses::tcp("192.0.2.1:4711".parse().unwrap(), "198.51.100.2:25".parse().unwrap());
    /// client.send_proxy_header(&ProxyHeader::proxied(addresses.unwrap()), ProxyVersion::V1).unwrap();
    /// assert_eq!(&client.poll_transmit().unwrap()[..], b"PROXY TCP4 192.0.2.1 198.51.100.2 4711 25\r\n");
    /// ```
    pub fn send_proxy_header(
        &mut self,
        header: &ProxyHeader,
        version: ProxyVersion,
    ) -> Result<(), ApiError> {
        let untouched = matches!(self.phase, Phase::Greeting)
            && self.rx.is_empty()
            && self.out.is_empty()
            && self.staging.is_empty();
        if self.proxy_sent || !untouched {
            return Err(ApiError::ProxyHeaderTooLate);
        }
        let bytes = header.to_bytes(version)?;
        self.proxy_sent = true;
        self.out.push_back(Bytes::from(bytes));
        Ok(())
    }
}
