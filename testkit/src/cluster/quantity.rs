//! Kubernetes resource quantities, as the Downward API's `resourceFieldRef` turns them
//! into numbers: the value divided by the divisor, rounded up.

use anyhow::{Context, Result, bail};

/// A quantity in thousandths of its unit ("500m" → 500, "1" → 1000, "1Ki" → 1024000).
pub fn parse_milli(text: &str) -> Result<u128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let factor_milli: u128 = match suffix {
        "" => 1000,
        "m" => 1,
        "k" => 1000 * 1000,
        "M" => 1000 * 1000 * 1000,
        "G" => 1000u128.pow(4),
        "T" => 1000u128.pow(5),
        "Ki" => 1000 * 1024,
        "Mi" => 1000 * 1024u128.pow(2),
        "Gi" => 1000 * 1024u128.pow(3),
        "Ti" => 1000 * 1024u128.pow(4),
        other => bail!("unsupported quantity suffix {other:?} in {text:?}"),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = whole
        .parse()
        .with_context(|| format!("bad quantity {text:?}"))?;
    let mut value = whole * factor_milli;
    if !frac.is_empty() {
        let digits = u32::try_from(frac.len())?;
        let frac: u128 = frac
            .parse()
            .with_context(|| format!("bad quantity {text:?}"))?;
        value += frac * factor_milli / 10u128.pow(digits);
    }
    Ok(value)
}

/// `quantity / divisor`, rounded up, as the Downward API prints it.
pub fn divide(quantity: &str, divisor: Option<&str>) -> Result<u128> {
    let q = parse_milli(quantity)?;
    // The API server stores an unset divisor as 0; the kubelet reads that as 1.
    let d = match parse_milli(divisor.unwrap_or("1"))? {
        0 => 1000,
        d => d,
    };
    Ok(q.div_ceil(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downward_api_values() {
        for (q, d, want) in [
            ("4Gi", None, 4 * 1024u128.pow(3)),
            ("4Gi", Some("1Mi"), 4096),
            ("1", None, 1),
            ("500m", None, 1),
            ("500m", Some("1m"), 500),
            ("1.5Gi", Some("1Mi"), 1536),
            ("2G", Some("1M"), 2000),
        ] {
            assert_eq!(divide(q, d).unwrap(), want, "{q} / {d:?}");
        }
        assert!(divide("4Xi", None).is_err());
    }
}
