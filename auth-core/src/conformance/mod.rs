//! The conformance suite every store backend runs (feature `test-suite`).
//!
//! One `pub async fn` per behaviour, generic over the trait, so that the memory stores,
//! Postgres, SQLite and Redis are all held to the same rules. A backend's tests
//! either call the functions one by one, or instantiate every one as its own `#[tokio::test]`
//! with a macro, so a failure names the behaviour:
//!
//! ```ignore
//! // in auth-sqlx/tests/postgres.rs
//! auth_core::user_store_conformance!(fresh_pg_user_store().await);
//! auth_core::session_store_conformance!(fresh_pg_session_store().await);
//! auth_core::oauth_account_store_conformance!(fresh_pg_user_store().await);
//! auth_core::mfa_store_conformance!(fresh_pg_user_store().await);
//! auth_core::audit_log_conformance!(fresh_pg_audit_log().await);
//! ```
//!
//! A store that needs cleaning up after each test (a temporary database, a schema to drop)
//! hands the macro a [`Fixture`] (or a `(store, guard)` pair) instead of a bare store: the
//! tests run against the store, and the guard is dropped when the test ends. Nothing needs
//! to forward the store traits.
//!
//! ```ignore
//! auth_core::user_store_conformance!({
//!     let schema = Schema::create().await; // drops the schema in its `Drop`
//!     auth_core::conformance::Fixture { store: PgUserStore::new(schema.pool().await), guard: schema }
//! });
//! ```
//!
//! The macros need `tokio` (features `macros`, `rt-multi-thread`) among the caller's
//! dev-dependencies. The functions create their own unique e-mail addresses and ids, so they
//! may share one store; listing tests filter on a unique tag.
//!
//! A suite's job is to fail loudly, so this module panics on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod audit;
mod counting_hasher;
mod held_hasher;
pub mod limiter;
pub mod mfa;
pub mod oauth;
pub mod revocation;
pub mod sessions;
pub mod user_list;
pub mod users;

pub use counting_hasher::CountingHasher;
pub use held_hasher::HeldHasher;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AuditLog, MfaStore, OAuthAccountStore, RateLimiter, SessionStore, UserStore};

/// Every race of the suite once, against one user store and one session store: for a
/// backend to run again under more real concurrency (a pool of many connections) than the
/// per-test fixtures give.
pub async fn every_race<U, S>(users: &U, sessions: &S)
where
    U: OAuthAccountStore<TestProfile> + MfaStore<TestProfile>,
    S: SessionStore,
{
    users::concurrent_registrations_of_one_email_have_one_winner(users).await;
    users::concurrent_conditional_updates_have_one_winner(users).await;
    sessions::concurrent_rotations_with_one_token_have_one_winner(sessions).await;
    sessions::creations_racing_revoke_all_leave_no_session(sessions).await;
    sessions::concurrent_creations_respect_the_session_limit(sessions).await;
    oauth::concurrent_links_of_one_account_have_one_winner(users).await;
    oauth::concurrent_creations_with_one_account_leave_one_user(users).await;
    oauth::concurrent_unlinks_keeping_one_leave_one_link(users).await;
    mfa::concurrent_uses_of_one_step_have_one_winner(users).await;
    mfa::concurrent_uses_of_one_recovery_code_have_one_winner(users).await;
    mfa::concurrent_adds_of_one_credential_have_one_winner(users).await;
}

/// A store under test and whatever keeps its database alive: the conformance macros run the
/// test against `store`, then drop both, so `guard`'s `Drop` can delete the temporary database
/// or schema after the test.
#[derive(Debug)]
pub struct Fixture<S, G> {
    /// The store the tests run against.
    pub store: S,
    /// Held, never read: dropped after the test (after `store`).
    pub guard: G,
}

/// What [`user_store_conformance!`](crate::user_store_conformance) accepts: a user store, a
/// [`Fixture`] holding one, or a `(store, guard)` pair.
pub trait UserStoreUnderTest {
    /// The store the tests run against.
    type Store: UserStore<TestProfile>;
    /// The store, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: UserStore<TestProfile>> UserStoreUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: UserStore<TestProfile>, G> UserStoreUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: UserStore<TestProfile>, G> UserStoreUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// What [`oauth_account_store_conformance!`](crate::oauth_account_store_conformance) accepts:
/// a user store that keeps provider accounts, a [`Fixture`] holding one, or a
/// `(store, guard)` pair.
pub trait OAuthAccountStoreUnderTest {
    /// The store the tests run against.
    type Store: OAuthAccountStore<TestProfile>;
    /// The store, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: OAuthAccountStore<TestProfile>> OAuthAccountStoreUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: OAuthAccountStore<TestProfile>, G> OAuthAccountStoreUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: OAuthAccountStore<TestProfile>, G> OAuthAccountStoreUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// What [`mfa_store_conformance!`](crate::mfa_store_conformance) accepts: a user store that
/// keeps second factors, a [`Fixture`] holding one, or a `(store, guard)` pair.
pub trait MfaStoreUnderTest {
    /// The store the tests run against.
    type Store: MfaStore<TestProfile>;
    /// The store, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: MfaStore<TestProfile>> MfaStoreUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: MfaStore<TestProfile>, G> MfaStoreUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: MfaStore<TestProfile>, G> MfaStoreUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// What [`session_store_conformance!`](crate::session_store_conformance) accepts: a session
/// store, a [`Fixture`] holding one, or a `(store, guard)` pair.
pub trait SessionStoreUnderTest {
    /// The store the tests run against.
    type Store: SessionStore;
    /// The store, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: SessionStore> SessionStoreUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: SessionStore, G> SessionStoreUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: SessionStore, G> SessionStoreUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// What [`rate_limiter_conformance!`](crate::rate_limiter_conformance) accepts: a rate
/// limiter, a [`Fixture`] holding one, or a `(limiter, guard)` pair.
pub trait RateLimiterUnderTest {
    /// The limiter the tests run against.
    type Store: RateLimiter;
    /// The limiter, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: RateLimiter> RateLimiterUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: RateLimiter, G> RateLimiterUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: RateLimiter, G> RateLimiterUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// What [`audit_log_conformance!`](crate::audit_log_conformance) accepts: an audit log, a
/// [`Fixture`] holding one, or a `(log, guard)` pair.
pub trait AuditLogUnderTest {
    /// The log the tests run against.
    type Store: AuditLog;
    /// The log, borrowed for one test.
    fn store(&self) -> &Self::Store;
}

impl<S: AuditLog> AuditLogUnderTest for S {
    type Store = S;
    fn store(&self) -> &S {
        self
    }
}

impl<S: AuditLog, G> AuditLogUnderTest for Fixture<S, G> {
    type Store = S;
    fn store(&self) -> &S {
        &self.store
    }
}

impl<S: AuditLog, G> AuditLogUnderTest for (S, G) {
    type Store = S;
    fn store(&self) -> &S {
        &self.0
    }
}

/// The profile the user-store suite stores: optional and required fields of several types, so
/// a store that drops or mangles them is caught.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestProfile {
    /// An optional string.
    pub first_name: Option<String>,
    /// Another optional string.
    pub second_name: Option<String>,
    /// A number.
    pub age: u32,
}

/// A tag unique to one test run, for e-mail addresses and filters.
pub fn unique_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// The current time in whole seconds, as every store keeps it exactly.
pub fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Instantiates every user-store behaviour as its own `#[tokio::test]`. `$make` is an
/// expression (it may `.await`) giving a fresh `impl UserStore<TestProfile>`, or a [`Fixture`] /
/// `(store, guard)` pair holding one (see [`UserStoreUnderTest`](crate::conformance::UserStoreUnderTest)).
#[macro_export]
macro_rules! user_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            users,
            UserStoreUnderTest,
            $make,
            [
                create_then_get_round_trips_every_field,
                lookup_by_email_is_case_insensitive,
                lookup_by_username_is_case_insensitive,
                unknown_lookups_find_nothing,
                duplicate_email_in_other_case_is_a_conflict,
                duplicate_username_in_other_case_is_a_conflict,
                keys_differing_only_by_accents_are_different_users,
                a_conflict_is_named_by_its_key_not_by_the_value,
                users_without_username_do_not_collide,
                concurrent_registrations_of_one_email_have_one_winner,
                update_replaces_fields_and_moves_the_indexes,
                update_to_a_taken_email_or_username_is_a_conflict,
                update_of_a_missing_user_is_not_found,
                update_is_a_compare_and_set_on_the_version,
                concurrent_conditional_updates_have_one_winner,
                delete_removes_the_user_and_frees_the_email,
                list_pages_in_creation_order_with_a_total,
                list_filters_by_email_substring_case_insensitively,
            ]
        );
        $crate::__conformance_tests!(
            user_list,
            UserStoreUnderTest,
            $make,
            [
                list_filters_by_each_flag,
                list_filters_by_role_exactly,
                list_sorts_by_created_at_and_email,
                list_filters_take_hostile_values_literally,
            ]
        );
    };
}

/// Instantiates every provider-account behaviour of a user store as its own `#[tokio::test]`.
/// `$make` is an expression (it may `.await`) giving a fresh
/// `impl OAuthAccountStore<TestProfile>`, or a [`Fixture`] / `(store, guard)` pair holding one
/// (see [`OAuthAccountStoreUnderTest`](crate::conformance::OAuthAccountStoreUnderTest)).
#[macro_export]
macro_rules! oauth_account_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            oauth,
            OAuthAccountStoreUnderTest,
            $make,
            [
                link_then_find_round_trips_every_field,
                find_account_compares_exactly,
                concurrent_links_of_one_account_have_one_winner,
                linking_an_account_twice_to_one_user_is_a_conflict,
                linking_to_a_missing_user_is_not_found,
                create_with_account_creates_both,
                create_with_account_with_a_taken_email_links_nothing,
                create_with_account_with_a_taken_account_creates_no_user,
                concurrent_creations_with_one_account_leave_one_user,
                deleting_a_user_deletes_their_links,
                update_account_replaces_the_tokens_and_expiry,
                update_account_of_a_link_not_held_is_not_found,
                list_accounts_is_ordered_and_only_the_users,
                unlink_removes_only_the_users_own_link,
                keep_one_keeps_the_last_link,
                concurrent_unlinks_keeping_one_leave_one_link,
            ]
        );
    };
}

/// Instantiates every second-factor behaviour of a user store as its own `#[tokio::test]`.
/// `$make` is an expression (it may `.await`) giving a fresh `impl MfaStore<TestProfile>`, or
/// a [`Fixture`] / `(store, guard)` pair holding one (see
/// [`MfaStoreUnderTest`](crate::conformance::MfaStoreUnderTest)).
#[macro_export]
macro_rules! mfa_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            mfa,
            MfaStoreUnderTest,
            $make,
            [
                a_pending_totp_round_trips,
                set_pending_replaces_a_pending_factor_but_not_a_confirmed_one,
                set_pending_for_a_missing_user_is_not_found,
                confirm_accepts_the_step_and_stores_the_codes,
                confirm_with_a_stale_secret_is_refused,
                confirming_twice_is_refused_the_second_time,
                use_totp_step_accepts_only_later_steps,
                concurrent_uses_of_one_step_have_one_winner,
                remove_totp_removes_the_factor_and_the_codes,
                replace_recovery_codes_voids_the_old_ones,
                a_recovery_code_is_used_once_and_only_by_its_user,
                concurrent_uses_of_one_recovery_code_have_one_winner,
                passkeys_round_trip_oldest_first,
                update_passkey_replaces_the_credential_and_last_use,
                remove_passkey_removes_only_the_users_own,
                a_credential_id_is_unique_across_users,
                concurrent_adds_of_one_credential_have_one_winner,
                adding_a_passkey_for_a_missing_user_is_not_found,
                remove_all_factors_counts_and_leaves_nothing,
                deleting_a_user_deletes_their_factors,
                concurrent_enrolment_steps_of_one_user_all_succeed,
            ]
        );
    };
}

/// Instantiates every session-store behaviour as its own `#[tokio::test]`. `$make` is an
/// expression (it may `.await`) giving a fresh `impl SessionStore`, or a [`Fixture`] /
/// `(store, guard)` pair holding one (see [`SessionStoreUnderTest`](crate::conformance::SessionStoreUnderTest)).
#[macro_export]
macro_rules! session_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            sessions,
            SessionStoreUnderTest,
            $make,
            [
                create_then_get_round_trips_every_field,
                expired_sessions_are_gone,
                rotation_with_the_current_token_rotates,
                rotation_caps_the_idle_expiry_at_the_absolute_expiry,
                rotation_with_a_used_token_reports_reuse_and_revokes,
                rotation_of_unknown_or_expired_sessions_is_not_found,
                concurrent_rotations_with_one_token_have_one_winner,
                revoke_removes_one_session,
                revoke_all_leaves_other_users_alone,
                revoke_all_can_keep_one_session,
                list_returns_live_sessions_oldest_first,
                live_sessions_are_counted,
                sweep_deletes_expired_sessions_and_keeps_live_ones,
                creation_with_a_moved_mark_is_refused,
                creations_racing_revoke_all_leave_no_session,
                sessions_beyond_the_limit_evict_the_least_recently_used,
                concurrent_creations_respect_the_session_limit,
                a_forged_secret_is_not_reuse,
                reuse_is_recognised_across_many_rotations,
            ]
        );
    };
}

/// Instantiates every rate-limiter behaviour as its own `#[tokio::test]`. `$make` is an
/// expression (it may `.await`) giving a fresh `impl RateLimiter`, or a [`Fixture`] /
/// `(limiter, guard)` pair holding one (see [`RateLimiterUnderTest`](crate::conformance::RateLimiterUnderTest)).
#[macro_export]
macro_rules! rate_limiter_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            limiter,
            RateLimiterUnderTest,
            $make,
            [
                allows_up_to_the_limit_then_refuses_with_retry_after,
                the_window_reopens_after_it_ends,
                peek_does_not_count,
                clear_forgets_the_count,
                keys_are_independent,
                concurrent_hits_are_counted_exactly,
                refund_gives_back_one_slot,
            ]
        );
    };
}

/// Instantiates every audit-log behaviour as its own `#[tokio::test]`. `$make` is an
/// expression (it may `.await`) giving a fresh `impl AuditLog`, or a [`Fixture`] /
/// `(log, guard)` pair holding one (see [`AuditLogUnderTest`](crate::conformance::AuditLogUnderTest)).
#[macro_export]
macro_rules! audit_log_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(
            audit,
            AuditLogUnderTest,
            $make,
            [
                record_then_list_round_trips_every_field,
                an_unknown_user_has_an_empty_trail,
                events_list_newest_first,
                pages_follow_limit_and_offset_with_the_total,
                a_trail_holds_only_its_users_events,
                prune_deletes_exactly_the_older_events,
                concurrent_records_are_all_kept,
                hostile_strings_are_kept_safely,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $under_test:ident, $make:expr, [$($test:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture = $make;
                $crate::conformance::$module::$test(
                    $crate::conformance::$under_test::store(&fixture),
                )
                .await;
                // The store and its guard go only now, after the test.
                drop(fixture);
            }
        )*
    };
}
