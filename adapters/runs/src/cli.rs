//! What every binary's command line shares besides [`RunArgs`](crate::session::RunArgs): value
//! parsers that reject out-of-range numbers where they are parsed (clap then prints the flag's
//! name and the allowed range and exits with code 2), a [`UsageError`] for checks that need more
//! than one flag or the data, and [`exit`], which turns a binary's result into its exit code.
//!
//! A domain's error enum carries a [`UsageError`] as a variant with a message of its own and the
//! usage error as its source, `#[error("invalid input")] Usage(#[from] UsageError)`, so that
//! [`exit`] finds it in the error chain: an `#[error(transparent)]` variant forwards `source()`
//! past the usage error and hides it (exit code 1 instead of 2).
//!
//! Exit codes: 0 success, 1 a failed run, 2 bad input (a flag, a config key, data too small for
//! the settings), 130 a run stopped by Ctrl-C / SIGTERM after writing its checkpoint.
//!
//! ```
//! use clap::Parser;
//! use runs::cli::{in_range, positive};
//!
//! #[derive(Parser)]
//! struct Args {
//!     /// Steps to train, 1 to 10⁹.
//!     #[arg(long, value_parser = in_range(1u64, 1_000_000_000))]
//!     steps: u64,
//!     /// Learning rate (> 0, finite).
//!     #[arg(long, value_parser = positive)]
//!     lr: f64,
//! }
//! assert!(Args::try_parse_from(["x", "--steps", "10", "--lr", "0.1"]).is_ok());
//! let err = Args::try_parse_from(["x", "--steps", "0", "--lr", "0.1"]).err().unwrap();
//! assert!(err.to_string().contains("--steps"));
//! assert_eq!(err.exit_code(), 2);
//! assert!(Args::try_parse_from(["x", "--steps", "1", "--lr", "-1"]).is_err());
//! ```

use std::fmt::Display;
use std::process::ExitCode;
use std::str::FromStr;

/// Bad input found after parsing (a combination of flags, a config key, data too small for the
/// settings): the binary exits with code 2, as clap does for a bad flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct UsageError {
    /// The flag or config key at fault, as the user wrote it (`--bptt`, `optimizer.nodes`).
    pub flag: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl UsageError {
    /// `flag` is wrong because of `message`.
    pub fn new(flag: impl Into<String>, message: impl Into<String>) -> Self {
        UsageError {
            flag: flag.into(),
            message: message.into(),
        }
    }
}

/// A clap value parser accepting numbers of type `T` in `min..=max`: the error names the range.
pub fn in_range<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
    T::Err: Display,
{
    move |text: &str| {
        let value: T = text.trim().parse().map_err(|e| format!("{e}"))?;
        // `!(a <= b)` rather than `a > b`: NaN is out of every range.
        if !(min <= value && value <= max) {
            return Err(format!("{value} is not in {min}..={max}"));
        }
        Ok(value)
    }
}

/// Checks a setting that does not come through clap (a TOML key, a struct built in code)
/// against `min..=max`, as [`in_range`] does for a flag.
///
/// # Errors
/// A [`UsageError`] naming `flag` and the range.
pub fn check_range<T: PartialOrd + Display>(flag: &str, value: T, min: T, max: T) -> Result<(), UsageError> {
    // `!(a <= b)` rather than `a > b`: NaN is out of every range.
    match min <= value && value <= max {
        true => Ok(()),
        false => Err(UsageError::new(flag, format!("{value} is not in {min}..={max}"))),
    }
}

/// A clap value parser accepting numbers in `min..max` (`max` excluded: a dropout rate below 1).
pub fn in_half_open(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
        match min <= value && value < max {
            true => Ok(value),
            false => Err(format!("{value} is not in [{min}, {max})")),
        }
    }
}

/// A clap value parser accepting numbers strictly between `min` and `max` (a held-out share in
/// (0, 1)).
pub fn in_open_range(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
        match min < value && value < max {
            true => Ok(value),
            false => Err(format!("{value} is not in ({min}, {max})")),
        }
    }
}

/// A clap value parser for a probability mass in (0, 1] (nucleus sampling's top-p).
///
/// # Errors
/// A message naming the accepted range.
pub fn probability(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    match value > 0.0 && value <= 1.0 {
        true => Ok(value),
        false => Err(format!("{value} is not in (0, 1]")),
    }
}

/// A clap value parser for a finite number greater than zero (learning rates, scales).
///
/// # Errors
/// A message naming the accepted range.
pub fn positive(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    match value.is_finite() && value > 0.0 {
        true => Ok(value),
        false => Err(format!("{value} is not a finite number > 0")),
    }
}

/// A clap value parser for a finite number ≥ 0 (weight decay, clipping thresholds where 0 turns
/// the feature off).
///
/// # Errors
/// A message naming the accepted range.
pub fn non_negative(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    match value.is_finite() && value >= 0.0 {
        true => Ok(value),
        false => Err(format!("{value} is not a finite number >= 0")),
    }
}

/// A clap value parser for a run or folder name: plain (no path separator, not `.` or `..`,
/// not empty, no leading `-`), so a run can never be written outside `--runs`.
///
/// # Errors
/// A message saying what a plain name is.
pub fn plain_name(text: &str) -> Result<String, String> {
    let plain = !text.is_empty()
        && text != "."
        && text != ".."
        && !text.starts_with('-')
        && !text.contains(['/', '\\', '\0']);
    match plain {
        true => Ok(text.to_string()),
        false => Err(format!(
            "`{text}` is not a plain name (no `/`, `\\`, `..`, leading `-` or empty name)"
        )),
    }
}

/// The exit code for a binary's `result`: 0 on success; otherwise the error is printed with its
/// causes and the code is 130 when a Ctrl-C / SIGTERM stopped the run
/// ([`crate::signal::requested`]), 2 when a [`UsageError`] is among the causes, else 1.
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    eprintln!("error: {error:#}");
    if crate::signal::requested() {
        return ExitCode::from(130);
    }
    match error
        .chain()
        .any(|cause| cause.downcast_ref::<UsageError>().is_some())
    {
        true => ExitCode::from(2),
        false => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_out_of_range_nan_and_garbage() {
        let steps = in_range(1u64, 100);
        assert_eq!(steps("5"), Ok(5));
        assert!(steps("0").unwrap_err().contains("1..=100"));
        assert!(steps("101").is_err() && steps("-1").is_err() && steps("x").is_err());
        let p = in_range(0.0f64, 1.0);
        assert!(p("NaN").is_err() && p("1.5").is_err() && p("0.5").is_ok());
        assert!(positive("0").is_err() && positive("inf").is_err() && positive("1e-3").is_ok());
        assert!(non_negative("-0.1").is_err() && non_negative("0").is_ok());
        assert_eq!(check_range("ppo.epochs", 3usize, 1, 100), Ok(()));
        let err = check_range("ppo.epochs", 0usize, 1, 100).unwrap_err();
        assert_eq!(
            (err.flag.as_str(), err.message.as_str()),
            ("ppo.epochs", "0 is not in 1..=100")
        );
        assert!(check_range("clip", f64::NAN, 0.0, 1.0).is_err());
        let dropout = in_half_open(0.0, 1.0);
        assert!(dropout("0").is_ok() && dropout("0.99").is_ok());
        assert!(
            dropout("1").unwrap_err().contains("[0, 1)")
                && dropout("-0.1").is_err()
                && dropout("NaN").is_err()
        );
        let share = in_open_range(0.0, 1.0);
        assert!(share("0.1").is_ok() && share("0").is_err() && share("1").is_err() && share("NaN").is_err());
        assert!(probability("1").is_ok() && probability("0.9").is_ok());
        assert!(probability("0").is_err() && probability("2").unwrap_err().contains("(0, 1]"));
        assert!(probability("NaN").is_err() && probability("-1").is_err());
        assert!(plain_name("sisa-seed1").is_ok());
        for bad in ["../../x", "a/b", "..", ".", "", "-x", "a\\b"] {
            assert!(plain_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_errors_exit_with_2_and_others_with_1() {
        let usage: anyhow::Result<()> =
            Err(anyhow::Error::new(UsageError::new("--bptt", "longer than the data")).context("lstm"));
        assert_eq!(exit(usage), ExitCode::from(2));
        assert_eq!(exit(Err(anyhow::anyhow!("disk full"))), ExitCode::FAILURE);
        assert_eq!(exit(Ok(())), ExitCode::SUCCESS);
    }

    /// The variant the module docs prescribe is found through a transparent wrapper (a
    /// domain's boxed session error); a transparent usage variant is not.
    #[test]
    fn a_usage_variant_is_found_through_transparent_wrappers() {
        #[derive(Debug, thiserror::Error)]
        enum Domain {
            #[error("invalid input")]
            Usage(#[from] UsageError),
            #[error(transparent)]
            Hidden(UsageError),
            #[error(transparent)]
            Wrapped(Box<Domain>),
        }
        let found = |e: Domain| exit(Err(anyhow::Error::new(e).context("lstm train")));
        let usage = || UsageError::new("--bptt", "0 is not in 1..=10000");
        assert_eq!(found(Domain::Usage(usage())), ExitCode::from(2));
        assert_eq!(
            found(Domain::Wrapped(Box::new(usage().into()))),
            ExitCode::from(2)
        );
        assert_eq!(found(Domain::Hidden(usage())), ExitCode::FAILURE);
    }
}
