//! The manager's preview access and scoped tokens on a real (in-memory SQLite) store, without a
//! renderer: links work once and for their sandbox, cookies follow the preview epoch, tokens
//! are scoped, expire and go with their sandbox.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use studio_core::{SandboxConfig, SandboxId, SandboxStatus, SecretToken};
use studio_store::{NewSandbox, Store};
use time::OffsetDateTime;

use super::PreviewRefusal;
use crate::{ErrorKind, Manager, ManagerConfig};

struct Fixture {
    manager: Manager,
    store: Arc<dyn Store>,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture(api_token: Option<&str>) -> Fixture {
    let dir = std::env::temp_dir().join(format!("studio-access-{:016x}", rand::random::<u64>()));
    let template = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../studio-template"
    ));
    let mut config = ManagerConfig::new(&dir, template, "http://127.0.0.1:7700");
    config.urls.api_token = api_token.and_then(SecretToken::new);
    let store = studio_store::connect("sqlite::memory:").await.unwrap();
    let manager = Manager::open(config, store.clone()).await.unwrap();
    Fixture {
        manager,
        store,
        dir,
    }
}

async fn sandbox(store: &dyn Store) -> SandboxId {
    let id = SandboxId::from_random(rand::random());
    let new = NewSandbox {
        branch: id.branch(),
        kind: "component-studio".into(),
        config: SandboxConfig::default(),
        repository: "/srv/ds".into(),
        base_branch: "main".into(),
        work_dir: PathBuf::from("/nonexistent"),
        status: SandboxStatus::Failed,
        created_at: OffsetDateTime::now_utc(),
        id: id.clone(),
    };
    store.insert_sandbox(&new).await.unwrap();
    id
}

#[tokio::test]
async fn a_link_works_once_and_its_cookie_lasts_until_the_epoch_moves() {
    let f = fixture(Some("api-token")).await;
    assert!(f.manager.preview_access_required());
    let (a, b) = (sandbox(&*f.store).await, sandbox(&*f.store).await);

    let link = f.manager.preview_link(&a.to_string()).await.unwrap();
    assert_eq!(
        link.preview_url,
        format!("http://{}.localhost:7700/", a.preview_label())
    );
    let left = link.expires_at - OffsetDateTime::now_utc();
    assert!(left > time::Duration::seconds(120) && left <= time::Duration::seconds(300));
    let err = f
        .manager
        .preview_link("sb_00000000000000ff")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    // Another sandbox's host refuses the link; it stays unused.
    assert_eq!(
        f.manager.redeem_preview_link(&b, &link.token).await,
        Err(PreviewRefusal::Invalid)
    );
    let cookie = f
        .manager
        .redeem_preview_link(&a, &link.token)
        .await
        .unwrap();
    assert_eq!(cookie.max_age, super::COOKIE_LIFETIME);
    assert_eq!(
        f.manager.redeem_preview_link(&a, &link.token).await,
        Err(PreviewRefusal::Used)
    );
    assert_eq!(
        f.manager.redeem_preview_link(&a, "garbage").await,
        Err(PreviewRefusal::Invalid)
    );

    assert!(
        f.manager
            .preview_cookie_valid(&a, &cookie.value)
            .await
            .unwrap()
    );
    assert!(
        !f.manager
            .preview_cookie_valid(&b, &cookie.value)
            .await
            .unwrap()
    );
    assert!(!f.manager.preview_cookie_valid(&a, "x").await.unwrap());

    // A revocation (what stop, finalize, expiry and delete do) ends every earlier cookie.
    f.store.bump_preview_epoch(&a).await.unwrap();
    assert!(
        !f.manager
            .preview_cookie_valid(&a, &cookie.value)
            .await
            .unwrap()
    );
    let again = f.manager.preview_link(&a.to_string()).await.unwrap();
    let fresh = f
        .manager
        .redeem_preview_link(&a, &again.token)
        .await
        .unwrap();
    assert!(
        f.manager
            .preview_cookie_valid(&a, &fresh.value)
            .await
            .unwrap()
    );
    assert!(f.store.delete_sandbox(&a).await.unwrap());
    assert!(
        !f.manager
            .preview_cookie_valid(&a, &fresh.value)
            .await
            .unwrap()
    );

    // The key is the data dir's: a second manager on it accepts the first one's links.
    let other_link = f.manager.preview_link(&b.to_string()).await.unwrap();
    let mut config = ManagerConfig::new(
        &f.dir,
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../studio-template"),
        "http://127.0.0.1:7700",
    );
    config.urls.api_token = SecretToken::new("api-token");
    let second = Manager::open(config, f.store.clone()).await.unwrap();
    assert!(
        second
            .redeem_preview_link(&b, &other_link.token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn without_an_api_token_previews_are_open() {
    let f = fixture(None).await;
    assert!(!f.manager.preview_access_required());
}

#[tokio::test]
async fn scoped_tokens_open_their_sandbox_until_revoked_or_deleted() {
    let f = fixture(Some("api-token")).await;
    let (a, b) = (sandbox(&*f.store).await, sandbox(&*f.store).await);
    for hours in [0, super::MAX_TOKEN_HOURS + 1] {
        let err = f
            .manager
            .create_token(&a.to_string(), Some(hours))
            .await
            .unwrap_err();
        assert_eq!(err.code, "invalid_token_lifetime");
    }
    let err = f
        .manager
        .create_token("sb_00000000000000ff", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    let made = f.manager.create_token(&a.to_string(), None).await.unwrap();
    let secret = made.token.expose().to_owned();
    assert!(
        secret.starts_with(super::TOKEN_PREFIX) && secret.len() == 68,
        "{secret}"
    );
    assert!(
        !format!("{made:?}").contains(&secret),
        "Debug hides the token"
    );
    let life = made.info.expires_at - made.info.created_at;
    assert_eq!(
        life,
        time::Duration::hours(i64::from(super::DEFAULT_TOKEN_HOURS))
    );
    assert_eq!(
        f.manager.token_scope(&secret).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        f.manager.token_scope(&format!("{secret}0")).await.unwrap(),
        None
    );
    assert_eq!(f.manager.token_scope("api-token").await.unwrap(), None);

    let listed = f.manager.tokens(&a.to_string()).await.unwrap();
    assert_eq!(listed, vec![made.info.clone()]);
    assert!(f.manager.tokens(&b.to_string()).await.unwrap().is_empty());
    let err = f
        .manager
        .revoke_token(&b.to_string(), &made.info.id)
        .await
        .unwrap_err();
    assert_eq!(err.code, "token_not_found");
    f.manager
        .revoke_token(&a.to_string(), &made.info.id)
        .await
        .unwrap();
    assert_eq!(f.manager.token_scope(&secret).await.unwrap(), None);

    let kept = f
        .manager
        .create_token(&a.to_string(), Some(1))
        .await
        .unwrap();
    assert!(f.store.delete_sandbox(&a).await.unwrap());
    assert_eq!(
        f.manager.token_scope(kept.token.expose()).await.unwrap(),
        None
    );
}
