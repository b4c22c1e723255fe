//! Preview access: the preview epoch, one-time link nonces and scoped tokens (stored hashed).

use std::sync::Arc;

use studio_store::{NewSandboxToken, SandboxToken, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::{TestDb, insert_sandbox, random_id};

pub async fn preview_epochs_count_up_and_survive_a_restart(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let other = insert_sandbox(&*store).await;
    assert_eq!(store.preview_epoch(&id).await.expect("epoch"), Some(0));
    assert_eq!(store.bump_preview_epoch(&id).await.expect("bump"), 1);
    assert_eq!(store.bump_preview_epoch(&id).await.expect("bump"), 2);
    assert_eq!(
        store.preview_epoch(&other).await.expect("epoch"),
        Some(0),
        "one sandbox's revocation leaves the others alone"
    );
    let unknown = random_id();
    assert_eq!(store.preview_epoch(&unknown).await.expect("epoch"), None);
    let err = store
        .bump_preview_epoch(&unknown)
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::SandboxNotFound(_)), "{err:?}");
    store.close().await;

    let store = db.open().await;
    assert_eq!(
        store.preview_epoch(&id).await.expect("epoch"),
        Some(2),
        "a restart revives no revoked cookie"
    );
    assert!(store.delete_sandbox(&id).await.expect("delete"));
    assert_eq!(store.preview_epoch(&id).await.expect("epoch"), None);
}

pub async fn a_link_nonce_is_used_once_until_it_expires(db: &TestDb) {
    let store = db.open().await;
    let id = insert_sandbox(&*store).await;
    let now = datetime!(2026-11-22 14:30 UTC);
    let expires = now + Duration::seconds(180);
    assert!(
        store
            .use_preview_nonce(&id, "n1", expires, now)
            .await
            .expect("first")
    );
    assert!(
        !store
            .use_preview_nonce(&id, "n1", expires, now)
            .await
            .expect("second")
    );
    assert!(
        store
            .use_preview_nonce(&id, "n2", expires, now)
            .await
            .expect("another")
    );

    // Many redeemers at once: exactly one wins.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            let id = id.clone();
            tokio::spawn(async move { store.use_preview_nonce(&id, "race", expires, now).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.expect("join").expect("use nonce"));
    }
    assert_eq!(winners, 1, "a link is redeemed once");

    // Once its link expired, a nonce is forgotten (the signature refuses such a link anyway).
    let later = expires + Duration::seconds(1);
    assert!(
        store
            .use_preview_nonce(&id, "n1", later + Duration::seconds(180), later)
            .await
            .expect("after expiry")
    );
    let err = store
        .use_preview_nonce(&random_id(), "n3", expires, now)
        .await
        .expect_err("unknown sandbox");
    assert!(matches!(err, StoreError::SandboxNotFound(_)), "{err:?}");
}

fn token(sandbox: &studio_core::SandboxId, n: u8, created_at: OffsetDateTime) -> NewSandboxToken {
    NewSandboxToken {
        id: format!("tok_{n:016x}"),
        sandbox_id: sandbox.clone(),
        token_hash: format!("{n:064x}"),
        created_at,
        expires_at: created_at + Duration::hours(24),
    }
}

fn shown(new: &NewSandboxToken) -> SandboxToken {
    SandboxToken {
        id: new.id.clone(),
        sandbox_id: new.sandbox_id.clone(),
        created_at: new.created_at,
        expires_at: new.expires_at,
    }
}

pub async fn tokens_are_listed_found_by_hash_revoked_and_deleted_with_their_sandbox(db: &TestDb) {
    let store = db.open().await;
    let a = insert_sandbox(&*store).await;
    let b = insert_sandbox(&*store).await;
    let t0 = datetime!(2026-11-22 14:30:00.123456 UTC);
    let a1 = token(&a, 1, t0);
    let a2 = token(&a, 2, t0 + Duration::minutes(1));
    let b1 = token(&b, 3, t0);
    for t in [&a2, &a1, &b1] {
        store.insert_token(t).await.expect("insert token");
    }
    assert_eq!(
        store.tokens(&a).await.expect("list"),
        vec![shown(&a1), shown(&a2)],
        "oldest first, the sandbox's own only"
    );
    assert_eq!(
        store.token_by_hash(&a2.token_hash).await.expect("find"),
        Some(shown(&a2))
    );
    assert_eq!(
        store
            .token_by_hash(&format!("{:064x}", 9))
            .await
            .expect("find"),
        None
    );

    // The same hash twice, or a token of no sandbox, is refused.
    assert!(store.insert_token(&token(&b, 1, t0)).await.is_err());
    let err = store
        .insert_token(&token(&random_id(), 7, t0))
        .await
        .expect_err("unknown sandbox");
    assert!(matches!(err, StoreError::SandboxNotFound(_)), "{err:?}");

    // Revoking goes through the owner's id only.
    assert!(!store.delete_token(&b, &a1.id).await.expect("revoke"));
    assert!(store.delete_token(&a, &a1.id).await.expect("revoke"));
    assert!(!store.delete_token(&a, &a1.id).await.expect("revoke again"));
    assert_eq!(
        store.token_by_hash(&a1.token_hash).await.expect("find"),
        None
    );

    // Expired tokens are pruned; deleting a sandbox deletes its tokens.
    let expired = NewSandboxToken {
        expires_at: t0 + Duration::seconds(1),
        ..token(&b, 4, t0)
    };
    store.insert_token(&expired).await.expect("insert");
    assert_eq!(
        store
            .prune_expired_tokens(t0 + Duration::hours(1))
            .await
            .expect("prune"),
        1
    );
    assert_eq!(store.tokens(&b).await.expect("list"), vec![shown(&b1)]);
    assert!(store.delete_sandbox(&a).await.expect("delete"));
    assert_eq!(
        store.token_by_hash(&a2.token_hash).await.expect("find"),
        None
    );
    assert!(store.tokens(&a).await.expect("list").is_empty());
}
