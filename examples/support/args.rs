//! The command line shared by both example servers (parsed by hand, so the
//! examples need no argument-parsing crate).

use std::net::SocketAddr;
use std::path::PathBuf;

/// One line per flag; printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: server [--listen ADDR:PORT] [--maildir DIR] [--hostname NAME]
              [--tls-cert PEM --tls-key PEM] [--user NAME:PASSWORD]...
              [--max-size BYTES] [--lmtp]

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
        }
    }
}

/// What parsing produced: arguments to run with, or a request for help.
pub enum Parsed {
    /// Start the server with these arguments.
    Run(Args),
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
        let takes_value = !matches!(flag.as_str(), "--lmtp" | "--help" | "-h");
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
    Ok(Parsed::Run(args))
}

/// Parses `std::env::args()`; prints the usage and exits on `--help` (0)
/// or on a usage error (2).
pub fn from_env() -> Args {
    match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
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
