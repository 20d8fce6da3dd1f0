use super::*;

#[test]
fn the_event_wait_ends_by_the_drains_deadline() {
    let now = Instant::now();
    let s = Duration::from_secs;
    // (time left until the deadline, or past it; the wait allowed)
    let cases: &[(Option<Duration>, Option<Duration>, Duration)] = &[
        (Some(s(60)), None, 2 * API_TIMEOUT),
        (Some(s(3)), None, s(3)),
        (
            Some(Duration::from_millis(200)),
            None,
            Duration::from_millis(200),
        ),
        (Some(Duration::ZERO), None, Duration::ZERO),
        (None, Some(s(1)), Duration::ZERO),
    ];
    for &(ahead, past, want) in cases {
        let deadline = match (ahead, past) {
            (Some(a), _) => now + a,
            (None, Some(p)) => now.checked_sub(p).unwrap_or(now),
            (None, None) => unreachable!(),
        };
        assert_eq!(event_budget(deadline, now), want, "{ahead:?} {past:?}");
    }
}
