//! The collection bounds, shared by `studio serve` (at start and hourly) and `studio gc`.

use std::time::Duration;

use clap::Args;
use studio_core::defaults;
use studio_sandbox::Bounds;

/// The collection bounds (`studio serve` and `studio gc`).
#[derive(Debug, Clone, Args)]
pub struct StoreBounds {
    /// Size of the data dir past which the least recently used caches no sandbox needs are
    /// removed (renderer stores, Vite seeds and caches, unused mirrors, npm's cache): bytes or
    /// `512MiB`, `10GiB`.
    #[arg(long, env = "STUDIO_STORE_MAX_BYTES", default_value = "10GiB", value_parser = studio_core::bytes::parse_bytes)]
    pub store_max_bytes: u64,
    /// Caches no sandbox needs are removed once unused this many days, whatever the size; a
    /// deleted sandbox's pushed commits lose their refs this long after its deletion.
    #[arg(long, env = "STUDIO_STORE_MAX_AGE_DAYS", default_value_t = defaults::STORE_MAX_AGE_DAYS, value_parser = parse_days)]
    pub store_max_age_days: f64,
}

impl StoreBounds {
    pub fn bounds(&self) -> Bounds {
        Bounds {
            max_bytes: self.store_max_bytes,
            max_age: Duration::from_secs_f64(self.store_max_age_days * 86_400.0),
        }
    }
}

/// `--store-max-age-days`: a finite number of days, 0 or more (0: unused caches always go).
fn parse_days(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(days) if days.is_finite() && (0.0..=36_600.0).contains(&days) => Ok(days),
        _ => Err(format!(
            "{value:?} is not a number of days from 0 to 36600 (e.g. 14 or 0.5)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_zero_or_more() {
        assert_eq!(parse_days("0"), Ok(0.0));
        assert_eq!(parse_days("14"), Ok(14.0));
        assert!(parse_days("-1").is_err());
        assert!(parse_days("inf").is_err());
    }
}
