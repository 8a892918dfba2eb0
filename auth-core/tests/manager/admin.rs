//! An administrator's hand on other users' sessions.

use auth_core::*;
use futures::future::join_all;

use crate::harness::Harness;

fn admin_revocations(h: &Harness) -> usize {
    h.hooks
        .calls()
        .iter()
        .filter(|call| *call == "session_revoked:ByAdmin")
        .count()
}

#[tokio::test]
async fn an_admin_revokes_one_session_of_the_user_it_belongs_to() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.register("bob@example.com").await;
    let alice = h.login("alice@example.com").await;
    let kept = h.login("alice@example.com").await;
    let bob = h.login("bob@example.com").await;

    // Bob's session through Alice's id: not found, and Bob keeps it.
    assert!(matches!(
        h.manager
            .admin_revoke_session(alice.user.id, bob.tokens.session_id)
            .await,
        Err(AuthError::SessionNotFound)
    ));
    h.manager
        .authenticate_token(&bob.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(admin_revocations(&h), 0);

    h.manager
        .admin_revoke_session(alice.user.id, alice.tokens.session_id)
        .await
        .unwrap();
    assert!(
        h.manager
            .authenticate_token(&alice.tokens.access_token)
            .await
            .is_err()
    );
    assert!(
        h.manager
            .refresh(&alice.tokens.refresh_token, &h.client)
            .await
            .is_err()
    );
    h.manager
        .authenticate_token(&kept.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(admin_revocations(&h), 1);

    // Again: gone.
    assert!(matches!(
        h.manager
            .admin_revoke_session(alice.user.id, alice.tokens.session_id)
            .await,
        Err(AuthError::SessionNotFound)
    ));
    assert!(matches!(
        h.manager
            .admin_revoke_session(UserId::new(), kept.tokens.session_id)
            .await,
        Err(AuthError::UserNotFound)
    ));
    assert_eq!(admin_revocations(&h), 1);
}

#[tokio::test]
async fn an_admin_revokes_every_session_of_one_user_with_a_hook_each() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.register("bob@example.com").await;
    let logins = join_all((0..3).map(|_| h.login("alice@example.com"))).await;
    let bob = h.login("bob@example.com").await;
    let alice = logins[0].user.id;
    assert_eq!(h.manager.admin_list_sessions(alice).await.unwrap().len(), 3);

    assert_eq!(h.manager.admin_revoke_sessions(alice).await.unwrap(), 3);
    for login in &logins {
        assert!(
            h.manager
                .authenticate_token(&login.tokens.access_token)
                .await
                .is_err()
        );
    }
    h.manager
        .authenticate_token(&bob.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(admin_revocations(&h), 3);
    assert!(
        h.manager
            .admin_list_sessions(alice)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.manager.admin_revoke_sessions(alice).await.unwrap(), 0);
    assert!(matches!(
        h.manager.admin_list_sessions(UserId::new()).await,
        Err(AuthError::UserNotFound)
    ));
    assert!(matches!(
        h.manager.admin_revoke_sessions(UserId::new()).await,
        Err(AuthError::UserNotFound)
    ));
}

#[tokio::test]
async fn parallel_admin_revocations_of_one_session_have_one_winner() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let alice = h.login("alice@example.com").await;
    let results = join_all((0..16).map(|_| {
        h.manager
            .admin_revoke_session(alice.user.id, alice.tokens.session_id)
    }))
    .await;
    let won = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(won, 1, "one revocation removed it");
    assert_eq!(admin_revocations(&h), 1);
    assert!(
        results
            .iter()
            .all(|result| matches!(result, Ok(()) | Err(AuthError::SessionNotFound)))
    );
    assert!(
        h.manager
            .authenticate_token(&alice.tokens.access_token)
            .await
            .is_err()
    );
}
