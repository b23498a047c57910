//! Durations as authors write them: one whole number and a unit, `250ms`, `30s`, `5m`, `2h`,
//! `7d`.
//!
//! Deliberately narrow: no fractions, no compound forms like `1h30m`, no bare numbers. A bare
//! `30` could mean seconds or milliseconds depending on who reads it, and the difference between
//! a 30 ms and a 30 s timeout is an outage, so the unit is required.

use std::time::Duration;

use crate::parse::{Node, Value};

/// The units, longest suffix first so that `ms` is not read as `m`.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

const HOW: &str = "write one whole number and a unit: ms, s, m, h or d (e.g. `250ms`, `30s`, `7d`)";

/// The longest a duration may be, and why, for the author.
pub(crate) struct Ceiling {
    pub(crate) max: Duration,
    pub(crate) why: &'static str,
}

/// Sleeps, wait timeouts and retry delays. Due times are computed as `now + duration`; a bound
/// keeps every one representable, and a year is longer than any order stays open.
pub(crate) const DELAY: Ceiling = Ceiling {
    max: Duration::from_secs(365 * 86_400),
    why: "timers and retry delays are bounded to a year",
};

/// A step's `timeout:`. It replaces the attempt's wall-time limit, so it may not hold a worker
/// slot longer than the host lets any attempt run.
pub(crate) const STEP_TIMEOUT: Ceiling = Ceiling {
    max: Duration::from_secs(15 * 60),
    why: "a step's timeout replaces the attempt's time limit, which the host caps",
};

/// `d` if it is within `ceiling`; otherwise the message for the author.
pub(crate) fn at_most(d: Duration, ceiling: &Ceiling) -> Result<Duration, String> {
    if d <= ceiling.max {
        Ok(d)
    } else {
        Err(format!(
            "`{}` is longer than the longest allowed, `{}` ({})",
            format(d),
            format(ceiling.max),
            ceiling.why
        ))
    }
}

/// Reads a duration node; the error is the message for the author.
pub(crate) fn duration(node: &Node) -> Result<Duration, String> {
    match &node.value {
        Value::Str(s) => parse(s),
        Value::Int(i) => Err(format!(
            "`{i}` has no unit; write e.g. `{i}s` (units: ms, s, m, h, d)"
        )),
        Value::Float(f) => Err(format!("`{f}` is not a duration; {HOW}")),
        other => Err(format!(
            "expected a duration, found {}; {HOW}",
            other.kind()
        )),
    }
}

/// Reads a duration that must be longer than zero (timeouts, sleeps: zero would fail or fire at
/// once, which is never what was meant).
pub(crate) fn positive(node: &Node) -> Result<Duration, String> {
    let d = duration(node)?;
    if d.is_zero() {
        Err("must be longer than zero".to_owned())
    } else {
        Ok(d)
    }
}

fn parse(text: &str) -> Result<Duration, String> {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let Some(&(_, millis)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!("`{text}` is not a duration; {HOW}"));
    };
    if number.is_empty() {
        return Err(format!("`{text}` is not a duration; {HOW}"));
    }
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// The shortest exact form, for messages (`300000ms` reads better as `5m`).
pub(crate) fn format(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    UNITS
        .iter()
        .rev()
        .find(|(_, unit)| ms % unit == 0 && ms != 0)
        .map_or_else(
            || "0s".to_owned(),
            |(name, unit)| format!("{}{name}", ms / unit),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(value: Value) -> Node {
        Node { line: 1, value }
    }

    fn read(text: &str) -> Result<Duration, String> {
        duration(&node(Value::Str(text.into())))
    }

    #[test]
    fn each_unit_is_read() {
        assert_eq!(read("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(read("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(read("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(read("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(read("7d"), Ok(Duration::from_secs(604_800)));
    }

    #[test]
    fn anything_but_one_number_and_one_unit_is_rejected() {
        for bad in [
            "", "s", "1", "1.5s", "1m30s", "30 s", "30sec", "-1s", "+1s", "1S", " 1s",
        ] {
            let e = read(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_bare_integer_asks_for_a_unit() {
        let e = duration(&node(Value::Int(30))).unwrap_err();
        assert_eq!(
            e,
            "`30` has no unit; write e.g. `30s` (units: ms, s, m, h, d)"
        );
    }

    #[test]
    fn an_overflowing_duration_is_rejected() {
        assert!(
            read("99999999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            read("999999999999999999d")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn zero_is_a_duration_but_not_a_positive_one() {
        assert_eq!(read("0s"), Ok(Duration::ZERO));
        assert_eq!(
            positive(&node(Value::Str("0ms".into()))),
            Err("must be longer than zero".to_owned())
        );
    }

    #[test]
    fn a_duration_past_its_ceiling_names_the_ceiling() {
        assert_eq!(
            at_most(Duration::from_secs(900), &STEP_TIMEOUT),
            Ok(Duration::from_secs(900))
        );
        assert_eq!(
            at_most(Duration::from_secs(901), &STEP_TIMEOUT),
            Err(
                "`901s` is longer than the longest allowed, `15m` (a step's timeout replaces \
                 the attempt's time limit, which the host caps)"
                    .to_owned()
            )
        );
        assert!(at_most(DELAY.max, &DELAY).is_ok());
        assert!(at_most(DELAY.max + Duration::from_millis(1), &DELAY).is_err());
    }

    #[test]
    fn durations_format_in_their_largest_exact_unit() {
        assert_eq!(format(Duration::from_secs(300)), "5m");
        assert_eq!(format(Duration::from_millis(1_500)), "1500ms");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
