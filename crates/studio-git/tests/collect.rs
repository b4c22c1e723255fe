//! What collection sees in the mirrors, and what it may remove: the refs of deleted sandboxes'
//! sessions (pushed or not) and mirrors no session uses.

mod support;

use std::collections::HashSet;

use support::{Fixture, commit, git, sandbox};

#[tokio::test]
async fn gone_sessions_are_told_pushed_or_not_and_only_unused_mirrors_go() {
    let fixture = Fixture::new();
    let url = fixture.remote.file_url();
    // 1: pushed, then rolled back (the undone head is the pushed one: nothing unpushed).
    let pushed = fixture.open_url(&url, 1).await;
    commit(&pushed, "a.txt", "a", "a").await;
    commit(&pushed, "b.txt", "b", "b").await;
    pushed.push().await.unwrap();
    pushed
        .rollback(studio_git::RollbackTarget::Steps(1))
        .await
        .unwrap();
    // 2: never pushed. 3: pushed, then one more commit. 4: made no commit. 5: still exists.
    let unpushed = fixture.open_url(&url, 2).await;
    commit(&unpushed, "c.txt", "c", "c").await;
    let ahead = fixture.open_url(&url, 3).await;
    commit(&ahead, "d.txt", "d", "d").await;
    ahead.push().await.unwrap();
    commit(&ahead, "e.txt", "e", "e").await;
    let empty = fixture.open_url(&url, 4).await;
    let live = fixture.open_url(&url, 5).await;
    for session in [&pushed, &unpushed, &ahead, &empty] {
        let id = session.info().sandbox_id.clone();
        fixture
            .ws
            .remove_session(&id, &session.info().checkout)
            .await
            .unwrap();
    }
    let existing: HashSet<String> = [sandbox(5).hex().to_owned()].into();

    let mirrors = fixture
        .ws
        .mirror_usage(existing.clone(), true)
        .await
        .unwrap();
    assert_eq!(mirrors.len(), 1);
    let mirror = &mirrors[0];
    assert!(!mirror.unused());
    let pushed_of = |n: u8| {
        let hex = sandbox(n).hex().to_owned();
        let session = mirror.sessions.iter().find(|s| s.hex == hex).unwrap();
        session.gone.map(|g| g.pushed)
    };
    assert_eq!(pushed_of(1), Some(true), "pushed, rollback's undo included");
    assert_eq!(pushed_of(2), Some(false), "never pushed");
    assert_eq!(pushed_of(3), Some(false), "a commit after the push");
    assert_eq!(pushed_of(4), Some(true), "no commit at all");
    assert_eq!(pushed_of(5), None, "its sandbox exists");

    // The first sighting is noted: a later scan counts from it, not from now.
    let since = mirror.sessions[0].gone.unwrap().since;
    let again = fixture.ws.mirror_usage(existing, true).await.unwrap();
    assert_eq!(again[0].sessions[0].gone.unwrap().since, since);

    // A live session's refs are refused; a gone one's go, branch and all.
    let live_hex = sandbox(5).hex().to_owned();
    assert!(
        fixture
            .ws
            .remove_session_refs(&mirror.name, &live_hex)
            .await
            .is_err()
    );
    fixture
        .ws
        .remove_session_refs(&mirror.name, sandbox(1).hex())
        .await
        .unwrap();
    let refs = git(&mirror.path, &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains(sandbox(1).hex()), "{refs}");
    assert!(refs.contains(sandbox(2).hex()), "{refs}");

    // The mirror goes only once no session has refs or a worktree in it.
    assert!(!fixture.ws.remove_mirror(&mirror.name).await.unwrap());
    assert!(mirror.path.is_dir());
    fixture
        .ws
        .remove_session(&sandbox(5), &live.info().checkout)
        .await
        .unwrap();
    for n in [2, 3, 4, 5] {
        fixture
            .ws
            .remove_session_refs(&mirror.name, sandbox(n).hex())
            .await
            .unwrap();
    }
    let mirrors = fixture.ws.mirror_usage(HashSet::new(), true).await.unwrap();
    assert!(mirrors[0].unused());
    assert!(fixture.ws.remove_mirror(&mirror.name).await.unwrap());
    assert!(!mirror.path.exists());

    // And a new session of the repository simply makes a new mirror.
    let again = fixture.open_url(&url, 6).await;
    commit(&again, "f.txt", "f", "f").await;
}
