//! The [`AuditLog`] behaviours.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use super::now_seconds;
use crate::events::{MAX_NAME_CHARS, MAX_TEXT_CHARS};
use crate::{AuditEvent, AuditLog, AuditQuery, SessionId, UserId};

/// An event of `user_id` at `at` with every field set.
pub fn sample_event(user_id: UserId, at: OffsetDateTime) -> AuditEvent {
    AuditEvent::new(user_id, "login_failed", at)
        .with_method(Some("password"))
        .with_detail(Some("wrong_password"))
        .with_session(Some(SessionId::random()))
        .with_client(
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            Some("Mozilla/5.0 (conformance) ✓ 'quoted' \"double\""),
        )
}

fn query(limit: u32, offset: u64) -> AuditQuery {
    AuditQuery { limit, offset }
}

/// Every field comes back as it went in, and an event without the optional fields too.
pub async fn record_then_list_round_trips_every_field<L: AuditLog + ?Sized>(log: &L) {
    let user = UserId::new();
    let now = OffsetDateTime::now_utc();
    let full = sample_event(user, now - Duration::seconds(1));
    let bare = AuditEvent::new(user, "logged_out", now)
        .with_client(Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))), None);
    log.record(&full).await.unwrap();
    log.record(&bare).await.unwrap();
    let page = log.list(user, &AuditQuery::default()).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(
        page.items,
        vec![bare, full],
        "every field round-trips, newest first"
    );
}

/// A user with no events has an empty trail.
pub async fn an_unknown_user_has_an_empty_trail<L: AuditLog + ?Sized>(log: &L) {
    let page = log
        .list(UserId::new(), &AuditQuery::default())
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.total, 0);
}

/// Newest first by time, whatever the order of recording; events at the same time by id,
/// the later id first.
pub async fn events_list_newest_first<L: AuditLog + ?Sized>(log: &L) {
    let user = UserId::new();
    let base = now_seconds();
    let times = [3, 1, 4, 0, 2];
    for seconds in times {
        let event = AuditEvent::new(user, "refreshed", base + Duration::seconds(seconds));
        log.record(&event).await.unwrap();
    }
    let same_time: Vec<AuditEvent> = (0..3)
        .map(|_| AuditEvent::new(user, "refreshed", base + Duration::seconds(10)))
        .collect();
    for event in same_time.iter().rev() {
        log.record(event).await.unwrap();
    }
    let page = log.list(user, &AuditQuery::default()).await.unwrap();
    let listed: Vec<OffsetDateTime> = page.items.iter().map(AuditEvent::at).collect();
    let expected: Vec<OffsetDateTime> = [10, 10, 10, 4, 3, 2, 1, 0]
        .iter()
        .map(|seconds| base + Duration::seconds(*seconds))
        .collect();
    assert_eq!(listed, expected, "newest first");
    let ids: Vec<_> = page.items[..3].iter().map(AuditEvent::id).collect();
    let mut later_first: Vec<_> = same_time.iter().map(AuditEvent::id).collect();
    later_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, later_first, "ties go by id, the later first");
}

/// `limit` and `offset` cut consecutive pages out of the newest-first trail; the total is
/// the whole trail's.
pub async fn pages_follow_limit_and_offset_with_the_total<L: AuditLog + ?Sized>(log: &L) {
    let user = UserId::new();
    let base = now_seconds();
    let events: Vec<AuditEvent> = (0..7)
        .map(|i| AuditEvent::new(user, "refreshed", base + Duration::seconds(i)))
        .collect();
    for event in &events {
        log.record(event).await.unwrap();
    }
    let newest_first: Vec<AuditEvent> = events.into_iter().rev().collect();
    let first = log.list(user, &query(3, 0)).await.unwrap();
    assert_eq!(first.total, 7);
    assert_eq!(first.items, newest_first[..3]);
    let second = log.list(user, &query(3, 3)).await.unwrap();
    assert_eq!(second.items, newest_first[3..6]);
    let last = log.list(user, &query(3, 6)).await.unwrap();
    assert_eq!(last.items, newest_first[6..]);
    let beyond = log.list(user, &query(3, 70)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 7, "the total does not depend on the page");
}

/// One user's trail never shows another's events.
pub async fn a_trail_holds_only_its_users_events<L: AuditLog + ?Sized>(log: &L) {
    let alice = UserId::new();
    let bob = UserId::new();
    let now = now_seconds();
    for i in 0..4 {
        log.record(&sample_event(alice, now + Duration::seconds(i)))
            .await
            .unwrap();
    }
    log.record(&sample_event(bob, now)).await.unwrap();
    let alices = log.list(alice, &AuditQuery::default()).await.unwrap();
    let bobs = log.list(bob, &AuditQuery::default()).await.unwrap();
    assert_eq!(alices.total, 4);
    assert!(alices.items.iter().all(|event| event.user_id() == alice));
    assert_eq!(bobs.total, 1);
    assert_eq!(bobs.items[0].user_id(), bob);
}

/// Pruning deletes every event before the time given, of every user, and nothing at or
/// after it. (Its events lie in 2001, so that a log shared with other tests loses nothing
/// of theirs.)
pub async fn prune_deletes_exactly_the_older_events<L: AuditLog + ?Sized>(log: &L) {
    let alice = UserId::new();
    let bob = UserId::new();
    let cut = time::macros::datetime!(2001-06-01 00:00 UTC);
    let old = [
        AuditEvent::new(alice, "refreshed", cut - Duration::days(30)),
        AuditEvent::new(alice, "refreshed", cut - Duration::microseconds(1)),
        AuditEvent::new(bob, "refreshed", cut - Duration::days(1)),
    ];
    let kept = [
        AuditEvent::new(alice, "refreshed", cut),
        AuditEvent::new(bob, "refreshed", cut + Duration::days(1)),
    ];
    for event in old.iter().chain(&kept) {
        log.record(event).await.unwrap();
    }
    let pruned = log.prune(cut).await.unwrap();
    assert!(
        pruned >= 3,
        "the three older events are pruned (pruned {pruned})"
    );
    assert_eq!(
        log.list(alice, &AuditQuery::default()).await.unwrap().items,
        vec![kept[0].clone()]
    );
    assert_eq!(
        log.list(bob, &AuditQuery::default()).await.unwrap().items,
        vec![kept[1].clone()]
    );
    assert_eq!(
        log.prune(cut).await.unwrap(),
        0,
        "pruning again finds nothing"
    );
}

/// Records from many tasks at once are all kept.
pub async fn concurrent_records_are_all_kept<L: AuditLog + ?Sized>(log: &L) {
    let user = UserId::new();
    let now = now_seconds();
    let events: Vec<AuditEvent> = (0..100)
        .map(|i| sample_event(user, now + Duration::milliseconds(i)))
        .collect();
    for result in join_all(events.iter().map(|event| log.record(event))).await {
        result.unwrap();
    }
    let page = log.list(user, &query(100, 0)).await.unwrap();
    assert_eq!(page.total, 100);
    let mut listed: Vec<_> = page.items.iter().map(AuditEvent::id).collect();
    let mut recorded: Vec<_> = events.iter().map(AuditEvent::id).collect();
    listed.sort_unstable();
    recorded.sort_unstable();
    assert_eq!(listed, recorded);
}

/// Hostile texts (control characters, a NUL, bidirectional overrides, quotes, 10 kB, every
/// plane of Unicode) come back exactly as the event holds them: cut to the bound, with no
/// control character left.
pub async fn hostile_strings_are_kept_safely<L: AuditLog + ?Sized>(log: &L) {
    let user = UserId::new();
    let hostile = format!(
        "x\u{0}y\r\nforged: 1\u{1b}[31m\u{202e}txt.exe'; DROP TABLE auth_users; -- 😀 {}",
        "A".repeat(10_000)
    );
    let event = AuditEvent::new(user, &hostile, now_seconds())
        .with_method(Some(&hostile))
        .with_detail(Some(&hostile))
        .with_client(None, Some(&hostile));
    for text in [event.kind(), event.method().unwrap_or_default()] {
        assert!(text.chars().count() <= MAX_NAME_CHARS);
    }
    for text in [event.detail(), event.user_agent()].into_iter().flatten() {
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!text.contains('\u{202e}'));
    }
    log.record(&event).await.unwrap();
    let page = log.list(user, &AuditQuery::default()).await.unwrap();
    assert_eq!(page.items, vec![event], "kept exactly as cleaned");
}
