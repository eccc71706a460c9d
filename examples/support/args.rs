//! The command line shared by both example servers (parsed by hand, so the
//! examples need no argument-parsing crate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One line per flag; printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: server [--listen ADDR:PORT] [--maildir DIR] [--hostname NAME]
              [--tls-cert PEM --tls-key PEM] [--user NAME:PASSWORD]...
              [--max-size BYTES] [--lmtp] [--allow-plaintext-auth]
              [--max-connections N] [--max-connections-per-ip N]
              [--command-timeout SECS] [--data-timeout SECS]
              [--message-timeout SECS]

  --listen ADDR:PORT      address to listen on (default 127.0.0.1:2525)
  --maildir DIR           Maildir to deliver into; tmp/ new/ cur/ are created
                          (default ./maildir)
  --hostname NAME         name in the greeting, EHLO reply and Received:
                          (default: this machine's host name)
  --tls-cert PEM          certificate chain (PEM); with --tls-key, offers STARTTLS
  --tls-key PEM           private key (PEM: PKCS#8, PKCS#1 or SEC1)
  --user NAME:PASSWORD    accept this AUTH user (PLAIN, LOGIN, CRAM-MD5);
                          repeat for more users
  --max-size BYTES        largest message accepted (SIZE); default 35 MiB
  --lmtp                  speak LMTP (RFC 2033) instead of SMTP
  --allow-plaintext-auth  offer AUTH without TLS on a non-loopback address
                          (without a certificate AUTH is otherwise offered
                          only when listening on loopback)
  --max-connections N     sessions at once; more get 421 4.7.0 (default 2000)
  --max-connections-per-ip N
                          sessions at once from one client address; more
                          get 421 4.7.0 (default 50, as Postfix)
  --command-timeout SECS  close with 421 4.4.2 when no complete command line
                          came for this long; octets of a partial line do
                          not count (default 300, RFC 5321 4.5.3.2.7)
  --data-timeout SECS     the same while waiting for message content
                          (default 300)
  --message-timeout SECS  most time one message's content may take, however
                          steadily it arrives (default 3600)
  --help                  print this help";

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Args {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The Maildir delivered into.
    pub maildir: PathBuf,
    /// The server's name; `None` means "ask the system".
    pub hostname: Option<String>,
    /// Certificate and key files, for STARTTLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// AUTH users as (name, password).
    pub users: Vec<(String, String)>,
    /// `Limits::message_size`, when given.
    pub max_size: Option<u64>,
    /// LMTP instead of SMTP.
    pub lmtp: bool,
    /// AUTH without TLS on a non-loopback listener.
    pub allow_plaintext_auth: bool,
    /// Sessions at once.
    pub max_connections: usize,
    /// Sessions at once from one IP address.
    pub max_connections_per_ip: usize,
    /// `Timeouts::command`, `data` and `message`.
    pub command_timeout: Duration,
    /// See `command_timeout`.
    pub data_timeout: Duration,
    /// See `command_timeout`.
    pub message_timeout: Duration,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
            maildir: PathBuf::from("./maildir"),
            hostname: None,
            tls: None,
            users: Vec::new(),
            max_size: None,
            lmtp: false,
            allow_plaintext_auth: false,
            max_connections: 2000,
            max_connections_per_ip: 50,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(300),
            message_timeout: Duration::from_secs(3600),
        }
    }
}

/// What parsing produced: arguments to run with, or a request for help.
pub enum Parsed {
    /// Start the server with these arguments.
    Run(Box<Args>),
    /// `--help`: print the usage and exit.
    Help,
}

/// Parses the arguments after the program name. `--flag value` and
/// `--flag=value` are both accepted.
pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args::default();
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = !matches!(
            flag.as_str(),
            "--lmtp" | "--help" | "-h" | "--allow-plaintext-auth"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => argv.next().ok_or_else(|| format!("{flag} needs a value"))?,
            }
        } else if inline.is_some() {
            return Err(format!("{flag} takes no value"));
        } else {
            String::new()
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Parsed::Help),
            "--lmtp" => args.lmtp = true,
            "--allow-plaintext-auth" => args.allow_plaintext_auth = true,
            "--max-connections" => args.max_connections = positive(&flag, &value)?,
            "--max-connections-per-ip" => {
                args.max_connections_per_ip = positive(&flag, &value)?;
            }
            "--command-timeout" => args.command_timeout = seconds(&flag, &value)?,
            "--data-timeout" => args.data_timeout = seconds(&flag, &value)?,
            "--message-timeout" => args.message_timeout = seconds(&flag, &value)?,
            "--listen" => {
                args.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e} (want ADDR:PORT)"))?;
            }
            "--maildir" => args.maildir = PathBuf::from(value),
            "--hostname" => {
                if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("--hostname {value:?}: not a host name"));
                }
                args.hostname = Some(value);
            }
            "--tls-cert" => cert = Some(PathBuf::from(value)),
            "--tls-key" => key = Some(PathBuf::from(value)),
            "--user" => {
                let (name, password) = value
                    .split_once(':')
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or_else(|| format!("--user {value}: want NAME:PASSWORD"))?;
                args.users.push((name.to_owned(), password.to_owned()));
            }
            "--max-size" => {
                let n = value
                    .parse::<u64>()
                    .map_err(|e| format!("--max-size {value}: {e}"))?;
                args.max_size = Some(n);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    args.tls = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(Parsed::Run(Box::new(args)))
}

/// A count of at least 1.
fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {value}: want a positive number")),
    }
}

/// Whole seconds, at least 1.
fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    positive(flag, value).map(|n| Duration::from_secs(n as u64))
}

/// Parses `std::env::args()`; prints the usage and exits on `--help` (0)
/// or on a usage error (2).
pub fn from_env() -> Args {
    match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => *args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            std::process::exit(2);
        }
    }
}
