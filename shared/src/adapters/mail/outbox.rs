//! The outbox folder: each message a `.eml` file that any mail client opens, for a laptop without a mail service.
//! Whoever built the mailer is told each file's path once (the local server prints it); the message's links stay
//! in the file, never in a log line.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Sender, mime_message};
use crate::ports::{Email, MailError, Mailer};

/// Told the path of each message written.
pub type Announce = Box<dyn Fn(&Path) + Send + Sync>;

pub struct OutboxMailer {
    folder: PathBuf,
    from: Sender,
    announce: Announce,
}

impl OutboxMailer {
    /// Writes into `folder` (created when the first message is written).
    pub fn new(folder: PathBuf, from: Sender, announce: Announce) -> Self {
        Self {
            folder,
            from,
            announce,
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let bytes = mime_message(email, &self.from)?.formatted();
        let unavailable = |error: std::io::Error| MailError::Unavailable(Box::new(error));
        tokio::fs::create_dir_all(&self.folder)
            .await
            .map_err(unavailable)?;
        // Time-ordered, so the newest message sorts last; the uuid's randomness keeps two at one instant apart.
        let path = self
            .folder
            .join(format!("{}.eml", uuid::Uuid::now_v7().simple()));
        // Written under another name first: a reader never sees half a message.
        let partial = path.with_extension("eml.partial");
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(unavailable)?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(unavailable)?;
        (self.announce)(&path);
        Ok(())
    }
}
