//! Waiting and refusing: whether a wait goes on or ends in a refusal, who can end it, and
//! how it is reported (`Waiting`).

use super::*;

/// Wait while the seed wait lasts, then refuse; what other pods do can still end it, so
/// the refusal is one to keep waiting on.
/// Ordinal 0 without data while the identity record says the cluster exists: it waits
/// for the others, however long, and never founds (which pods are away cannot change
/// that; their coming back can).
pub(super) fn wait_or_refuse_founding(facts: &Facts<'_>, pods: &[String], seen: String) -> Verdict {
    let why = format!(
        "the identity record in the Kubernetes API says this cluster exists ({} were ring \
         members), so ordinal 0 never founds a new one, whatever DNS and CQL answer now \
         ({seen}). It waits for a member to answer; if this pod lost its disk it then \
         replaces its previous node. If the cluster really is gone for good, delete the \
         record (ConfigMap <statefulset>-identity) to found a new one",
        pods.join(", ")
    );
    if facts.wait_over {
        Verdict::Refuse {
            reason: why,
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

pub(super) fn wait_or_refuse(facts: &Facts<'_>, why: String) -> Verdict {
    if facts.wait_over {
        Verdict::Refuse {
            reason: format!(
                "no safe way to start this node without data yet: {why}. Starting Cassandra now \
                 could make this pod its own seed and found a second cluster, or bootstrap beside \
                 another range movement. This can change by itself as other pods come up; if it \
                 does not, check that the headless Service publishes not-ready addresses \
                 (publishNotReadyAddresses: true), that ordinal 0 is running, and that DNS answers"
            ),
            refusal: Refusal::KeepWaiting,
        }
    } else {
        Verdict::Wait { reason: why }
    }
}

/// What the boot is waiting for, reported at a steady interval while it waits (before
/// `--seed-wait` is over, and after it for a refusal to keep waiting on): the entrypoint
/// logs it, and it is what a Kubernetes Event about the wait would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What it waits for (the plan's reason).
    pub reason: String,
    /// What each other candidate answered, one short entry each, in priority order.
    pub seen: Vec<String>,
    /// True once `--seed-wait` is over: the plan's answer is final, and only other pods
    /// (or DNS) can change it.
    pub seed_wait_over: bool,
    /// How long the boot has waited so far.
    pub waited: Duration,
    /// Lookup rounds so far.
    pub rounds: u32,
}

impl Plan {
    /// The wait this plan asks for: `Some` while it waits, or refuses in a way that other
    /// pods can end; `None` when it decided, or refused for a person to act.
    pub fn waiting(
        &self,
        own_ordinal: u32,
        waited: Duration,
        rounds: u32,
        seed_wait_over: bool,
    ) -> Option<Waiting> {
        let reason = match &self.verdict {
            Verdict::Wait { reason }
            | Verdict::Refuse {
                reason,
                refusal: Refusal::KeepWaiting,
            } => reason.clone(),
            _ => return None,
        };
        let seen = self
            .candidates
            .iter()
            .filter(|r| r.candidate.ordinal != Some(own_ordinal))
            .map(seen)
            .collect();
        Some(Waiting {
            reason,
            seen,
            seed_wait_over,
            waited,
            rounds,
        })
    }
}

/// One candidate as the wait report shows it: `name: DNS answer[, CQL answer]`.
pub(super) fn seen(r: &Report) -> String {
    let c = &r.candidate;
    let dns = match &c.lookup {
        Lookup::Resolved { addresses } => addresses
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        Lookup::Literal { address } => address.to_string(),
        Lookup::Absent => "NXDOMAIN".to_owned(),
        Lookup::ServerError { code } => code.clone(),
        Lookup::Timeout => "DNS timeout".to_owned(),
        Lookup::Failed { error } => format!("DNS failed ({error})"),
    };
    let cql = match &c.cql {
        Cql::NotAsked if r.use_ == Use::SkippedOwnAddress => ", this pod's own IP".to_owned(),
        Cql::NotAsked => String::new(),
        Cql::NoAnswer { .. } => ", no CQL answer".to_owned(),
        Cql::Member {
            ring,
            movements,
            down,
            ..
        } => {
            let list = |ips: &[IpAddr]| {
                ips.iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mut text = format!(", member of a ring of {}", ring.len());
            if !movements.is_empty() {
                text.push_str(&format!(", moving: {}", list(movements)));
            }
            if !down.is_empty() {
                text.push_str(&format!(", down: {}", list(down)));
            }
            if let Some(
                kin @ (Kin::ForeignRing | Kin::RemovedThisNode | Kin::DoesNotListThisNode),
            ) = r.identity
            {
                text.push_str(&format!(", {kin:?}"));
            }
            text
        }
    };
    format!("{}: {dns}{cql}", c.name)
}

pub(super) fn push_unique(list: &mut Vec<IpAddr>, ip: IpAddr) {
    if !list.contains(&ip) {
        list.push(ip);
    }
}

pub(super) fn no_seed_reason(facts: &Facts<'_>, others: &[&Report]) -> String {
    if others.is_empty() {
        return if facts.own_ordinal == 0 {
            "no other candidate is configured".to_owned()
        } else {
            format!(
                "ordinal {} has no data and no other candidate is configured; only ordinal 0 \
                 may found a cluster",
                facts.own_ordinal
            )
        };
    }
    let mut why = format!("tried {}", describe(others));
    if facts.own_ordinal == 0 {
        if others.iter().any(|r| r.candidate.ordinal.is_none()) {
            why.push_str(
                "; extra seeds are configured, so this pod joins an existing cluster and never \
                 founds one",
            );
        } else {
            why.push_str(
                "; ordinal 0 founds a cluster only when every other pod name is \
                 authoritatively absent from DNS (NXDOMAIN), not on DNS errors",
            );
        }
    } else {
        why.push_str(&format!(
            "; ordinal {} has no data, so it needs another pod as seed",
            facts.own_ordinal
        ));
    }
    why
}

pub(super) fn describe(reports: &[&Report]) -> String {
    reports
        .iter()
        .map(|r| {
            let what = match (&r.candidate.lookup, &r.use_) {
                (_, Use::SkippedOwnAddress) => "resolves to this pod's own IP".to_owned(),
                (Lookup::Resolved { addresses }, _) => match &r.candidate.cql {
                    Cql::NoAnswer { .. } => format!("{addresses:?}, no CQL answer"),
                    _ => format!("{addresses:?}"),
                },
                (Lookup::Literal { address }, _) => address.to_string(),
                (Lookup::Absent, _) => "NXDOMAIN/no address".to_owned(),
                (Lookup::ServerError { code }, _) => code.clone(),
                (Lookup::Timeout, _) => "timed out".to_owned(),
                (Lookup::Failed { error }, _) => error.clone(),
            };
            format!("{} ({what})", r.candidate.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
