//! Pure. Who this pod is: StatefulSet pod names, ordinals, DNS labels, and the cluster
//! domain derived from a resolv.conf search list.

use std::fmt;
use std::str::FromStr;

/// Largest ordinal we accept. Kubernetes caps StatefulSet replicas at int32; anything
/// near that is a typo, and keeping ordinals in `u32` keeps arithmetic simple.
pub const MAX_ORDINAL: u32 = i32::MAX as u32;

/// A StatefulSet pod name split into the set's name and the pod's ordinal.
///
/// StatefulSet names may contain dashes (`cass-dc1-0`), so the ordinal is the number
/// after the *last* dash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    /// Name of the StatefulSet (everything before the last dash).
    pub set: String,
    /// The pod's ordinal (the number after the last dash).
    pub ordinal: u32,
}

/// Why a pod name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodNameError {
    /// The name is empty.
    #[error("the pod name is empty")]
    Empty,
    /// There is no `-<ordinal>` suffix.
    #[error("{0:?} has no ordinal: expected <statefulset>-<ordinal>, e.g. cassandra-0")]
    NoOrdinal(String),
    /// The suffix after the last dash is not a decimal number.
    #[error(
        "{0:?} does not end in a numeric ordinal: expected <statefulset>-<ordinal>, e.g. cassandra-0"
    )]
    NotNumeric(String),
    /// The ordinal is out of range.
    #[error("{name:?} has ordinal {ordinal} which is larger than {max}")]
    TooLarge {
        /// The full pod name.
        name: String,
        /// The ordinal as written.
        ordinal: String,
        /// The maximum accepted.
        max: u32,
    },
    /// The set name is not a DNS label.
    #[error("{name:?}: the StatefulSet part {set:?} is not a valid DNS label ({why})")]
    BadSetName {
        /// The full pod name.
        name: String,
        /// The set part.
        set: String,
        /// What is wrong with it.
        why: LabelError,
    },
}

impl FromStr for PodName {
    type Err = PodNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.is_empty() {
            return Err(PodNameError::Empty);
        }
        let (set, ordinal) = name
            .rsplit_once('-')
            .ok_or_else(|| PodNameError::NoOrdinal(name.to_owned()))?;
        if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PodNameError::NotNumeric(name.to_owned()));
        }
        // Kubernetes writes ordinals without leading zeros; "cassandra-01" would not be the
        // name a StatefulSet controller gives, so its DNS name would not exist either.
        if ordinal.len() > 1 && ordinal.starts_with('0') {
            return Err(PodNameError::NotNumeric(name.to_owned()));
        }
        let too_large = || PodNameError::TooLarge {
            name: name.to_owned(),
            ordinal: ordinal.to_owned(),
            max: MAX_ORDINAL,
        };
        let ordinal: u32 = ordinal.parse().map_err(|_| too_large())?;
        if ordinal > MAX_ORDINAL {
            return Err(too_large());
        }
        check_label(set).map_err(|why| PodNameError::BadSetName {
            name: name.to_owned(),
            set: set.to_owned(),
            why,
        })?;
        Ok(PodName {
            set: set.to_owned(),
            ordinal,
        })
    }
}

impl fmt::Display for PodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.set, self.ordinal)
    }
}

/// Why a string is not an RFC 1123 DNS label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Empty label.
    #[error("it is empty")]
    Empty,
    /// Longer than 63 characters.
    #[error("it is longer than 63 characters")]
    TooLong,
    /// A character outside `a-z0-9-`.
    #[error("only lowercase letters, digits and '-' are allowed")]
    BadChar,
    /// Starts or ends with a dash.
    #[error("it must start and end with a letter or digit")]
    Dash,
}

/// Checks an RFC 1123 label, as Kubernetes requires for Service, namespace and pod names.
pub fn check_label(label: &str) -> Result<(), LabelError> {
    if label.is_empty() {
        return Err(LabelError::Empty);
    }
    if label.len() > 63 {
        return Err(LabelError::TooLong);
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(LabelError::BadChar);
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(LabelError::Dash);
    }
    Ok(())
}

/// Checks a DNS domain such as `cluster.local`: dot-separated labels, no trailing dot.
pub fn check_domain(domain: &str) -> Result<(), LabelError> {
    domain.split('.').try_for_each(check_label)
}

/// Derives the cluster domain from a resolv.conf's search list.
///
/// Kubernetes writes `search <ns>.svc.<domain> svc.<domain> <domain>` into every pod's
/// resolv.conf, so the entry that starts with `<namespace>.svc.` names the domain. Returns
/// `None` when no entry has that shape (for example outside Kubernetes), and the caller
/// falls back to `cluster.local`.
pub fn cluster_domain_from_resolv_conf(resolv_conf: &str, namespace: &str) -> Option<String> {
    let prefix = format!("{namespace}.svc.");
    resolv_conf
        .lines()
        .map(|line| line.split(['#', ';']).next().unwrap_or_default())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            // `domain` is the older single-entry form; resolvers treat it as the search list.
            matches!(words.next(), Some("search" | "domain")).then_some(words)
        })
        .flatten()
        .find_map(|entry| {
            let entry = entry.trim_end_matches('.');
            entry
                .strip_prefix(&prefix)
                .filter(|domain| check_domain(domain).is_ok())
                .map(str::to_owned)
        })
}

/// The stable DNS name of one pod of the StatefulSet, without a trailing dot:
/// `<set>-<ordinal>.<service>.<namespace>.svc.<domain>`.
pub fn pod_fqdn(set: &str, ordinal: u32, service: &str, namespace: &str, domain: &str) -> String {
    format!("{set}-{ordinal}.{service}.{namespace}.svc.{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names() {
        let ok = |s: &str, set: &str, ordinal: u32| {
            assert_eq!(
                s.parse::<PodName>(),
                Ok(PodName {
                    set: set.into(),
                    ordinal
                }),
                "{s}"
            );
        };
        ok("cassandra-0", "cassandra", 0);
        ok("cassandra-12", "cassandra", 12);
        ok("cass-dc1-rack-2-7", "cass-dc1-rack-2", 7);
        ok("a-2147483647", "a", 2147483647);

        let err = |s: &str| s.parse::<PodName>().unwrap_err();
        assert_eq!(err(""), PodNameError::Empty);
        assert_eq!(
            err("cassandra"),
            PodNameError::NoOrdinal("cassandra".into())
        );
        assert_eq!(
            err("cassandra-"),
            PodNameError::NotNumeric("cassandra-".into())
        );
        assert_eq!(
            err("cassandra-x"),
            PodNameError::NotNumeric("cassandra-x".into())
        );
        assert_eq!(
            err("cassandra-1a"),
            PodNameError::NotNumeric("cassandra-1a".into())
        );
        assert_eq!(
            err("cassandra-+1"),
            PodNameError::NotNumeric("cassandra-+1".into())
        );
        assert_eq!(
            err("cassandra-01"),
            PodNameError::NotNumeric("cassandra-01".into())
        );
        assert!(matches!(
            err("cassandra-2147483648"),
            PodNameError::TooLarge { .. }
        ));
        assert!(matches!(
            err("cassandra-99999999999999999999999"),
            PodNameError::TooLarge { .. }
        ));
        assert!(matches!(err("-0"), PodNameError::BadSetName { .. }));
        assert!(matches!(
            err("Cassandra-0"),
            PodNameError::BadSetName { .. }
        ));
        assert!(matches!(
            err("cass_andra-0"),
            PodNameError::BadSetName { .. }
        ));
    }

    #[test]
    fn pod_name_display_round_trips() {
        for s in ["cassandra-0", "a-b-c-42"] {
            assert_eq!(s.parse::<PodName>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn cluster_domain_shapes() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            // The shape kubelet writes.
            (
                "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
                "default",
                Some("cluster.local"),
            ),
            // A custom cluster domain, with node search domains appended.
            (
                "nameserver 10.0.0.10\nsearch db.svc.k8s.example.com svc.k8s.example.com k8s.example.com ec2.internal\n",
                "db",
                Some("k8s.example.com"),
            ),
            // Another namespace's entry must not match.
            (
                "search other.svc.cluster.local svc.cluster.local\n",
                "db",
                None,
            ),
            // Trailing dots, tabs, and comments.
            (
                "# generated\nsearch\tdb.svc.cluster.local.  svc.cluster.local. ; note\n",
                "db",
                Some("cluster.local"),
            ),
            // Last search line wins in glibc, but any matching entry is good evidence.
            ("domain db.svc.corp.internal\n", "db", Some("corp.internal")),
            // No search list at all (e.g. a laptop).
            ("nameserver 127.0.0.53\noptions edns0\n", "db", None),
            // Commented-out search line.
            ("#search db.svc.cluster.local\n", "db", None),
            // Garbage after the prefix is not a domain.
            ("search db.svc.\n", "db", None),
            ("search db.svc.bad_domain\n", "db", None),
        ];
        for (conf, ns, want) in cases {
            assert_eq!(
                cluster_domain_from_resolv_conf(conf, ns).as_deref(),
                *want,
                "{conf:?}"
            );
        }
    }

    #[test]
    fn labels() {
        assert_eq!(check_label("cassandra"), Ok(()));
        assert_eq!(check_label(""), Err(LabelError::Empty));
        assert_eq!(check_label(&"a".repeat(64)), Err(LabelError::TooLong));
        assert_eq!(check_label("a.b"), Err(LabelError::BadChar));
        assert_eq!(check_label("-a"), Err(LabelError::Dash));
        assert_eq!(check_domain("cluster.local"), Ok(()));
        assert_eq!(check_domain("cluster..local"), Err(LabelError::Empty));
    }

    #[test]
    fn fqdn() {
        assert_eq!(
            pod_fqdn("cass", 2, "cass-hl", "db", "cluster.local"),
            "cass-2.cass-hl.db.svc.cluster.local"
        );
    }
}
