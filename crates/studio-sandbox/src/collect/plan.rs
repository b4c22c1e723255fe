//! Which entries a collection removes: pure decisions, no I/O (the clock is passed in).
//!
//! Unreferenced entries go least recently used first: every one unused for at least the age
//! bound, then more while the data dir is above the byte bound. Referenced entries never go,
//! whatever the bounds say: a data dir whose live sandboxes alone exceed the bound stays above it.

use std::time::{Duration, SystemTime};

/// The bounds of one collection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// The data dir's size past which unreferenced entries go (`--store-max-bytes`).
    pub max_bytes: u64,
    /// Unreferenced entries unused this long go whatever the size (`--store-max-age-days`);
    /// the refs of a deleted sandbox's session go this long after its deletion.
    pub max_age: Duration,
}

/// One entry as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub bytes: u64,
    pub last_used: SystemTime,
    /// Something an existing sandbox needs: never removed.
    pub referenced: bool,
}

/// The indexes of `candidates` to remove, in the order to remove them (least recently used
/// first), given the data dir's size now.
pub fn choose(
    candidates: &[Candidate],
    data_dir_bytes: u64,
    bounds: Bounds,
    now: SystemTime,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&i| !candidates[i].referenced)
        .collect();
    order.sort_by_key(|&i| candidates[i].last_used);
    let mut size = data_dir_bytes;
    let mut chosen = Vec::new();
    for i in order {
        let candidate = &candidates[i];
        // A last use in the future (a clock step) counts as now.
        let unused_for = now.duration_since(candidate.last_used).unwrap_or_default();
        if size > bounds.max_bytes || unused_for >= bounds.max_age {
            size = size.saturating_sub(candidate.bytes);
            chosen.push(i);
        }
    }
    chosen
}

/// Whether the refs of a deleted sandbox's session go: only once it has been deleted for the
/// age bound, and only when every commit it made was pushed, unless the operator said
/// `--include-unpushed`. Commits are the work itself; a cache can be rebuilt, they cannot.
pub fn session_refs_go(
    gone: studio_git::GoneSession,
    max_age: Duration,
    include_unpushed: bool,
    now: SystemTime,
) -> bool {
    let gone_for = now.duration_since(gone.since).unwrap_or_default();
    gone_for >= max_age && (gone.pushed || include_unpushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn at(days_ago: u64, now: SystemTime) -> SystemTime {
        now - DAY * u32::try_from(days_ago).unwrap_or(u32::MAX)
    }

    fn entry(bytes: u64, days_ago: u64, referenced: bool, now: SystemTime) -> Candidate {
        Candidate {
            bytes,
            last_used: at(days_ago, now),
            referenced,
        }
    }

    fn bounds(max_bytes: u64, max_age_days: u32) -> Bounds {
        Bounds {
            max_bytes,
            max_age: DAY * max_age_days,
        }
    }

    #[test]
    fn under_both_bounds_nothing_goes() {
        let now = SystemTime::now();
        let entries = [entry(100, 3, false, now), entry(100, 1, false, now)];
        assert_eq!(
            choose(&entries, 1_000, bounds(1_000, 14), now),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn over_the_size_the_least_recently_used_go_until_it_fits() {
        let now = SystemTime::now();
        let entries = [
            entry(300, 2, false, now), // 0
            entry(300, 5, false, now), // 1: oldest
            entry(300, 1, false, now), // 2: newest
            entry(300, 3, false, now), // 3
        ];
        // 1,500 bytes, bound 1,000: the two oldest (1, then 3) bring it to 900.
        assert_eq!(choose(&entries, 1_500, bounds(1_000, 14), now), [1, 3]);
    }

    #[test]
    fn old_entries_go_whatever_the_size() {
        let now = SystemTime::now();
        let entries = [
            entry(10, 20, false, now),
            entry(10, 1, false, now),
            entry(10, 14, false, now),
        ];
        assert_eq!(choose(&entries, 30, bounds(1 << 30, 14), now), [0, 2]);
    }

    #[test]
    fn referenced_entries_never_go_even_far_over_both_bounds() {
        let now = SystemTime::now();
        let entries = [
            entry(5_000, 100, true, now),
            entry(10, 50, false, now),
            entry(5_000, 1, true, now),
        ];
        assert_eq!(choose(&entries, 10_010, bounds(1, 0), now), [1]);
    }

    #[test]
    fn a_bound_of_one_byte_and_no_age_takes_every_unreferenced_entry() {
        let now = SystemTime::now();
        let entries = [
            entry(1, 0, false, now),
            entry(0, 0, false, now),
            entry(9, 3, true, now),
        ];
        let mut chosen = choose(&entries, 10, bounds(1, 0), now);
        chosen.sort();
        assert_eq!(chosen, [0, 1]);
    }

    #[test]
    fn a_last_use_in_the_future_counts_as_now() {
        let now = SystemTime::now();
        let entries = [Candidate {
            bytes: 1,
            last_used: now + DAY,
            referenced: false,
        }];
        assert_eq!(choose(&entries, 1, bounds(10, 1), now), Vec::<usize>::new());
    }

    #[test]
    fn only_pushed_work_deleted_longer_ago_than_the_age_loses_its_refs() {
        let now = SystemTime::now();
        let gone = |days_ago, pushed| studio_git::GoneSession {
            since: at(days_ago, now),
            pushed,
        };
        let age = DAY * 14;
        assert!(session_refs_go(gone(15, true), age, false, now));
        assert!(
            !session_refs_go(gone(13, true), age, false, now),
            "too recent"
        );
        assert!(
            !session_refs_go(gone(100, false), age, false, now),
            "unpushed"
        );
        assert!(
            session_refs_go(gone(100, false), age, true, now),
            "--include-unpushed"
        );
        assert!(
            !session_refs_go(gone(13, false), age, true, now),
            "still too recent"
        );
        assert!(session_refs_go(gone(0, true), Duration::ZERO, false, now));
    }
}
