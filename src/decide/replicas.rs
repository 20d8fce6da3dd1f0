//! Pure. The bound on ordinals (`0..N` are the StatefulSet's pods): `--replicas` when
//! given, else the StatefulSet's own replica count from the API, else none (candidates are
//! then `0..--seed-count`, and `status` expects the pods whose names resolve).

use super::api_facts::{Fact, SetFacts};

/// The largest replica count taken from the API, the same limit as `--seed-count`: every
/// ordinal below the bound is a DNS name to look up (and, for `status`, a pod to read), so
/// a count from the API is checked like a flag before it sizes that work. A larger one (a
/// typo in the StatefulSet, a corrupted answer) leaves the ordinals unbounded instead.
pub const MAX_ORDINALS: u32 = 1000;

/// Where the bound came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--replicas` (`RINGKEEPER_REPLICAS`).
    Flag,
    /// The StatefulSet's `spec.replicas` (or `status.replicas` during a scale-down).
    StatefulSet,
    /// Nothing bounds the ordinals.
    Unbounded,
}

/// The bound and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// Pods `0..replicas` exist (or may).
    pub replicas: Option<u32>,
    /// Where it came from.
    pub source: Source,
    /// Said in the log when the API's answer could not be taken as it was (at warn when it
    /// was refused, at info when it was widened).
    pub note: Option<Note>,
}

/// What the log says about the API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The answer was not used (it makes no sense for ringkeeper's numbering).
    Refused(String),
    /// The answer was widened to cover pods that still exist.
    Widened(String),
}

/// The ordinal bound from `--replicas` (`flag`, already checked against this pod's
/// ordinal) or the StatefulSet. The API's count is a fact to check: a missing or negative
/// `spec.replicas`, or ordinals that do not start at 0 (`spec.ordinals.start`), leave the
/// ordinals unbounded. During a scale-down the pods beyond `spec.replicas` still exist and
/// are still ring members until they are gone, so the bound covers them (`status.replicas`)
/// and always this pod: a pod never leaves itself (or a live peer) out of the set.
pub fn bound(flag: Option<u32>, set: &Fact<SetFacts>, own_ordinal: u32) -> Bound {
    let unbounded = |note: Option<Note>| Bound {
        replicas: None,
        source: Source::Unbounded,
        note,
    };
    if let Some(n) = flag {
        return Bound {
            replicas: Some(n),
            source: Source::Flag,
            note: None,
        };
    }
    let Fact::Known(set) = set else {
        // Unknown: the gap is said once, with the other gaps.
        return unbounded(None);
    };
    let refused = |why: String| unbounded(Some(Note::Refused(why)));
    let spec = match set.spec_replicas {
        None => {
            return refused(format!(
                "StatefulSet {} has no spec.replicas: ordinals unbounded",
                set.name
            ));
        }
        Some(n) if n < 0 => {
            return refused(format!(
                "StatefulSet {} has spec.replicas {n}: ordinals unbounded",
                set.name
            ));
        }
        Some(n) if n.unsigned_abs() > MAX_ORDINALS => {
            return refused(format!(
                "StatefulSet {} has spec.replicas {n}, above ringkeeper's limit of \
                 {MAX_ORDINALS} ordinals: ordinals unbounded",
                set.name
            ));
        }
        Some(n) => n.unsigned_abs(),
    };
    if let Some(n) = set
        .status_replicas
        .filter(|n| n.unsigned_abs() > MAX_ORDINALS && *n > 0)
    {
        return refused(format!(
            "StatefulSet {} has status.replicas {n}, above ringkeeper's limit of {MAX_ORDINALS} \
             ordinals: ordinals unbounded",
            set.name
        ));
    }
    if let Some(start) = set.ordinals_start.filter(|s| *s != 0) {
        return refused(format!(
            "StatefulSet {} numbers its pods from {start} (spec.ordinals.start), ringkeeper from 0: \
             ordinals unbounded",
            set.name
        ));
    }
    let existing = set
        .status_replicas
        .filter(|n| *n >= 0)
        .map_or(0, i32::unsigned_abs);
    let replicas = spec.max(existing).max(own_ordinal.saturating_add(1));
    let note = (replicas > spec).then(|| {
        Note::Widened(format!(
            "StatefulSet {} wants {spec} replicas, but pods up to ordinal {} still exist (a scale-down \
             under way): they count until they are gone",
            set.name,
            replicas - 1
        ))
    });
    Bound {
        replicas: Some(replicas),
        source: Source::StatefulSet,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(spec: Option<i32>, status: Option<i32>, start: Option<i32>) -> Fact<SetFacts> {
        Fact::Known(SetFacts {
            name: "cassandra".into(),
            spec_replicas: spec,
            status_replicas: status,
            ordinals_start: start,
            ..SetFacts::default()
        })
    }

    #[test]
    fn bounds() {
        type Case = (
            &'static str,
            Option<u32>,
            Fact<SetFacts>,
            u32,
            Option<u32>,
            Source,
            Option<&'static str>,
        );
        let denied = Fact::Unknown("Kubernetes API denied get statefulsets/cassandra".into());
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("the flag wins over the API", Some(5), set(Some(3), Some(3), None), 1, Some(5), Source::Flag, None),
            ("the flag without the API", Some(5), denied.clone(), 1, Some(5), Source::Flag, None),
            ("spec.replicas", None, set(Some(3), Some(3), None), 1, Some(3), Source::StatefulSet, None),
            ("spec.replicas, no status yet", None, set(Some(3), None, None), 0, Some(3), Source::StatefulSet, None),
            ("ordinals.start 0 is the default", None, set(Some(3), Some(3), Some(0)), 2, Some(3), Source::StatefulSet, None),
            ("scale-up under way: spec ahead of status", None, set(Some(5), Some(3), None), 1, Some(5), Source::StatefulSet, None),
            ("scale-down under way: pods beyond spec still exist", None, set(Some(3), Some(5), None), 1, Some(5), Source::StatefulSet, Some("wants 3 replicas, but pods up to ordinal 4")),
            ("this pod beyond spec.replicas (being scaled away)", None, set(Some(3), Some(3), None), 4, Some(5), Source::StatefulSet, Some("up to ordinal 4")),
            ("scaled to zero: this pod still counts", None, set(Some(0), Some(0), None), 0, Some(1), Source::StatefulSet, Some("wants 0 replicas")),
            ("a negative status count is ignored", None, set(Some(3), Some(-1), None), 0, Some(3), Source::StatefulSet, None),
            ("unknown: unbounded, said with the gaps", None, denied, 1, None, Source::Unbounded, None),
            ("not asked", None, Fact::NotAsked, 1, None, Source::Unbounded, None),
            ("no spec.replicas", None, set(None, Some(3), None), 1, None, Source::Unbounded, Some("has no spec.replicas")),
            ("negative spec.replicas", None, set(Some(-2), Some(3), None), 1, None, Source::Unbounded, Some("spec.replicas -2")),
            ("ordinals from 5", None, set(Some(3), Some(3), Some(5)), 6, None, Source::Unbounded, Some("numbers its pods from 5")),
            ("spec.replicas at the limit", None, set(Some(1000), Some(1000), None), 1, Some(1000), Source::StatefulSet, None),
            ("spec.replicas above the limit", None, set(Some(1001), Some(3), None), 1, None, Source::Unbounded, Some("spec.replicas 1001, above ringkeeper's limit of 1000 ordinals")),
            ("spec.replicas at i32::MAX", None, set(Some(i32::MAX), None, None), 1, None, Source::Unbounded, Some("spec.replicas 2147483647, above")),
            ("status.replicas above the limit", None, set(Some(3), Some(5000), None), 1, None, Source::Unbounded, Some("status.replicas 5000, above ringkeeper's limit of 1000")),
            ("the flag is not checked here (config bounds it)", Some(5), set(Some(5000), Some(5000), None), 1, Some(5), Source::Flag, None),
        ];
        for (name, flag, facts, ordinal, replicas, source, note) in cases {
            let b = bound(flag, &facts, ordinal);
            assert_eq!((b.replicas, b.source), (replicas, source), "{name}");
            let text = b.note.as_ref().map(|n| match n {
                Note::Refused(t) | Note::Widened(t) => t.as_str(),
            });
            match note {
                None => assert_eq!(text, None, "{name}"),
                Some(needle) => assert!(
                    text.is_some_and(|t| t.contains(needle)),
                    "{name}: {text:?} lacks {needle:?}"
                ),
            }
            // Refused answers leave the ordinals unbounded; widened ones bound them.
            match b.note {
                Some(Note::Refused(_)) => assert_eq!(b.replicas, None, "{name}"),
                Some(Note::Widened(_)) => assert!(b.replicas > Some(0), "{name}"),
                None => {}
            }
        }
    }
}
