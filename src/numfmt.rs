//! Number formatting shared by the CLI tables and the site: fixed, locale-free.
//!
//! Precisions above [`MAX_DECIMALS`] are clamped: `format!` panics past
//! `u16::MAX`, and no f64 has more meaningful decimals anyway. Page filters
//! reject such precisions with a located error before they get here.

/// Most decimals any formatter prints.
pub const MAX_DECIMALS: usize = 20;

/// `21797672` -> `21,797,672`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Scales to K/M/G/T with `precision` decimals: `21797672, 1` -> `21.8M`.
pub fn si(n: u64, precision: usize) -> String {
    let v = n as f64;
    let (div, unit) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")]
        .into_iter()
        .find(|(d, _)| v >= *d)
        .unwrap_or((1.0, ""));
    if unit.is_empty() {
        n.to_string()
    } else {
        let precision = precision.min(MAX_DECIMALS);
        format!("{:.precision$}{unit}", v / div)
    }
}

/// A fraction as a percentage: `0.7153, 1` -> `71.5%`.
pub fn percent(fraction: f64, precision: usize) -> String {
    let precision = precision.min(MAX_DECIMALS);
    format!("{:.precision$}%", fraction * 100.0)
}

/// A ratio rounded, never truncated: a whole number from 10 up, two
/// decimals below (the rule the report's own tables use), so that one ratio
/// reads the same everywhere: `0.99996` -> `1.00`, `13.65` -> `14`,
/// `136.65` -> `137`, `2451.2` -> `2,451`.
pub fn ratio(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x.abs() >= 10.0 && x.abs() < 1.8e19 {
        let r = x.abs().round() as u64;
        format!("{}{}", if x < 0.0 { "-" } else { "" }, thousands(r))
    } else {
        fixed(x, 2)
    }
}

/// A float with fixed decimals, never `-0.0` and never `NaN` in output.
pub fn fixed(v: f64, precision: usize) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let precision = precision.min(MAX_DECIMALS);
    let s = format!("{v:.precision$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(143_667_240), "143,667,240");
        assert_eq!(si(21_797_672, 1), "21.8M");
        assert_eq!(si(3_663_761_408, 2), "3.66G");
        assert_eq!(si(512, 1), "512");
        assert_eq!(percent(0.71534, 1), "71.5%");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 2), "n/a");
        assert_eq!(fixed(1.5, 65536), format!("1.5{}", "0".repeat(19)));
        assert_eq!(ratio(102_760_448.0 / 102_764_544.0), "1.00");
        assert_eq!(ratio(13.65), "14");
        assert_eq!(ratio(136.65), "137");
        assert_eq!(ratio(2451.2), "2,451");
        assert_eq!(ratio(f64::NAN), "n/a");
        assert_eq!(percent(0.5, usize::MAX), format!("50.{}%", "0".repeat(20)));
    }
}
