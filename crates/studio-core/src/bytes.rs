//! Byte sizes as operators write them (`512MiB`, `1GiB`, `1073741824`), for limits such as
//! `--sandbox-memory`.

/// Parses a size: a whole number of bytes, optionally followed (spaces allowed) by a binary unit
/// `KiB`, `MiB`, `GiB`, `TiB` (also `K`, `M`, `G`, `T`, `KB`, `MB`, …, all read as powers of
/// 1024; case-insensitive). `Err` says what is accepted.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid = || {
        format!(
            "{text:?} is not a size: write bytes or a number with KiB, MiB, GiB or TiB (e.g. 512MiB, 1GiB)"
        )
    };
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(invalid()),
    };
    number.checked_mul(1 << shift).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_bytes_and_binary_units_are_accepted() {
        assert_eq!(parse_bytes("1073741824"), Ok(1 << 30));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("64 mib"), Ok(64 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in ["", "GiB", "1.5GiB", "-1", "12 parsecs", "99999999999TiB"] {
            let error = parse_bytes(bad).unwrap_err();
            assert!(error.contains("512MiB"), "{bad}: {error}");
        }
    }
}
