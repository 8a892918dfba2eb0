//! The [`RateLimiter`] behaviours.

use futures::future::join_all;
use time::Duration;

use super::{now_seconds, unique_tag};
use crate::{RateDecision, RateLimit, RateLimiter};

/// The first `max` hits pass; the next is refused with a `Retry-After` within the window.
pub async fn allows_up_to_the_limit_then_refuses_with_retry_after<R: RateLimiter + ?Sized>(
    limiter: &R,
) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(3, Duration::minutes(15));
    let now = now_seconds();
    for remaining in [2, 1, 0] {
        assert_eq!(
            limiter.hit(&key, &limit, now).await.unwrap(),
            RateDecision::Allowed { remaining }
        );
    }
    let later = now + Duration::minutes(5);
    match limiter.hit(&key, &limit, later).await.unwrap() {
        RateDecision::Limited { retry_after } => {
            assert_eq!(retry_after, Duration::minutes(10));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !limiter
            .peek(&key, &limit, later)
            .await
            .unwrap()
            .is_allowed()
    );
}

/// When the window ends, the count starts again.
pub async fn the_window_reopens_after_it_ends<R: RateLimiter + ?Sized>(limiter: &R) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(1, Duration::minutes(1));
    let now = now_seconds();
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert!(
        !limiter
            .hit(&key, &limit, now + Duration::seconds(59))
            .await
            .unwrap()
            .is_allowed()
    );
    let next_window = now + Duration::minutes(1);
    assert!(
        limiter
            .peek(&key, &limit, next_window)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        limiter
            .hit(&key, &limit, next_window)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        !limiter
            .hit(&key, &limit, next_window)
            .await
            .unwrap()
            .is_allowed()
    );
}

/// Peeking counts nothing.
pub async fn peek_does_not_count<R: RateLimiter + ?Sized>(limiter: &R) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(2, Duration::minutes(1));
    let now = now_seconds();
    for _ in 0..10 {
        assert_eq!(
            limiter.peek(&key, &limit, now).await.unwrap(),
            RateDecision::Allowed { remaining: 2 }
        );
    }
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert_eq!(
        limiter.peek(&key, &limit, now).await.unwrap(),
        RateDecision::Allowed { remaining: 1 }
    );
}

/// Clearing a key forgets its count.
pub async fn clear_forgets_the_count<R: RateLimiter + ?Sized>(limiter: &R) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(1, Duration::hours(1));
    let now = now_seconds();
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert!(!limiter.peek(&key, &limit, now).await.unwrap().is_allowed());
    limiter.clear(&key).await.unwrap();
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    limiter.clear(&format!("{key}:never-used")).await.unwrap();
}

/// One key's count does not affect another's.
pub async fn keys_are_independent<R: RateLimiter + ?Sized>(limiter: &R) {
    let tag = unique_tag();
    let limit = RateLimit::new(1, Duration::hours(1));
    let now = now_seconds();
    assert!(
        limiter
            .hit(&format!("a:{tag}"), &limit, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        limiter
            .hit(&format!("b:{tag}"), &limit, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        !limiter
            .hit(&format!("a:{tag}"), &limit, now)
            .await
            .unwrap()
            .is_allowed()
    );
}

/// 100 concurrent hits against a limit of 10: exactly 10 pass.
pub async fn concurrent_hits_are_counted_exactly<R: RateLimiter + ?Sized>(limiter: &R) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(10, Duration::hours(1));
    let now = now_seconds();
    let results = join_all((0..100).map(|_| limiter.hit(&key, &limit, now))).await;
    let allowed = results
        .into_iter()
        .filter(|result| result.as_ref().unwrap().is_allowed())
        .count();
    assert_eq!(allowed, 10);
}

/// A refund gives back one slot of the current window, never below zero; hits reserved in
/// parallel and refunded leave the budget whole.
pub async fn refund_gives_back_one_slot<R: RateLimiter + ?Sized>(limiter: &R) {
    let key = format!("conformance:{}", unique_tag());
    let limit = RateLimit::new(2, Duration::hours(1));
    let now = now_seconds();
    limiter.refund(&key, now).await.unwrap();
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert!(!limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    limiter.refund(&key, now).await.unwrap();
    assert!(limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    assert!(!limiter.hit(&key, &limit, now).await.unwrap().is_allowed());
    // Never below zero: refunds of a fresh key do not raise its budget.
    let fresh = format!("conformance:{}", unique_tag());
    for _ in 0..3 {
        limiter.refund(&fresh, now).await.unwrap();
    }
    let allowed = join_all((0..5).map(|_| limiter.hit(&fresh, &limit, now)))
        .await
        .into_iter()
        .filter(|result| result.as_ref().unwrap().is_allowed())
        .count();
    assert_eq!(allowed, 2);
}
