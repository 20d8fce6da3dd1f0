//! A pod scaled away: the count read again after the settle delay, the ring, keyspaces,
//! load and room looked at (`decide::scale_down`), its turn waited for, and
//! `nodetool decommission` run and verified.

use super::*;

/// How often a pod scaled away looks at the ring again while pods with higher ordinals
/// leave first: a decommission's last step (LEFT) shows in gossip within a second or two.
pub(super) const TURN_POLL: Duration = Duration::from_secs(2);
/// How often that wait is logged at info (the looks in between only at debug).
pub(super) const TURN_REPORT_EVERY: Duration = Duration::from_secs(30);
/// Connect and request bound of the scale-down decision's own CQL connection: a node
/// scaled away is often busy (its neighbours just restarted, nodetool JVMs starting), and
/// a refusal for a slow answer leaves a down member behind.
pub(super) const SCALE_DOWN_CQL: Duration = Duration::from_secs(5);
/// Bound on one look at the ring (`system.local`, peers, two reads of `gossip_info` up to
/// `LIVENESS_WINDOW` apart, the keyspaces).
pub(super) const RING_LOOK: Duration = Duration::from_secs(20);

/// What a decommission needs beyond the decision.
pub(super) struct DecommissionPlan {
    /// The StatefulSet's `whenScaled` (for the Event).
    pub(super) pvc_when_scaled: String,
    /// This node, as `system.local` said (for the marker).
    pub(super) local: LocalRow,
}

/// Decides whether this pod, serving, is scaled away and may leave the ring
/// (`decide::scale_down`): the StatefulSet first (from the API lookup already under way);
/// only for a pod scaled away, the other such pods' addresses, the keyspaces, the load,
/// the ring delay and the ring itself, looked at again every `TURN_POLL` while pods with
/// higher ordinals leave first.
pub(super) async fn scale_down(
    d: &mut Drain<'_>,
    announcer: &mut Announcer,
    settings: Option<&CqlSettings>,
) -> (Decision, Option<DecommissionPlan>) {
    let since = Instant::now();
    let (decision, plan) = scale_down_inner(d, announcer, settings).await;
    match &decision {
        Decision::Drain { why } => info!(decision = "drain", why = %why, "scale-down decision"),
        Decision::Decommission { why, estimate } => info!(
            decision = "decommission",
            why = %why,
            estimate_s = estimate.as_secs(),
            "scale-down decision"
        ),
        Decision::RefuseDecommission { .. } | Decision::WaitForTurn { .. } => {}
    }
    d.done(
        Stage::ScaleDown,
        since,
        format!("{}: {}", decision.kind(), decision.why()),
    );
    (decision, plan)
}

pub(super) async fn scale_down_inner(
    d: &mut Drain<'_>,
    announcer: &mut Announcer,
    settings: Option<&CqlSettings>,
) -> (Decision, Option<DecommissionPlan>) {
    let refuse = |why: String| (Decision::RefuseDecommission { why }, None);
    let pod = d
        .cfg
        .pod
        .as_ref()
        .ok()
        .and_then(|p| p.name.parse::<PodName>().ok());
    let first = announcer.set().await;
    let set = ask_again_if_late(d, announcer, pod.as_ref(), first).await;
    let sd: ScaleDown = match (
        &pod,
        scale_down::intent(pod.as_ref().map_or(0, |p| p.ordinal), &set),
    ) {
        (None, _) => {
            let why = "the pod's name is not <statefulset>-<ordinal> (--pod-name): drained as \
                       for a restart, no decommission on scale-down";
            warn!(why, "no decommission on scale-down");
            return (Decision::Drain { why: why.into() }, None);
        }
        (
            Some(_),
            Intent::Drain {
                why,
                protection_off,
            },
        ) => {
            // An unknown set was logged with the API gaps already, once.
            if protection_off && set.why().is_none() {
                warn!(why = %why, "no decommission on scale-down");
            }
            return (Decision::Drain { why }, None);
        }
        (Some(_), Intent::ScaleDown(sd)) => sd,
    };
    // The count is read again after a settle delay: a typo corrected within it (6 -> 3
    // -> 6), or a re-apply that restores the count, decommissions no one.
    let settle = scale_down::settle_delay(d.cfg.settings.scale_down_settle, d.left());
    if let Some(decision) = recheck_set(d, announcer, pod.as_ref(), sd.ordinal, settle).await {
        return (decision, None);
    }
    // Its own connection, with room for a busy node: the look before the drain allows
    // 2 s, this decision reads more and matters more.
    let node = match settings {
        None => None,
        Some(settings) => {
            let patient = CqlSettings {
                connect_timeout: SCALE_DOWN_CQL,
                request_timeout: SCALE_DOWN_CQL,
                ..settings.clone()
            };
            match cql::connect(d.cfg.host, &patient).await {
                Ok(node) => Some(node),
                Err(e) => {
                    return refuse(format!(
                        "this pod is scaled away, but the node does not answer CQL ({e}), so \
                         its ring and keyspaces cannot be checked"
                    ));
                }
            }
        }
    };
    let Some(node) = node.as_ref() else {
        return refuse(
            "this pod is scaled away, but the CQL settings are unusable, so the node's ring \
             and keyspaces cannot be checked"
                .into(),
        );
    };
    let set_name = set.known().map_or_else(String::new, |s| s.name.clone());
    let names: Vec<String> = sd
        .others
        .iter()
        .map(|o| format!("{set_name}-{o}"))
        .collect();
    let ips = match &announcer.kube {
        Some(kube) => kube.pod_ips(&names).await,
        None => Vec::new(),
    };
    let others: Vec<(u32, Fact<Option<std::net::IpAddr>>)> = sd
        .others
        .iter()
        .zip(
            ips.into_iter()
                .map(|(_, ip)| ip)
                .chain(std::iter::repeat(Fact::NotAsked)),
        )
        .map(|(o, ip)| (*o, ip))
        .collect();
    let bound = RING_LOOK.min(d.left());
    let read = tokio::time::timeout(bound, async {
        let local = node.local().await?;
        let keyspaces = node.keyspaces().await?;
        let ring_delay = node.system_property("cassandra.ring_delay_ms").await;
        let load = match local.broadcast_address {
            Some(a) => node.gossip_load(a).await,
            None => None,
        };
        Ok::<_, CqlError>((local, keyspaces, ring_delay, load))
    })
    .await;
    let (local, keyspaces, ring_delay, load) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return refuse(format!("the node's keyspaces could not be read: {e}")),
        Err(_) => return refuse(format!("the node did not answer within {bound:?}")),
    };
    let ring_delay = scale_down::ring_delay(ring_delay.as_deref());
    let load_bytes = match scale_down::gossip_load(load.as_deref()) {
        Some(bytes) => Some(bytes),
        None => match d.nodetool(&["info"]).await {
            Ok(text) => scale_down::nodetool_load(&text),
            Err(e) => {
                debug!(error = ?e, "nodetool info for the load");
                None
            }
        },
    };
    let mut next_report = Instant::now();
    loop {
        let members = match tokio::time::timeout(RING_LOOK.min(d.left()), members(node)).await {
            Ok(Ok(members)) => members,
            Ok(Err(e)) => return refuse(format!("the ring could not be read: {e}")),
            Err(_) => return refuse("the ring could not be read in time".into()),
        };
        // Read at each look: a pod that left before this one streamed its data to the
        // members that remain, and their reports follow within a refresh.
        let rooms = rooms(
            announcer,
            &set_name,
            local.cluster_name.as_deref(),
            d.left(),
        )
        .await;
        let decision = scale_down::decide(&scale_down::Facts {
            scale_down: &sd,
            members: &members,
            others: &others,
            keyspaces: &keyspaces,
            load_bytes,
            ring_delay,
            left: d.left(),
            rooms: &rooms,
            now: unix_ms() / 1000,
        });
        match decision {
            Decision::WaitForTurn { why } => {
                if Instant::now() >= next_report {
                    info!(why = %why, left_s = d.left().as_secs(), "waiting for this pod's turn to decommission");
                    next_report = Instant::now() + TURN_REPORT_EVERY;
                } else {
                    debug!(why = %why, "still waiting for this pod's turn");
                }
                tokio::time::sleep(TURN_POLL).await;
            }
            Decision::Decommission { .. } => {
                // Once more right before anything leaves: the wait for a turn may have
                // been long, and the count may have changed meanwhile.
                if let Some(decision) =
                    recheck_set(d, announcer, pod.as_ref(), sd.ordinal, Duration::ZERO).await
                {
                    return (decision, None);
                }
                let plan = DecommissionPlan {
                    pvc_when_scaled: sd.pvc_when_scaled.clone(),
                    local,
                };
                return (decision, Some(plan));
            }
            other => return (other, None),
        }
    }
}

/// The free-space reports of the set's pods (`decide::scale_down::room`), from the identity record,
/// asked again when the API server answered late.
pub(super) async fn rooms(
    announcer: &Announcer,
    set: &str,
    cluster: Option<&str>,
    left: Duration,
) -> Fact<Vec<Room>> {
    let Some(kube) = &announcer.kube else {
        return Fact::Unknown(Unknown::failed("no access to the Kubernetes API"));
    };
    let wants = Wants {
        record: Some(set.to_owned()),
        ..Wants::default()
    };
    let kube = kube.again();
    let first = kube.own_facts(&wants).await;
    let (_, facts) = kube.ask_again_if_late(&wants, first, left).await;
    match facts.record {
        Fact::Known(Some(data)) => {
            Fact::Known(cluster_record::rooms(&data, cluster.unwrap_or_default()))
        }
        Fact::Known(None) => Fact::Unknown(Unknown::not_found(format!(
            "the ConfigMap {} is missing",
            cluster_record::configmap_name(set)
        ))),
        Fact::Unknown(why) => Fact::Unknown(why),
        Fact::NotAsked => Fact::NotAsked,
    }
}

/// The StatefulSet, asked again when the API server did not answer (a busy node or API
/// server: the 2 s bound), through the one retry of the API edge (`Kube::ask_again_if_late`),
/// within the time the drain has left: a pod scaled away that drains instead stays in
/// the ring as a down member. A definite answer (denied, not found) is not asked again.
pub(super) async fn ask_again_if_late(
    d: &Drain<'_>,
    announcer: &Announcer,
    pod: Option<&PodName>,
    set: Fact<SetFacts>,
) -> Fact<SetFacts> {
    let (Some(kube), Some(pod)) = (&announcer.kube, pod) else {
        return set;
    };
    let wants = Wants {
        set: Some(pod.set.clone()),
        ..Wants::default()
    };
    let (_, facts) = kube
        .again()
        .ask_again_if_late(&wants, ApiFacts::set_only(set), d.left())
        .await;
    facts.set
}

/// The pod's StatefulSet, read anew (one `get`, on a fresh client).
pub(super) async fn read_set(kube: &Kube, pod: &PodName) -> Fact<SetFacts> {
    kube.again()
        .own_facts(&Wants {
            set: Some(pod.set.clone()),
            ..Wants::default()
        })
        .await
        .set
}

/// Waits `settle`, then reads the StatefulSet again: `Some` when this pod is no longer
/// scaled away, or the set cannot be read (`scale_down::recheck`).
pub(super) async fn recheck_set(
    d: &Drain<'_>,
    announcer: &Announcer,
    pod: Option<&PodName>,
    ordinal: u32,
    settle: Duration,
) -> Option<Decision> {
    let (Some(kube), Some(pod)) = (&announcer.kube, pod) else {
        return Some(Decision::RefuseDecommission {
            why: "the StatefulSet cannot be read again".into(),
        });
    };
    let when = if settle.is_zero() {
        "right before the decommission".to_owned()
    } else {
        info!(
            settle_s = settle.as_secs_f64(),
            "this pod is scaled away: reading spec.replicas again after the settle delay"
        );
        tokio::time::sleep(settle).await;
        format!("after the {:.0}s settle delay", settle.as_secs_f64())
    };
    let first = read_set(kube, pod).await;
    let set = ask_again_if_late(d, announcer, Some(pod), first).await;
    let decision = scale_down::recheck(ordinal, &set, &when);
    if let Some(decision) = &decision {
        info!(why = %decision.why(), "the scale-down was not confirmed");
    }
    decision
}

/// The ring as the node sees it, with liveness (two reads of `gossip_info`).
pub(super) async fn members(node: &Node) -> Result<Vec<Member>, CqlError> {
    let local = node.local().await?;
    let peers = node.peers().await?;
    let gossip = node.gossip_over_time(&peers, LIVENESS_WINDOW).await?;
    let view = match &gossip {
        Some((first, latest)) => ring::view(&local, &peers, Some((first, latest))),
        None => ring::view(&local, &peers, None),
    };
    Ok(view.members)
}

/// Takes the node out of the ring: closes the native transport, `nodetool decommission`,
/// checks the mode, marks the volume. `Err(why)` when the decommission failed before the
/// node left (the caller drains instead).
///
/// What clients see: the pod turned not-ready first (the drain marker), so the client
/// Service stops sending new connections here. Gossip cannot announce a shutdown as a
/// drain does (`disablegossip`): a decommission needs gossip to announce LEAVING and LEFT
/// and to stream. So the native transport is closed at once instead (`disablebinary`, `-f`
/// on 5.0): the requests in flight at that instant fail, the next go to other nodes, as
/// in a drain. Left open, it would stay up through the whole decommission and close only
/// at its very end (5.0 then answers new requests "Server is shutting down" for up to 12
/// s). While the node is LEAVING, coordinators elsewhere write to it and to the nodes
/// taking its ranges; once it is LEFT, peers drop it and tell their clients
/// (REMOVED_NODE).
pub(super) async fn decommission_node(
    d: &mut Drain<'_>,
    plan: &DecommissionPlan,
    version: Option<&str>,
) -> Result<Outcome, String> {
    let close = drain::close_clients_command(version);
    if let Some(cut) = early_step(d, Stage::CloseClients, close).await {
        return Ok(cut);
    }
    let since = Instant::now();
    match d.nodetool(&["decommission"]).await {
        Ok(_) => d.done(Stage::Decommission, since, "nodetool decommission returned"),
        Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
            // Cassandra goes on with it; SIGTERM stops the JVM mid-way, leaving the node
            // LEAVING in the ring.
            d.done(Stage::Decommission, since, "deadline");
            return Ok(Outcome::CutShort {
                stage: Stage::Decommission,
            });
        }
        Err(Some(e)) => {
            d.done(Stage::Decommission, since, e.to_string());
            warn!(error = %e, "DECOMMISSION FAILED: draining instead");
            return Err(e.to_string());
        }
    }
    let since = Instant::now();
    let seen = match d.nodetool(&["netstats"]).await {
        Ok(text) => match Mode::from_nodetool(&text) {
            Some(Mode::Decommissioned) => "mode DECOMMISSIONED".to_owned(),
            other => {
                let why = format!("nodetool decommission returned, but the mode is {other:?}");
                d.done(Stage::VerifyDecommissioned, since, why.clone());
                return Ok(Outcome::NotDrained {
                    stage: Stage::VerifyDecommissioned,
                    why,
                });
            }
        },
        Err(e) => format!(
            "mode not read ({}): nodetool decommission returns 0 only once the node left",
            e.map_or("no time left".to_owned(), |e| e.to_string())
        ),
    };
    d.done(Stage::VerifyDecommissioned, since, seen);
    let since = Instant::now();
    let marker = crate::decide::decommissioned::Decommissioned {
        host_id: plan.local.host_id.clone(),
        cluster_name: plan.local.cluster_name.clone(),
        address: plan.local.broadcast_address,
        decommissioned_at: unix_ms() / 1000,
    };
    match datadir::mark_decommissioned(&d.cfg.data_dir, &marker) {
        Ok(()) => d.done(
            Stage::MarkDecommissioned,
            since,
            format!(
                "{} written, join record removed: cassandra never starts on this volume again",
                d.cfg
                    .data_dir
                    .join(crate::decide::decommissioned::DECOMMISSIONED_MARKER)
                    .display()
            ),
        ),
        Err(e) => {
            // Cassandra itself refuses to start while system.local says DECOMMISSIONED.
            warn!(error = %e, "could not mark the volume as decommissioned");
            d.done(Stage::MarkDecommissioned, since, format!("not marked: {e}"));
        }
    }
    info!(
        host_id = plan.local.host_id.as_deref().unwrap_or("unknown"),
        "DECOMMISSIONED: the node left the ring"
    );
    Ok(Outcome::Decommissioned)
}

/// Runs a nodetool step that `nodetool drain` also does, only later (announcing the
/// shutdown, closing the native transport): its failure is logged and skipped, since the
/// drain still does it; running out of time cuts the drain short (returned).
pub(super) async fn early_step(d: &mut Drain<'_>, stage: Stage, args: &[&str]) -> Option<Outcome> {
    let since = Instant::now();
    match d.nodetool(args).await {
        Ok(_) => {
            d.done(stage, since, args.join(" "));
            None
        }
        Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
            d.done(stage, since, "deadline");
            Some(Outcome::CutShort { stage })
        }
        Err(Some(e)) => {
            warn!(error = %e, ?stage, "could not do this before the drain; the drain will");
            d.done(stage, since, format!("skipped: {e}"));
            None
        }
    }
}

/// Watches this node's clients (everyone but ringkeeper) after the announcement, for at
/// most `budget`, until they are gone or plainly ignore it; returns what was seen.
pub(super) async fn clients_leave(
    node: &dyn ClientTraffic,
    since: Instant,
    budget: Duration,
) -> String {
    let mut samples: Vec<ClientSample> = Vec::new();
    loop {
        match node.client_traffic().await {
            Ok((connections, requests)) => samples.push(ClientSample {
                at: since.elapsed(),
                connections,
                requests,
            }),
            Err(e) => return format!("stopped watching: {e}"),
        }
        let (first, last) = (samples[0], samples[samples.len() - 1]);
        let seen = format!(
            "{} request(s) over {} connection(s) in {:.1}s",
            last.requests.saturating_sub(first.requests),
            last.connections,
            last.at.saturating_sub(first.at).as_secs_f64()
        );
        match drain::clients(&samples) {
            Clients::Quiet => return format!("quiet: {seen}"),
            Clients::Ignoring => {
                return format!(
                    "clients keep sending (their drivers ignore DOWN events; they move when the \
                     connections close): {seen}"
                );
            }
            Clients::Leaving if since.elapsed() + CLIENT_POLL > budget => {
                return format!("not quiet within {budget:?}: {seen}");
            }
            Clients::Leaving => tokio::time::sleep(CLIENT_POLL).await,
        }
    }
}

/// (d) The node reports DRAINED and its native port is closed. The port is checked
/// first (cheap); the mode is read only with time left for a nodetool run.
pub(super) async fn verify(d: &mut Drain<'_>) -> Outcome {
    let since = Instant::now();
    let port_open = d.node.native_port_open().await;
    let mode = if port_open {
        ModeRead::Unread("the native port is still open".into())
    } else {
        match d.nodetool(&["netstats"]).await {
            Ok(text) => ModeRead::Read(Mode::from_nodetool(&text)),
            Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
                ModeRead::Unread("no time left before the deadline".into())
            }
            Err(Some(e)) => ModeRead::Unread(e.to_string()),
        }
    };
    let (outcome, seen) = drain::after_drain(&mode, port_open);
    d.done(Stage::Verify, since, seen);
    outcome
}

/// Waits for a drain someone else started (a bare `nodetool drain`) to end.
pub(super) async fn await_drained(d: &mut Drain<'_>) -> Outcome {
    let since = Instant::now();
    loop {
        match d.nodetool(&["netstats"]).await {
            Ok(text) if Mode::from_nodetool(&text) == Some(Mode::Drained) => {
                d.done(Stage::AwaitDrained, since, "DRAINED");
                return Outcome::AlreadyDrained;
            }
            Ok(_) => {}
            Err(None) | Err(Some(NodetoolError::TimedOut { .. })) => {
                d.done(Stage::AwaitDrained, since, "deadline");
                return Outcome::CutShort {
                    stage: Stage::AwaitDrained,
                };
            }
            Err(Some(e)) => {
                d.done(Stage::AwaitDrained, since, e.to_string());
                return Outcome::NotDrained {
                    stage: Stage::AwaitDrained,
                    why: e.to_string(),
                };
            }
        }
        if d.left() < AWAIT_POLL {
            d.done(Stage::AwaitDrained, since, "deadline");
            return Outcome::CutShort {
                stage: Stage::AwaitDrained,
            };
        }
        tokio::time::sleep(AWAIT_POLL).await;
    }
}
