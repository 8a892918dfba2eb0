//! The counters of the manager's events (feature `metrics`), through the `metrics` facade.

use super::{EventKind, EventMethod};

/// Counts one event in the counter it belongs to, if any.
pub(crate) fn count(kind: EventKind, method: Option<EventMethod>, detail: Option<&str>) {
    let method_label = method.map_or("", EventMethod::as_str);
    let detail = detail.unwrap_or("").to_owned();
    match kind {
        EventKind::LoginSucceeded => {
            metrics::counter!("auth_logins_total", "outcome" => "success", "reason" => "", "method" => method_label)
                .increment(1);
        }
        EventKind::LoginFailed => {
            metrics::counter!("auth_logins_total", "outcome" => "failure", "reason" => detail, "method" => method_label)
                .increment(1);
        }
        EventKind::Throttled => {
            if method.is_some_and(EventMethod::is_login) {
                metrics::counter!("auth_logins_total", "outcome" => "failure", "reason" => "throttled", "method" => method_label)
                    .increment(1);
            }
            metrics::counter!("auth_throttled_total", "throttle" => detail).increment(1);
        }
        EventKind::Refreshed => {
            metrics::counter!("auth_refreshes_total", "outcome" => "success").increment(1);
        }
        EventKind::RefreshFailed => {
            metrics::counter!("auth_refreshes_total", "outcome" => "failure").increment(1);
        }
        EventKind::RefreshTokenReused => {
            metrics::counter!("auth_refreshes_total", "outcome" => "failure").increment(1);
            metrics::counter!("auth_refresh_reuse_total").increment(1);
            metrics::counter!("auth_revocations_total", "reason" => "reuse").increment(1);
        }
        EventKind::LoggedOut => {
            metrics::counter!("auth_revocations_total", "reason" => "logout").increment(1);
        }
        EventKind::LoggedOutEverywhere => {
            metrics::counter!("auth_revocations_total", "reason" => "logout_all").increment(1);
        }
        EventKind::SessionRevoked => {
            metrics::counter!("auth_revocations_total", "reason" => detail).increment(1);
        }
        EventKind::Registered => {
            metrics::counter!("auth_registrations_total", "method" => method_label).increment(1);
        }
        _ => {}
    }
}
