//! Authentication events: what the [`UserManager`](crate::UserManager) tells the log, the
//! metrics and the audit trail.
//!
//! Every step of the manager (a registration, a login and each way it fails, a refresh, a
//! revocation, a change of the account...) goes through one emission point, which:
//! - writes one `tracing` line at target `auth`, with an `event` field naming the step;
//! - with feature `metrics`, counts it (`auth_logins_total`, `auth_throttled_total`,
//!   `auth_refreshes_total`, `auth_refresh_reuse_total`, `auth_revocations_total`,
//!   `auth_registrations_total`, through the `metrics` facade, so any exporter works);
//! - when an [`AuditLog`](crate::AuditLog) is configured and the event names a user, keeps
//!   it as an [`AuditEvent`] in that user's trail, off the request path.
//!
//! No event holds a secret: no password, token, code or link; the changed fields of an
//! account are named, never their values.

mod kind;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod queue;
mod record;

pub use kind::{EventKind, EventMethod};
pub(crate) use queue::AuditQueue;
pub use record::{AuditEvent, MAX_NAME_CHARS, MAX_TEXT_CHARS};
