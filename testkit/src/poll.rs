//! The one polling loop of the tests and the harness: ask until the answer is there or
//! the time is up.

use std::time::{Duration, Instant};

/// Runs `check` every `every` until it returns `Ok(Some(_))`, an error, or `timeout`
/// passes (then `Ok(None)`: the caller says what did not happen).
pub fn until<T, E>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<Option<T>, E> {
    let start = Instant::now();
    loop {
        if let Some(v) = check()? {
            return Ok(Some(v));
        }
        if start.elapsed() > timeout {
            return Ok(None);
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_errors_and_time_up() {
        let mut n = 0;
        let got: Result<Option<u32>, ()> = until(Duration::from_secs(5), Duration::ZERO, || {
            n += 1;
            Ok((n == 3).then_some(n))
        });
        assert_eq!(got, Ok(Some(3)));
        let err: Result<Option<u32>, &str> =
            until(Duration::from_secs(5), Duration::ZERO, || Err("broken"));
        assert_eq!(err, Err("broken"));
        let none: Result<Option<u32>, ()> = until(Duration::ZERO, Duration::ZERO, || Ok(None));
        assert_eq!(none, Ok(None));
    }
}
