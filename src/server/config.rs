//! What a server session offers and enforces.

use std::time::Duration;

use crate::data::BarePolicy;
use crate::ehlo::Mechanism;
use crate::error::ConfigError;
use crate::ext::custom::CustomCapability;
use crate::ext::future_release::HoldLimits;
use crate::ext::no_soliciting::Solicit;
use crate::options::Strictness;
use crate::proxy::ProxyOptions;
use crate::values::{DomainRules, Host};

/// Configuration shared by the sessions of one listener. Build it once and
/// share it (`Arc<ServerConfig>`); a [`super::Server`] only reads it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The name in the greeting, the EHLO reply and trace fields; checked
    /// by [`ServerConfig::new`], hence private.
    hostname: String,
    /// Text after the hostname in the 220 greeting.
    pub greeting: String,
    /// Speak LMTP (RFC 2033): LHLO instead of HELO/EHLO, one reply per
    /// recipient after the content.
    pub lmtp: bool,
    /// Emit [`super::Event::Connect`] first and wait for the application to
    /// accept or refuse the connection; otherwise the 220 is queued at once.
    pub ask_on_connect: bool,
    /// Extensions offered.
    pub extensions: Extensions,
    /// Resource limits.
    pub limits: Limits,
    /// Idle timeouts (RFC 5321 §4.5.3.2).
    pub timeouts: Timeouts,
    /// Command syntax accepted from clients.
    pub strictness: Strictness,
    /// What to do with bare CR, bare LF and NUL in DATA content, and in
    /// BDAT content of any body but BINARYMIME (RFC 3030 §3). The default,
    /// [`BarePolicy::Reject`], keeps a relay from passing a smuggled
    /// `<LF>.<LF>` on to the next hop.
    pub bare_line_endings: BarePolicy,
    /// Private verbs (RFC 5321 §4.1.5, e.g. `X-PING` for a keyword of
    /// [`Extensions::custom`]), matched in any case and handed to the
    /// application as [`super::Event::Command`] with their arguments as
    /// sent; other unknown verbs get `500 5.5.1`. HELP lists them. Each
    /// must be an `esmtp-keyword` (a letter or digit, then letters, digits
    /// and `-`) that the machine does not know: a verb it parses itself
    /// (MAIL, VRFY, BURL …) never reaches the list, except XCLIENT and
    /// XFORWARD while [`Extensions::xclient`] / [`Extensions::xforward`]
    /// are off, which are handed over as written.
    pub private_verbs: Vec<String>,
    /// Read a PROXY protocol header (HAProxy's specification, versions 1
    /// and 2: [`crate::proxy`]) before anything else: no greeting until it
    /// is parsed, then [`super::Event::Proxy`]; a malformed or overlong
    /// header, or none within [`Timeouts::command`], closes the connection
    /// without a reply. Off by default: turn it on only for a listener
    /// that a trusted proxy alone can reach, since the header says who the
    /// client is.
    pub proxy_protocol: Option<ProxyOptions>,
}

/// Which extensions and optional commands are offered. The defaults offer
/// everything this machine enforces by itself; the ones that need
/// application support (STARTTLS, AUTH, VRFY/EXPN decisions, ETRN, ATRN,
/// TURN, SEND/SOML/SAML, FUTURERELEASE, DELIVERBY, MT-PRIORITY, RRVS,
/// XCLIENT, XFORWARD, NO-SOLICITING, MTRK, SUBMITTER, CONPERM, CONNEG),
/// the legacy UTF8SMTP and sendmail's VERB and ONEX are off until the
/// application turns them on.
///
/// Each field is read by the extension it names, in its own module of
/// [`crate::ext`]: what it adds to the EHLO reply and how the MAIL/RCPT
/// parameters it defines are checked against it live there.
///
/// ```
/// use esmtp::server::ServerConfig;
///
/// let mut config = ServerConfig::new("mx.example.org").expect("a valid hostname");
/// config.extensions.dsn = true; // the default
/// config.extensions.rrvs = true; // off by default: RRVS= needs the application's look-up
/// config.extensions.deliver_by = Some(60);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Extensions {
    /// PIPELINING (RFC 2920, [`crate::ext::pipelining`]). LMTP always
    /// offers it (RFC 2033 §5).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152, [`crate::ext::body`]).
    pub eight_bit_mime: bool,
    /// CHUNKING (RFC 3030, [`crate::ext::chunking`]): BDAT.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030 §3, [`crate::ext::body`]); needs `chunking`.
    pub binary_mime: bool,
    /// SMTPUTF8 (RFC 6531, [`crate::ext::smtputf8`]); needs
    /// `eight_bit_mime`.
    pub smtputf8: bool,
    /// DSN (RFC 3461, [`crate::ext::dsn`]): the parameters are validated
    /// and handed over.
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034, [`crate::ext::enhanced_status_codes`]);
    /// codes are sent on replies always.
    pub enhanced_status_codes: bool,
    /// STARTTLS (RFC 3207, [`crate::ext::starttls`]): the application can
    /// do a TLS handshake.
    pub starttls: bool,
    /// AUTH (RFC 4954, [`crate::ext::auth`]) mechanisms; empty means no
    /// AUTH.
    pub auth: Vec<Mechanism>,
    /// Offer AUTH only on a TLS session (RFC 4954 §4: PLAIN needs a
    /// protected channel).
    pub auth_requires_tls: bool,
    /// Refuse MAIL before AUTH with `530 5.7.0` (RFC 6409 §4.3).
    pub auth_required: bool,
    /// DELIVERBY (RFC 2852, [`crate::ext::deliverby`]) with this minimum
    /// by-time in seconds. RFC 2852 §4 gives it at most nine digits: a
    /// larger value counts as 999,999,999.
    pub deliver_by: Option<u32>,
    /// MT-PRIORITY (RFC 6710, [`crate::ext::mt_priority`]) with an
    /// optional profile name.
    pub mt_priority: Option<Option<String>>,
    /// FUTURERELEASE (RFC 4865, [`crate::ext::future_release`]) with these
    /// hold limits.
    pub future_release: Option<HoldLimits>,
    /// RRVS (RFC 7293, [`crate::ext::rrvs`]).
    pub rrvs: bool,
    /// REQUIRETLS (RFC 8689, [`crate::ext::requiretls`]); advertised and
    /// accepted only under TLS.
    pub requiretls: bool,
    /// Advertise LIMITS (RFC 9422, [`crate::ext::limits`]) from [`Limits`].
    pub limits: bool,
    /// VRFY decided by the application; otherwise `252` (RFC 5321 §3.5.3).
    pub vrfy: bool,
    /// EXPN decided by the application; otherwise `252`.
    pub expn: bool,
    /// HELP (RFC 5321 §4.1.1.8, [`crate::ext::optional_commands`]).
    pub help: bool,
    /// ETRN (RFC 1985, [`crate::ext::etrn`]), decided by the application.
    pub etrn: bool,
    /// ATRN (RFC 2645, [`crate::ext::atrn`]), decided by the application;
    /// needs AUTH.
    pub atrn: bool,
    /// TURN (RFC 821 §3.8, [`crate::ext::rfc821`]), decided by the
    /// application.
    pub turn: bool,
    /// SEND, SOML and SAML (RFC 821 §3.4, [`crate::ext::rfc821`]), handed
    /// over as MAIL variants.
    pub send: bool,
    /// XCLIENT (Postfix, [`crate::ext::xclient`]): advertised, and served
    /// as [`super::Event::Xclient`], only in sessions the application
    /// authorises with [`super::Server::set_xclient_authorized`]; others
    /// get `550 5.7.0`.
    pub xclient: bool,
    /// XFORWARD (Postfix, [`crate::ext::xforward`]): likewise, authorised
    /// with [`super::Server::set_xforward_authorized`].
    pub xforward: bool,
    /// The application's own EHLO keywords, with their parameters
    /// ([`crate::ext::custom`]), written after the ones the machine
    /// advertises, each keyword once. Their commands are private verbs
    /// ([`ServerConfig::private_verbs`]).
    pub custom: Vec<CustomCapability>,
    /// CHECKPOINT (RFC 1845, [`crate::ext::checkpoint`]): `TRANSID=` is
    /// handed over on [`super::Event::Mail`], and the application may
    /// restart the transaction it names ([`super::Decision::restart`]).
    /// Not offered in LMTP.
    pub checkpoint: bool,
    /// BURL (RFC 4468, [`crate::ext::burl`]) with these EHLO arguments
    /// (`imap`, `imap://authority`): the URL schemes the application
    /// resolves in [`super::Event::Burl`]; none lets it decide every URL.
    /// For submission only (RFC 4468 §3.1: never on a port-25 relay, nor
    /// in LMTP); before AUTH, when [`Extensions::auth_required`], it is
    /// advertised without arguments.
    pub burl: Option<Vec<String>>,
    /// NO-SOLICITING (RFC 3865, [`crate::ext::no_soliciting`]), with the
    /// solicitation class keywords refused in every message, if any (none
    /// by default, RFC 3865 §2.8). `SOLICIT=` is handed to the
    /// application, whose policy answers with
    /// [`no_soliciting::refusal`](crate::ext::no_soliciting::refusal).
    pub no_soliciting: Option<Option<Solicit<'static>>>,
    /// MTRK (RFC 3885, [`crate::ext::mtrk`]): `MTRK=` handed over, checked
    /// to come with `ENVID=local@host` (§3.2); offered only with `dsn`,
    /// whose ENVID and ORCPT it needs.
    pub mtrk: bool,
    /// SUBMITTER (RFC 4405, [`crate::ext::submitter`]): `SUBMITTER=`
    /// handed over, for the application's checks and §4.2 replies.
    pub submitter: bool,
    /// CONPERM (RFC 4141 §4, [`crate::ext::conneg`]): the `CONPERM` flag
    /// on MAIL handed over; otherwise refused with `504`.
    pub conperm: bool,
    /// CONNEG (RFC 4141 §5, [`crate::ext::conneg`]): the `CONNEG` flag on
    /// RCPT handed over, answered with the recipient's capabilities
    /// ([`conneg::rcpt_reply`](crate::ext::conneg::rcpt_reply));
    /// otherwise refused with `504`.
    pub conneg: bool,
    /// UTF8SMTP (RFC 5336, obsoleted by RFC 6531, [`crate::ext::utf8smtp`])
    /// beside SMTPUTF8, for legacy clients: `ALT-ADDRESS=` and a UTF-8
    /// envelope without the SMTPUTF8 parameter are accepted; needs
    /// `eight_bit_mime` (RFC 5336 §3.1).
    pub utf8smtp: bool,
    /// VERB ([`crate::ext::sendmail`]): `250` and verbose mode on
    /// ([`Server::is_verbose`](super::Server::is_verbose)); otherwise 502.
    pub verb: bool,
    /// ONEX ([`crate::ext::sendmail`]): `250`, and the session takes one
    /// more transaction only; otherwise 502.
    pub onex: bool,
}

impl Default for Extensions {
    fn default() -> Self {
        Self {
            pipelining: true,
            eight_bit_mime: true,
            chunking: true,
            binary_mime: true,
            smtputf8: true,
            dsn: true,
            enhanced_status_codes: true,
            starttls: false,
            auth: Vec::new(),
            auth_requires_tls: true,
            auth_required: false,
            deliver_by: None,
            mt_priority: None,
            future_release: None,
            rrvs: false,
            requiretls: false,
            limits: true,
            vrfy: false,
            expn: false,
            help: true,
            etrn: false,
            atrn: false,
            turn: false,
            send: false,
            xclient: false,
            xforward: false,
            custom: Vec::new(),
            checkpoint: false,
            burl: None,
            no_soliciting: None,
            mtrk: false,
            submitter: false,
            conperm: false,
            conneg: false,
            utf8smtp: false,
            verb: false,
            onex: false,
        }
    }
}

/// Resource limits. Whatever the peer sends, the session buffers no more
/// than `max_buffered` octets of input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4 says 512;
    /// extensions add to it, RFC 1869 §4.1.2).
    pub command_line: usize,
    /// Longest SASL response line (RFC 4954 §4 suggests 12288).
    pub auth_line: usize,
    /// Longest text line in DATA, CRLF included (RFC 5321 §4.5.3.1.6).
    pub data_line: usize,
    /// Largest message in octets (advertised as SIZE, RFC 1870); `None`
    /// for no limit.
    pub message_size: Option<u64>,
    /// Recipients per message; more get `452 4.5.3` (RFC 5321
    /// §4.5.3.1.10). RFC 5321 §4.5.3.1.8 asks for at least 100.
    pub recipients: u32,
    /// Transactions per session (advertised as LIMITS MAILMAX).
    pub transactions: Option<u32>,
    /// Bad commands before the session is closed with `421`.
    pub errors: u32,
    /// Failed AUTH attempts before the session is closed with `421`.
    pub auth_attempts: u32,
    /// Input octets held while commands wait for a decision.
    pub max_buffered: usize,
    /// Reply octets queued for [`Server::poll_transmit`](super::Server::poll_transmit)
    /// above which the session stops consuming input, as it does while a
    /// decision is owed: pipelined `HELP` or `NOOP` lines would otherwise
    /// turn each octet of input into many of output. The queue never
    /// holds more than this plus one reply; a driver that transmits before
    /// reading again keeps the whole session within its limits.
    pub max_queued_replies: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            command_line: 4096,
            auth_line: 12288,
            data_line: 1000,
            message_size: Some(35 * 1024 * 1024),
            recipients: 100,
            transactions: None,
            errors: 20,
            auth_attempts: 3,
            max_buffered: 256 * 1024,
            max_queued_replies: 64 * 1024,
        }
    }
}

/// Server timeouts (RFC 5321 §4.5.3.2.7: at least five minutes waiting for
/// a command; data blocks get the same).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Timeouts {
    /// Waiting for the next complete command line (RFC 5321 §4.5.3.2.7:
    /// at least 5 minutes). Octets of a line that is not complete do not
    /// restart it, so a client sending one octet at a time is closed with
    /// `421 4.4.2` this long after its last complete line.
    pub command: Duration,
    /// Waiting for more message content (any octets of it).
    pub data: Duration,
    /// The whole content of one message, from DATA or the first BDAT to
    /// its end, however steadily it arrives: bounds a client that trickles
    /// content just fast enough for `data`.
    pub message: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
            message: Duration::from_secs(3600),
        }
    }
}

impl ServerConfig {
    /// A configuration with RFC-sane defaults for `hostname`, a domain or
    /// an address literal such as `[192.0.2.1]` (RFC 5321 §4.1.2, §4.1.3;
    /// underscores are tolerated).
    ///
    /// Anything else is an error here rather than a greeting that cannot
    /// carry a capability list later.
    ///
    /// ```
    /// use esmtp::server::ServerConfig;
    ///
    /// assert!(ServerConfig::new("mx.example.org").is_ok());
    /// assert!(ServerConfig::new("[192.0.2.1]").is_ok());
    /// assert!(ServerConfig::new("mx_1.example.org").is_ok());
    /// assert!(ServerConfig::new("mx.example.net ").is_err());
    /// ```
    pub fn new(hostname: impl Into<String>) -> Result<Self, ConfigError> {
        let hostname = hostname.into();
        // Underscores are allowed, as in the names hosts are given in
        // practice (container names); RFC 5321 §4.1.2 would refuse them.
        let rules = DomainRules {
            utf8: true,
            underscore: true,
        };
        if Host::parse_str(&hostname, rules).is_err() {
            return Err(ConfigError::Hostname(hostname));
        }
        Ok(Self {
            hostname,
            greeting: "ESMTP esmtp".into(),
            lmtp: false,
            ask_on_connect: false,
            extensions: Extensions::default(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            strictness: Strictness::Lenient,
            bare_line_endings: BarePolicy::Reject,
            private_verbs: Vec::new(),
            proxy_protocol: None,
        })
    }

    /// The name in the greeting, the EHLO reply and trace fields.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The same configuration in LMTP mode (RFC 2033).
    pub fn lmtp(mut self) -> Self {
        self.lmtp = true;
        self.greeting = "LMTP esmtp".into();
        self
    }
}
