//! The one polling loop of the tests and the harness: ask until the answer is there or
//! the time is up.

use std::time::{Duration, Instant};

/// Runs `check` every `every` until it returns `Ok(Some(_))`, an error, or `timeout`
/// passes (then `Ok(None)`: the caller says what did not happen).
///
/// A check that costs is not run back to back: the pause after it is at least twice as long
/// as it took. A `nodetool status` in a pod is a JVM start (about a second of CPU); asked
/// every 500 ms it kept most of a core busy through the very waits (a bootstrap, a replace)
/// in which the nodes on the machine's two cores needed it. Cheap checks (an API read, a
/// port) still run every `every`.
pub fn until<T, E>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>, E>,
) -> Result<Option<T>, E> {
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        if let Some(v) = check()? {
            return Ok(Some(v));
        }
        if start.elapsed() > timeout {
            return Ok(None);
        }
        std::thread::sleep(pause(every, asked.elapsed()));
    }
}

/// The pause after a check that took `took`: at least `every`, at least twice `took`.
fn pause(every: Duration, took: Duration) -> Duration {
    every.max(took * 2)
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

    #[test]
    fn a_costly_check_pauses_twice_as_long_as_it_took() {
        let ms = Duration::from_millis;
        for (every, took, pause_ms) in [
            (ms(500), ms(10), 500),   // cheap: every `every`
            (ms(500), ms(250), 500),  // half of `every`: still every `every`
            (ms(500), ms(900), 1800), // a JVM start: twice its time
            (ms(0), ms(100), 200),
        ] {
            assert_eq!(pause(every, took), ms(pause_ms), "{every:?} {took:?}");
        }
    }
}
