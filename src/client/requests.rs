//! The caller's requests: messages to send (whole or streamed) and the
//! commands it queues (NOOP, VRFY, EXPN, HELP, ETRN, ATRN, TURN, VERB,
//! ONEX, QUIT).

use std::collections::VecDeque;

use bytes::Bytes;

use super::content::{crlf_len, Source};
use super::envelope::{check_envelope, checked_text, Envelope};
use super::event::{ApiError, MessageId, MessageOutcome, RecipientOutcome};
use super::pipeline::Job;
use super::{Client, Message, Phase};
use crate::command::{Command, Etrn, Utf8Reply};
use crate::data::{classify, ContentKind};
use crate::ehlo::Keyword;
use crate::ext::burl::Part;
use crate::values::Domain;

impl Client {
    pub(super) fn accepting(&self) -> Result<(), ApiError> {
        if self.quit_queued || matches!(self.phase, Phase::Quitting(_) | Phase::Closed) {
            Err(ApiError::Closing)
        } else {
            Ok(())
        }
    }

    pub(super) fn new_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Queues a message whose content is all here. The content is sent as
    /// given, except that every line end becomes CRLF (RFC 5321 §2.3.8;
    /// not for BINARYMIME) and dots are stuffed for DATA.
    pub fn submit(
        &mut self,
        envelope: Envelope,
        content: impl Into<Bytes>,
    ) -> Result<MessageId, ApiError> {
        self.accepting()?;
        check_envelope(&envelope)?;
        let content = content.into();
        let kind = classify(&content);
        let size = crlf_len(&content);
        let id = self.new_id();
        self.queue_message(id, envelope, Source::Whole(content), kind, Some(size));
        Ok(id)
    }

    /// Queues a message whose content will be pushed in chunks with
    /// [`push_content`](Self::push_content) and ended with
    /// [`finish_content`](Self::finish_content). The caller declares what
    /// the content needs (`kind`, for `BODY=`) and its size if known (for
    /// `SIZE=`, RFC 1870), since MAIL goes out before the content.
    /// [`Event::ContentWanted`](crate::client::Event::ContentWanted) says when pushing is useful; chunks pushed
    /// before are held.
    ///
    /// Streamed content can be sent once only: recipients that need a
    /// second transaction fail with [`MessageError::TooManyRecipients`](crate::client::MessageError::TooManyRecipients).
    pub fn submit_streaming(
        &mut self,
        envelope: Envelope,
        kind: ContentKind,
        size: Option<u64>,
    ) -> Result<MessageId, ApiError> {
        self.accepting()?;
        check_envelope(&envelope)?;
        let id = self.new_id();
        let source = Source::Stream {
            chunks: VecDeque::new(),
            finished: false,
            consumed: false,
        };
        self.queue_message(id, envelope, source, kind, size);
        Ok(id)
    }

    /// Queues a message made of parts: content the client sends, and URLs
    /// the server fetches content from (BURL, RFC 4468), joined in order.
    /// The server must offer BURL with each URL's scheme (after AUTH, a
    /// server may name more: RFC 4468 §3.1, see
    /// [`ClientConfig::ehlo_after_auth`](super::ClientConfig::ehlo_after_auth)),
    /// and CHUNKING for content between them: otherwise the message fails
    /// with [`MessageError::ExtensionUnsupported`](super::MessageError::ExtensionUnsupported)
    /// before anything is sent for it. The URL parts go as BURL, the
    /// others as BDAT (line ends made CRLF, as with [`submit`](Self::submit)),
    /// pipelined when offered, the last with LAST.
    ///
    /// No `SIZE=` is declared, as the size of what a URL refers to is not
    /// known; `BODY=` follows the content given (set it in the envelope's
    /// parameters when the URLs' content needs more). Parts without a URL
    /// are joined (one copy) and sent as by [`submit`](Self::submit).
    pub fn submit_parts(
        &mut self,
        envelope: Envelope,
        parts: Vec<Part>,
    ) -> Result<MessageId, ApiError> {
        if !parts.iter().any(|p| matches!(p, Part::Burl(_))) {
            let mut whole = Vec::new();
            for part in &parts {
                if let Part::Bytes(b) = part {
                    whole.extend_from_slice(b);
                }
            }
            return self.submit(envelope, whole);
        }
        self.accepting()?;
        check_envelope(&envelope)?;
        let kind = parts
            .iter()
            .filter_map(|p| match p {
                Part::Bytes(b) => Some(classify(b)),
                Part::Burl(_) => None,
            })
            .max()
            .unwrap_or(ContentKind::SevenBit);
        let id = self.new_id();
        self.queue_message(id, envelope, Source::Parts(parts), kind, None);
        Ok(id)
    }

    pub(super) fn queue_message(
        &mut self,
        id: MessageId,
        envelope: Envelope,
        source: Source,
        kind: ContentKind,
        size: Option<u64>,
    ) {
        let n = envelope.recipients.len();
        let msg = Message {
            id,
            source,
            kind,
            size,
            outcome: MessageOutcome {
                id,
                mail: Vec::new(),
                recipients: vec![RecipientOutcome::default(); n],
                error: None,
                content_end_sent: false,
            },
            remaining: (0..n).collect(),
            envelope,
        };
        self.jobs.push_back(Job::Message(Box::new(msg)));
        self.pump();
    }

    pub(super) fn stream_of(&mut self, id: MessageId) -> Option<&mut Source> {
        if let Some(cur) = self.current.as_mut().filter(|c| c.msg.id == id) {
            return Some(&mut cur.msg.source);
        }
        self.jobs.iter_mut().find_map(|j| match j {
            Job::Message(m) if m.id == id => Some(&mut m.source),
            _ => None,
        })
    }

    /// Appends content to a streamed message.
    pub fn push_content(&mut self, id: MessageId, chunk: impl Into<Bytes>) -> Result<(), ApiError> {
        match self.stream_of(id) {
            Some(Source::Stream {
                chunks,
                finished: false,
                ..
            }) => {
                let chunk = chunk.into();
                if !chunk.is_empty() {
                    chunks.push_back(chunk);
                }
                self.timer.restart();
                Ok(())
            }
            _ => Err(ApiError::UnknownMessage),
        }
    }

    /// Ends a streamed message's content.
    pub fn finish_content(&mut self, id: MessageId) -> Result<(), ApiError> {
        match self.stream_of(id) {
            Some(Source::Stream {
                finished: finished @ false,
                ..
            }) => {
                *finished = true;
                self.timer.restart();
                Ok(())
            }
            _ => Err(ApiError::UnknownMessage),
        }
    }

    pub(super) fn request(&mut self, cmd: Command<'static>) -> Result<(), ApiError> {
        self.accepting()?;
        cmd.check()?;
        self.jobs.push_back(Job::Command(Box::new(cmd)));
        self.pump();
        Ok(())
    }

    /// Queues NOOP (RFC 5321 §4.1.1.9); the reply comes as
    /// [`Event::CommandReply`](crate::client::Event::CommandReply).
    pub fn noop(&mut self) -> Result<(), ApiError> {
        self.request(Command::Noop(None))
    }

    /// Queues VRFY (RFC 5321 §4.1.1.6).
    pub fn vrfy(&mut self, target: &str) -> Result<(), ApiError> {
        let target = checked_text(target)?;
        let utf8 = if target.is_ascii() {
            Utf8Reply::No
        } else {
            Utf8Reply::SmtpUtf8
        };
        self.request(Command::Vrfy {
            target: target.to_owned().into(),
            utf8,
        })
    }

    /// Queues EXPN (RFC 5321 §4.1.1.7).
    pub fn expn(&mut self, target: &str) -> Result<(), ApiError> {
        let target = checked_text(target)?;
        self.request(Command::Expn {
            target: target.to_owned().into(),
            utf8: Utf8Reply::No,
        })
    }

    /// Queues HELP (RFC 5321 §4.1.1.8).
    pub fn help(&mut self, topic: Option<&str>) -> Result<(), ApiError> {
        let topic = topic.map(checked_text).transpose()?;
        self.request(Command::Help(topic.map(|t| t.to_owned().into())))
    }

    /// Queues ETRN (RFC 1985).
    pub fn etrn(&mut self, target: Etrn<'static>) -> Result<(), ApiError> {
        if let Etrn::Queue(q) = &target {
            checked_text(q)?;
        }
        self.request(Command::Etrn(target))
    }

    /// Queues ATRN (RFC 2645): after `250` the roles reverse
    /// ([`Event::Reversed`](crate::client::Event::Reversed)).
    pub fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Result<(), ApiError> {
        self.request(Command::Atrn(domains))
    }

    /// Queues TURN (RFC 821 §3.8): after `250` the roles reverse.
    pub fn turn(&mut self) -> Result<(), ApiError> {
        self.request(Command::Turn)
    }

    /// Queues VERB (sendmail: verbose mode), once the server's
    /// capabilities show it offers it; the reply comes as
    /// [`Event::CommandReply`](crate::client::Event::CommandReply).
    /// [`ApiError::NotOffered`] when it does not, or before they are known.
    pub fn verb(&mut self) -> Result<(), ApiError> {
        self.offered(Keyword::Verb)?;
        self.request(Command::Verb)
    }

    /// Queues ONEX (sendmail: this session will carry one more transaction
    /// only), as [`Client::verb`] does VERB. Keeping the promise is the
    /// caller's: a server that enforces it refuses the next MAIL.
    pub fn onex(&mut self) -> Result<(), ApiError> {
        self.offered(Keyword::Onex)?;
        self.request(Command::Onex)
    }

    fn offered(&self, keyword: Keyword) -> Result<(), ApiError> {
        match &self.caps {
            Some(c) if c.supports(keyword) => Ok(()),
            _ => Err(ApiError::NotOffered(keyword.name())),
        }
    }

    /// Queues QUIT after everything already queued; nothing can be queued
    /// after it.
    pub fn quit(&mut self) {
        if self.accepting().is_ok() {
            self.quit_queued = true;
            self.jobs.push_back(Job::Quit);
            self.pump();
        }
    }
}
