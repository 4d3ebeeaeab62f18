//! Values flags take beyond numbers and names: sizes (`64MiB`) and secret tokens.

use std::fmt;
use std::str::FromStr;

/// A size in bytes, written as a number with an optional unit: `KiB`, `MiB`, `GiB` (or
/// `K`, `M`, `G`), or the decimal `KB`, `MB`, `GB`. Shown in the largest binary unit that
/// divides it, so a library default reads as `64MiB` in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size(pub usize);

impl FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_size(text).map(Size)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, factor) in [("GiB", 1usize << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= factor && self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// Parses a size: a number of bytes, or a number with a unit (`KiB`, `MiB`, `GiB`, or the
/// decimal `KB`, `MB`, `GB`; `K`, `M`, `G` count as binary).
pub(super) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. 65536, 512KiB or 64MiB"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?}; use KiB, MiB or GiB")),
    };
    number
        .checked_mul(factor)
        .filter(|size| *size > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

/// A token must be long enough not to be guessed.
pub(super) fn parse_token(text: &str) -> Result<String, String> {
    if text.trim().len() < 16 {
        return Err("use a token of at least 16 characters (e.g. openssl rand -hex 32)".to_owned());
    }
    Ok(text.trim().to_owned())
}

/// Milliseconds of `duration`, for a flag that takes them.
pub(super) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
    }

    #[test]
    fn bad_sizes_say_what_to_write() {
        assert!(parse_size("lots").unwrap_err().contains("64MiB"));
        assert!(
            parse_size("5 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit_and_read_back() {
        for (size, text) in [
            (64 << 20, "64MiB"),
            (512 << 10, "512KiB"),
            (1 << 30, "1GiB"),
            (1500, "1500"),
        ] {
            assert_eq!(Size(size).to_string(), text);
            assert_eq!(text.parse::<Size>(), Ok(Size(size)));
        }
    }
}
