//! What the API says about this pod, its StatefulSet, its Node and the other pods, as
//! the plain facts of `decide::api_facts`; asked again when late; the gaps logged once.

use super::*;

/// This pod's facts from its object.
pub(super) fn own_pod(pod: &Pod) -> OwnPod {
    OwnPod {
        uid: pod.metadata.uid.clone().filter(|u| !u.is_empty()),
        node_name: pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        controller_set: pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| {
                o.controller == Some(true)
                    && o.kind == "StatefulSet"
                    && o.api_version.starts_with("apps/")
            })
            .map(|o| o.name.clone())
            .filter(|n| !n.is_empty()),
    }
}

/// The StatefulSet's facts, as sent (checked by `decide::replicas`).
pub(super) fn set_facts(set: &StatefulSet) -> SetFacts {
    let spec = set.spec.as_ref();
    SetFacts {
        name: set.metadata.name.clone().unwrap_or_default(),
        spec_replicas: spec.and_then(|s| s.replicas),
        status_replicas: set.status.as_ref().map(|s| s.replicas),
        ordinals_start: spec.and_then(|s| s.ordinals.as_ref()).and_then(|o| o.start),
        uid: set.metadata.uid.clone().filter(|u| !u.is_empty()),
        deleting: set.metadata.deletion_timestamp.is_some(),
        pvc_when_scaled: spec
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
            .and_then(|p| p.when_scaled.clone()),
    }
}

/// The Node's topology labels.
pub(super) fn node_facts(node: &Node) -> NodeFacts {
    let label = |key: &str| {
        node.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        region: label(REGION_LABEL),
        zone: label(ZONE_LABEL),
    }
}

/// An expected pod's phase and readiness.
pub(super) fn pod_object(pod: &Pod) -> PodObject {
    let status = pod.status.as_ref();
    PodObject::Found {
        phase: status.and_then(|s| s.phase.clone()),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| match c.status.as_str() {
                "True" => Some(true),
                "False" => Some(false),
                _ => None,
            }),
        terminating: pod.metadata.deletion_timestamp.is_some(),
    }
}

/// Logs the gaps in one line: at info when all are normal setups (no API by choice, not in a pod,
/// no token), at warn otherwise (denied, not found, no answer).
pub fn log_gaps(gaps: &[Gap]) {
    // One line per command, whatever the number of reasons: what it could not learn is
    // one fact for whoever reads the pod's log.
    if gaps.is_empty() {
        return;
    }
    let why = gaps
        .iter()
        .map(|g| g.why.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut without: Vec<&str> = Vec::new();
    for w in gaps.iter().flat_map(|g| g.without.iter().copied()) {
        if !without.contains(&w) {
            without.push(w);
        }
    }
    let without = without.join(", ");
    if gaps.iter().all(|g| g.expected) {
        info!(why = %why, without = %without, "not learned from the Kubernetes API");
    } else {
        warn!(why = %why, without = %without, "not learned from the Kubernetes API");
    }
}

/// The ordinal bound (`decide::replicas`), logged when it comes from the StatefulSet or
/// its answer could not be taken as it was.
pub fn replica_bound(flag: Option<u32>, facts: &ApiFacts, own_ordinal: u32) -> Option<u32> {
    let bound = replicas::bound(flag, &facts.set, own_ordinal);
    match &bound.note {
        Some(Note::Refused(why)) => {
            warn!(why = %why, "the StatefulSet's replica count is not used")
        }
        Some(Note::Widened(why)) => {
            info!(why = %why, replicas = bound.replicas, "ordinal bound widened")
        }
        None if bound.source == Source::StatefulSet => {
            info!(
                replicas = bound.replicas,
                "ordinal bound from the StatefulSet's spec.replicas"
            )
        }
        None => {}
    }
    bound.replicas
}

impl Kube {
    /// Asks again, after each of `ASK_AGAIN_PAUSES`, for the facts the API server answered
    /// late or not at all (busy while nodes stream, or starting), keeping what it did
    /// answer; a definite answer (denied, not found) is not asked again. `within` bounds the
    /// pauses in all (a drain passes the time it has left; others `Duration::MAX`). The
    /// one retry of every API read. Returns the client to go on with: a fresh one when it
    /// asked again, without the mark of the request that went unanswered.
    pub async fn ask_again_if_late(
        self,
        wants: &Wants,
        mut facts: ApiFacts,
        within: Duration,
    ) -> (Kube, ApiFacts) {
        let mut kube = self;
        let start = tokio::time::Instant::now();
        for pause in ASK_AGAIN_PAUSES {
            let left = within.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            let pause = pause.min(left);
            let (pod, set, node, record) = (
                facts.own_pod.is_late(),
                facts.set.is_late(),
                facts.node.is_late(),
                facts.record.is_late(),
            );
            if !(pod || set || node || record) {
                break;
            }
            tokio::time::sleep(pause).await;
            kube = kube.again();
            let again = kube
                .own_facts(&Wants {
                    // The Node is found through the pod.
                    own_pod: pod || node,
                    set: wants.set.clone().filter(|_| set),
                    node,
                    record: wants.record.clone().filter(|_| record),
                    ..wants.clone()
                })
                .await;
            // Only the late facts are taken from the second answer.
            fn take<T>(late: bool, fact: &mut Fact<T>, again: Fact<T>) -> bool {
                if late {
                    *fact = again;
                }
                late && fact.known().is_some()
            }
            let learned: Vec<&str> = [
                ("pod", take(pod, &mut facts.own_pod, again.own_pod)),
                ("statefulset", take(set, &mut facts.set, again.set)),
                ("node", take(node, &mut facts.node, again.node)),
                (
                    "identity record",
                    take(record, &mut facts.record, again.record),
                ),
            ]
            .into_iter()
            .filter_map(|(what, learned)| learned.then_some(what))
            .collect();
            if learned.is_empty() {
                debug!("the Kubernetes API asked again, still no answer");
            } else {
                info!(?learned, "the Kubernetes API answered on a later attempt");
            }
        }
        (kube, facts)
    }

    /// This pod, its StatefulSet and its Node, as far as `wants` asks: the pod and the
    /// set concurrently, then (when the pod names them) its Node and the StatefulSet of its
    /// controller reference if that is another one. At most two rounds of `API_TIMEOUT`,
    /// one when the API server does not answer.
    pub async fn own_facts(&self, wants: &Wants) -> ApiFacts {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, expected)) => return ApiFacts::unavailable(wants, why, *expected),
        };
        let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
        let sets: Api<StatefulSet> = Api::namespaced(api.client.clone(), &api.namespace);
        let maps: Api<ConfigMap> = Api::namespaced(api.client.clone(), &api.namespace);
        let (pod, set, record) = tokio::join!(
            async {
                if wants.own_pod || wants.node {
                    Some(api.get(&pods, "pods", &self.pod).await)
                } else {
                    None
                }
            },
            async {
                match &wants.set {
                    Some(name) => Some(api.get(&sets, "statefulsets", name).await),
                    None => None,
                }
            },
            async {
                match &wants.record {
                    Some(set) => match api.get(&maps, "configmaps", &configmap_name(set)).await {
                        Ok(Some(map)) => Fact::Known(Some(map.data.unwrap_or_default())),
                        Ok(None) => Fact::Known(None),
                        Err(why) => Fact::Unknown(why),
                    },
                    None => Fact::NotAsked,
                }
            }
        );
        let own_pod = match pod {
            None => Fact::NotAsked,
            Some(Ok(Some(pod))) => Fact::Known(own_pod(&pod)),
            Some(Ok(None)) => Fact::Unknown(Unknown::not_found(format!(
                "the Kubernetes API has no pods/{} (404): is --pod-name right?",
                self.pod
            ))),
            Some(Err(why)) => Fact::Unknown(why),
        };
        // The controller reference names the set for certain; the name parsed from the
        // pod name was only the likely one, asked for at the same time.
        let other_set = match (&own_pod, &wants.set) {
            (
                Fact::Known(OwnPod {
                    controller_set: Some(owner),
                    ..
                }),
                Some(parsed),
            ) if owner != parsed => Some(owner.clone()),
            _ => None,
        };
        let node_name = match (&own_pod, wants.node) {
            (_, false) => Err(Fact::NotAsked),
            (
                Fact::Known(OwnPod {
                    node_name: Some(n), ..
                }),
                true,
            ) => Ok(n.clone()),
            (Fact::Known(_), true) => Err(Fact::Unknown(Unknown::failed(format!(
                "pods/{} has no spec.nodeName",
                self.pod
            )))),
            (Fact::Unknown(why), true) => Err(Fact::Unknown(why.clone())),
            (Fact::NotAsked, true) => Err(Fact::NotAsked),
        };
        let nodes: Api<Node> = Api::all(api.client.clone());
        let (set_again, node) = tokio::join!(
            async {
                match &other_set {
                    Some(name) => Some(api.get(&sets, "statefulsets", name).await),
                    None => None,
                }
            },
            async {
                match &node_name {
                    Ok(name) => match api.get(&nodes, "nodes", name).await {
                        Ok(Some(node)) => Fact::Known(node_facts(&node)),
                        Ok(None) => Fact::Unknown(Unknown::not_found(format!(
                            "the Kubernetes API has no nodes/{name} (404)"
                        ))),
                        Err(why) => Fact::Unknown(why),
                    },
                    Err(fact) => fact.clone(),
                }
            }
        );
        let set_name = other_set.as_ref().or(wants.set.as_ref());
        let set = match (set_again.or(set), set_name) {
            (Some(Ok(Some(set))), _) => Fact::Known(set_facts(&set)),
            (Some(Ok(None)), Some(name)) => Fact::Unknown(Unknown::not_found(format!(
                "the Kubernetes API has no statefulsets/{name} (404)"
            ))),
            (Some(Err(why)), _) => Fact::Unknown(why),
            _ => Fact::NotAsked,
        };
        ApiFacts {
            access: Access::Connected,
            own_pod,
            set,
            node,
            record,
        }
    }

    /// Each named pod's object (`get pods/<name>` each, no `list`: the Role grants `get`
    /// only), a few at a time, in the order given.
    pub async fn pods(&self, names: &[String]) -> Vec<(String, Fact<PodObject>)> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => {
                return names
                    .iter()
                    .map(|n| (n.clone(), Fact::Unknown(Unknown::failed(why.clone()))))
                    .collect();
            }
        };
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut set = JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let api = api.clone();
            let name = name.clone();
            crate::edge::spawn_bounded(&mut set, &permits, async move {
                let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
                let fact = match api.get(&pods, "pods", &name).await {
                    Ok(Some(pod)) => Fact::Known(pod_object(&pod)),
                    Ok(None) => Fact::Known(PodObject::Absent),
                    Err(why) => Fact::Unknown(why),
                };
                (i, fact)
            });
        }
        let mut facts: Vec<Fact<PodObject>> = vec![Fact::NotAsked; names.len()];
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, fact)) => facts[i] = fact,
                Err(e) => warn!(error = %e, "pod read task failed"),
            }
        }
        names.iter().cloned().zip(facts).collect()
    }

    /// Each named pod's IP (`status.podIP`), one `get pods/<name>` at a time (a scale-down
    /// names few): `Known(None)` when the pod does not exist (or has no IP yet),
    /// `Unknown` when the API did not say.
    pub async fn pod_ips(&self, names: &[String]) -> Vec<(String, Fact<Option<std::net::IpAddr>>)> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => {
                return names
                    .iter()
                    .map(|n| (n.clone(), Fact::Unknown(Unknown::failed(why.clone()))))
                    .collect();
            }
        };
        let pods: Api<Pod> = Api::namespaced(api.client.clone(), &api.namespace);
        let mut out = Vec::new();
        for name in names {
            let fact = match api.get(&pods, "pods", name).await {
                Ok(Some(pod)) => Fact::Known(
                    pod.status
                        .and_then(|s| s.pod_ip)
                        .and_then(|ip| ip.parse().ok()),
                ),
                Ok(None) => Fact::Known(None),
                Err(why) => Fact::Unknown(why),
            };
            out.push((name.clone(), fact));
        }
        out
    }
}
