//! Graceful shutdown of the tokio runtime: the handle that asks for it, and
//! the levels a session sees. Asked, the listeners stop accepting and open
//! sessions get `421` between commands — a decision under way is answered
//! first and a message being received may finish; at the end of
//! [`RuntimeConfig::shutdown_timeout`](super::RuntimeConfig::shutdown_timeout)
//! the rest get their `421` at once (a message being received is aborted),
//! and those still open a moment later are dropped.

use std::sync::Arc;

use tokio::sync::watch;

/// Serving.
pub(super) const RUNNING: u8 = 0;
/// Shutting down: `421` between commands, messages under way may finish.
pub(super) const GRACEFUL: u8 = 1;
/// The grace period is over: `421` now, whatever is under way.
pub(super) const FORCED: u8 = 2;

/// Asks a server to shut down; cheap to clone and to keep. From
/// [`SmtpServer::shutdown_handle`](super::SmtpServer::shutdown_handle).
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<u8>>,
}

impl ShutdownHandle {
    pub(super) fn new() -> Self {
        ShutdownHandle {
            tx: Arc::new(watch::Sender::new(RUNNING)),
        }
    }

    /// Starts the shutdown; the `serve` calls return once their sessions
    /// are done. Asking again does nothing more.
    pub fn shutdown(&self) {
        self.raise(GRACEFUL);
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutdown(&self) -> bool {
        *self.tx.borrow() != RUNNING
    }

    /// The grace period is over.
    pub(super) fn force(&self) {
        self.raise(FORCED);
    }

    fn raise(&self, level: u8) {
        self.tx.send_if_modified(|current| {
            let raised = level > *current;
            if raised {
                *current = level;
            }
            raised
        });
    }

    /// A receiver that sees the shutdown's level.
    pub(super) fn subscribe(&self) -> watch::Receiver<u8> {
        self.tx.subscribe()
    }
}
