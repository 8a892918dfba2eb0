//! [`MemoryMailer`]: an outbox in memory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Mail, MailError, Mailer};

/// Keeps every message in memory; cheap to clone, clones share the outbox. For tests and for
/// apps that deliver mail themselves.
///
/// ```
/// use auth_core::MemoryMailer;
/// let mailer = MemoryMailer::new();
/// assert!(mailer.sent().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    outbox: Arc<Mutex<Vec<Mail>>>,
}

impl MemoryMailer {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The newest message to `to`, if any.
    pub fn last_to(&self, to: &str) -> Option<Mail> {
        self.sent()
            .into_iter()
            .rev()
            .find(|mail| mail.to.key() == to.to_lowercase())
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(mail.clone());
        Ok(())
    }
}
