//! Graceful shutdown of the tokio runtime: the handle that asks for it.
//! The listeners stop accepting, open sessions get `421` between commands
//! (never while the handler answers an end of message), and the sessions
//! left after [`RuntimeConfig::shutdown_timeout`](super::RuntimeConfig::shutdown_timeout)
//! are dropped.

use std::sync::Arc;

use tokio::sync::watch;

/// Asks a server to shut down; cheap to clone and to keep. From
/// [`SmtpServer::shutdown_handle`](super::SmtpServer::shutdown_handle).
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    pub(super) fn new() -> Self {
        ShutdownHandle {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Starts the shutdown; the `serve` calls return once their sessions
    /// are done. Asking again does nothing more.
    pub fn shutdown(&self) {
        self.tx.send_replace(true);
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        *self.tx.borrow()
    }

    /// A receiver that sees the shutdown.
    pub(super) fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}
