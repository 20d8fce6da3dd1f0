//! The StatefulSet controller's part of the pod runner: Pod and PVC objects from a
//! StatefulSet, the way kube-controller-manager makes them.
//!
//! * pods `<set>-<ordinal>` with the template's labels plus `statefulset.kubernetes.io/
//!   pod-name`, `apps.kubernetes.io/pod-index` and `controller-revision-hash`, owned by the
//!   set, `hostname`/`subdomain` set for their DNS names, one PVC per claim template
//!   (`<claim>-<pod>`, kept when the pod goes);
//! * `OrderedReady`: one pod at a time, in ordinal order, each once every lower one is
//!   Running and Ready; scale-down from the highest ordinal, one at a time. `Parallel`:
//!   all at once;
//! * `RollingUpdate`: when the template changes, pods are deleted from the highest ordinal
//!   down, the next only once every pod is back, on the new revision, and Ready;
//! * scale-down as the controller does it: the condemned pods are those with an ordinal
//!   at or above `replicas`, highest first; `OrderedReady` deletes one at a time, the next
//!   only once the one before is gone (and the others are Ready), `Parallel` all at once;
//! * `persistentVolumeClaimRetentionPolicy.whenScaled: Delete`: once a condemned pod is
//!   gone, its PVCs are deleted (the real controller gives them an ownerReference to the
//!   pod and the garbage collector deletes them; here the controller deletes them, and
//!   [`super::gc`] releases them with their directory). `Retain` (the default) keeps them;
//! * a pod whose PVC is being deleted is not made until the claim is gone; it then gets a
//!   new, empty one;
//! * the "scheduler" binds pod `i` to node `i mod nodes` (the manifests spread pods over
//!   nodes and zones), and the set's status is kept up to date for `kubectl rollout status`.
//!
//! [`plan`] is the pure decision; [`reconcile`] reads and writes the API.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::Shared;

/// What the controller sees of one existing pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// Ordinal.
    pub ordinal: u32,
    /// Running and Ready, not terminating.
    pub ready: bool,
    /// Being deleted.
    pub terminating: bool,
    /// Its `controller-revision-hash`.
    pub revision: String,
}

/// What the controller does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create pod `ordinal`.
    Create(u32),
    /// Delete pod `ordinal`.
    Delete(u32),
}

/// The next steps for a set of `replicas` pods at `revision`, given the pods there.
pub fn plan(replicas: u32, parallel: bool, revision: &str, pods: &[PodView]) -> Vec<Step> {
    let by_ordinal: BTreeMap<u32, &PodView> = pods.iter().map(|p| (p.ordinal, p)).collect();
    let mut steps = Vec::new();
    // Scale up (and replace pods that are gone).
    for i in 0..replicas {
        if by_ordinal.contains_key(&i) {
            continue;
        }
        if !parallel {
            let lower_ready = (0..i).all(|j| by_ordinal.get(&j).is_some_and(|p| p.ready));
            if !lower_ready || !steps.is_empty() {
                break;
            }
        }
        steps.push(Step::Create(i));
    }
    // Scale down, highest ordinal first.
    let excess: Vec<&PodView> = by_ordinal
        .values()
        .rev()
        .filter(|p| p.ordinal >= replicas && !p.terminating)
        .copied()
        .collect();
    if parallel {
        steps.extend(excess.iter().map(|p| Step::Delete(p.ordinal)));
    } else if let Some(top) = excess.first() {
        let others_settled = by_ordinal
            .values()
            .filter(|p| p.ordinal != top.ordinal)
            .all(|p| p.ready || p.ordinal >= replicas);
        if others_settled && !by_ordinal.values().any(|p| p.terminating) {
            steps.push(Step::Delete(top.ordinal));
        }
    }
    if !steps.is_empty() {
        return steps;
    }
    // Rolling update, as the controller walks it: from the highest ordinal down, delete
    // the first pod on an old revision, but stop at a pod that is missing or not healthy
    // (it waits for that one). OrderedReady also holds everything while any pod is
    // unhealthy; Parallel deletes a stale pod below an unready one.
    if !parallel && by_ordinal.values().any(|p| !p.ready || p.terminating) {
        return steps;
    }
    for i in (0..replicas).rev() {
        let Some(p) = by_ordinal.get(&i) else { break };
        if p.revision != revision && !p.terminating {
            steps.push(Step::Delete(i));
            break;
        }
        if !p.ready || p.terminating {
            break;
        }
    }
    steps
}

/// The PVCs to delete under `whenScaled: Delete`: those of ordinals at or above
/// `replicas` whose pod is gone (`claims`: each PVC's ordinal and name). A condemned pod
/// that still exists (terminating: its preStop may be decommissioning the node) keeps its
/// volume until it is gone.
pub fn claims_to_delete(
    replicas: u32,
    when_scaled_delete: bool,
    pods: &[PodView],
    claims: &[(u32, String)],
) -> Vec<String> {
    if !when_scaled_delete {
        return Vec::new();
    }
    claims
        .iter()
        .filter(|(ordinal, _)| *ordinal >= replicas && !pods.iter().any(|p| p.ordinal == *ordinal))
        .map(|(_, name)| name.clone())
        .collect()
}

/// The ordinal of PVC `<claim>-<set>-<ordinal>`, for one of the set's claim templates.
fn claim_ordinal(claim_templates: &[String], set: &str, pvc: &str) -> Option<u32> {
    claim_templates.iter().find_map(|claim| {
        pvc.strip_prefix(claim.as_str())?
            .strip_prefix('-')
            .and_then(|rest| ordinal_of(set, rest))
    })
}

/// A stable hash of the pod template: the revision pods are labelled with.
pub fn revision(sts: &StatefulSet) -> String {
    let template =
        serde_json::to_string(&sts.spec.as_ref().map(|s| &s.template)).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    template.hash(&mut h);
    format!(
        "{}-{:010x}",
        sts.metadata.name.as_deref().unwrap_or("set"),
        h.finish() & 0xff_ffff_ffff
    )
}

fn ordinal_of(set: &str, pod: &str) -> Option<u32> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// One pass of the controller over `sts`.
pub async fn reconcile(shared: &Shared, sts: &StatefulSet) -> Result<()> {
    let name = sts.metadata.name.clone().context("set without a name")?;
    let namespace = sts.metadata.namespace.clone().unwrap_or("default".into());
    let spec = sts.spec.clone().context("set without a spec")?;
    let replicas = u32::try_from(spec.replicas.unwrap_or(1)).unwrap_or(0);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let rev = revision(sts);
    let pods_api: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
    let uid = sts.metadata.uid.clone().unwrap_or_default();
    let owned: Vec<Pod> = pods_api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|p| {
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .collect();
    let views: Vec<PodView> = owned
        .iter()
        .filter_map(|p| {
            let pod_name = p.metadata.name.as_deref()?;
            Some(PodView {
                ordinal: ordinal_of(&name, pod_name)?,
                ready: is_ready(p) && p.metadata.deletion_timestamp.is_none(),
                terminating: p.metadata.deletion_timestamp.is_some(),
                revision: p
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("controller-revision-hash"))
                    .cloned()
                    .unwrap_or_default(),
            })
        })
        .collect();
    for step in plan(replicas, parallel, &rev, &views) {
        match step {
            Step::Create(i) => {
                if create_pod(shared, sts, &namespace, &name, i, &rev).await? {
                    shared.log(&format!(
                        "statefulset {name}: created pod {name}-{i} ({rev})"
                    ));
                }
            }
            Step::Delete(i) => {
                pods_api
                    .delete(&format!("{name}-{i}"), &DeleteParams::default())
                    .await?;
                shared.log(&format!("statefulset {name}: deleting pod {name}-{i}"));
            }
        }
    }
    // whenScaled: Delete, as the garbage collector carries it out.
    let when_scaled_delete = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(|p| p.when_scaled.as_deref())
        == Some("Delete");
    if when_scaled_delete {
        let templates: Vec<String> = spec
            .volume_claim_templates
            .iter()
            .flatten()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(shared.client.clone(), &namespace);
        let claims: Vec<(u32, String)> = pvcs
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter_map(|c| {
                let pvc = c.metadata.name?;
                Some((claim_ordinal(&templates, &name, &pvc)?, pvc))
            })
            .collect();
        for pvc in claims_to_delete(replicas, true, &views, &claims) {
            // The claim goes, with its volume, once no pod uses it (`gc`).
            pvcs.delete(&pvc, &DeleteParams::default()).await?;
            shared.log(&format!(
                "statefulset {name}: deleted PVC {pvc} (whenScaled: Delete)"
            ));
        }
    }
    // Status, for `kubectl rollout status` and for tests.
    let ready = views.iter().filter(|p| p.ready).count();
    let updated = views
        .iter()
        .filter(|p| p.revision == rev && !p.terminating)
        .count();
    let current_rev = if updated == views.len() && views.len() == replicas as usize {
        rev.clone()
    } else {
        sts.status
            .as_ref()
            .and_then(|s| s.current_revision.clone())
            .unwrap_or(rev.clone())
    };
    let sets: Api<StatefulSet> = Api::namespaced(shared.client.clone(), &namespace);
    sets.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {
            "observedGeneration": sts.metadata.generation,
            "replicas": views.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": views.iter().filter(|p| p.revision == current_rev).count(),
            "updatedReplicas": updated,
            "currentRevision": current_rev,
            "updateRevision": rev,
        }})),
    )
    .await?;
    Ok(())
}

async fn create_pod(
    shared: &Shared,
    sts: &StatefulSet,
    namespace: &str,
    set: &str,
    ordinal: u32,
    revision: &str,
) -> Result<bool> {
    let spec = sts.spec.clone().context("no spec")?;
    let pod_name = format!("{set}-{ordinal}");
    let template = spec.template;
    let mut meta = template.metadata.unwrap_or_default();
    let labels = meta.labels.get_or_insert_with(Default::default);
    labels.insert(
        "statefulset.kubernetes.io/pod-name".into(),
        pod_name.clone(),
    );
    labels.insert("apps.kubernetes.io/pod-index".into(), ordinal.to_string());
    labels.insert("controller-revision-hash".into(), revision.into());
    meta.name = Some(pod_name.clone());
    meta.namespace = Some(namespace.into());
    meta.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set.into(),
        uid: sts.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    let mut pod_spec = template.spec.context("template without a spec")?;
    pod_spec.hostname = Some(pod_name.clone());
    pod_spec.subdomain = spec.service_name.clone();
    pod_spec.node_name = Some(shared.node_for(ordinal));
    // What the ServiceAccount admission plugin would default (it is off: no controller
    // creates `default` accounts here).
    pod_spec
        .service_account_name
        .get_or_insert_with(|| "default".into());
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(shared.client.clone(), namespace);
    for claim in spec.volume_claim_templates.iter().flatten() {
        let claim_name = claim
            .metadata
            .name
            .clone()
            .context("claim template without a name")?;
        let pvc_name = format!("{claim_name}-{pod_name}");
        let existing = pvcs.get_opt(&pvc_name).await?;
        // As the real controller: no pod on a claim being deleted; it is made again, new
        // and empty, once the old one is gone.
        if existing
            .as_ref()
            .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
        {
            shared.log(&format!(
                "statefulset {set}: pod {pod_name} waits, PVC {pvc_name} is being deleted"
            ));
            return Ok(false);
        }
        if existing.is_none() {
            let mut labels = claim.metadata.labels.clone().unwrap_or_default();
            labels.extend(
                meta.labels
                    .iter()
                    .flatten()
                    .filter(|(k, _)| !k.starts_with("controller-revision-hash"))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            let pvc = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(pvc_name.clone()),
                    namespace: Some(namespace.into()),
                    labels: Some(labels),
                    ..Default::default()
                },
                spec: claim.spec.clone(),
                ..Default::default()
            };
            pvcs.create(&PostParams::default(), &pvc).await?;
        }
        pod_spec.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: claim_name,
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: pvc_name,
                read_only: None,
            }),
            ..Default::default()
        });
    }
    let pod = Pod {
        metadata: meta,
        spec: Some(pod_spec),
        status: None,
    };
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
    pods.create(&PostParams::default(), &pod)
        .await
        .with_context(|| format!("creating pod {pod_name}"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(ordinal: u32, ready: bool, revision: &str) -> PodView {
        PodView {
            ordinal,
            ready,
            terminating: false,
            revision: revision.into(),
        }
    }

    #[test]
    fn the_controllers_steps() {
        use Step::*;
        type Case = (&'static str, u32, bool, Vec<PodView>, Vec<Step>);
        let cases: &[Case] = &[
            ("ordered: first pod", 3, false, vec![], vec![Create(0)]),
            (
                "ordered: waits for 0 to be ready",
                3,
                false,
                vec![view(0, false, "r")],
                vec![],
            ),
            (
                "ordered: next once 0 is ready",
                3,
                false,
                vec![view(0, true, "r")],
                vec![Create(1)],
            ),
            (
                "parallel: all at once",
                3,
                true,
                vec![],
                vec![Create(0), Create(1), Create(2)],
            ),
            (
                "parallel: fills a gap",
                3,
                true,
                vec![view(0, false, "r"), view(2, false, "r")],
                vec![Create(1)],
            ),
            (
                "ordered: scale down from the top, one at a time",
                1,
                false,
                vec![view(0, true, "r"), view(1, true, "r"), view(2, true, "r")],
                vec![Delete(2)],
            ),
            (
                "parallel: scale down all at once",
                1,
                true,
                vec![view(0, true, "r"), view(1, true, "r"), view(2, true, "r")],
                vec![Delete(2), Delete(1)],
            ),
            (
                "rolling update from the highest ordinal",
                3,
                false,
                vec![
                    view(0, true, "old"),
                    view(1, true, "old"),
                    view(2, true, "old"),
                ],
                vec![Delete(2)],
            ),
            (
                "rolling update waits for the replaced pod to be ready",
                3,
                false,
                vec![
                    view(0, true, "old"),
                    view(1, true, "old"),
                    view(2, false, "r"),
                ],
                vec![],
            ),
            (
                "rolling update goes on down",
                3,
                true,
                vec![
                    view(0, true, "old"),
                    view(1, true, "old"),
                    view(2, true, "r"),
                ],
                vec![Delete(1)],
            ),
            (
                "parallel: a stale pod below an unready one is not waited for",
                3,
                true,
                vec![
                    view(0, false, "old"),
                    view(1, true, "r"),
                    view(2, true, "r"),
                ],
                vec![Delete(0)],
            ),
            (
                "parallel: an unready updated pod holds the walk",
                3,
                true,
                vec![
                    view(0, true, "old"),
                    view(1, false, "r"),
                    view(2, true, "r"),
                ],
                vec![],
            ),
            (
                "ordered: any unready pod holds the update",
                3,
                false,
                vec![
                    view(0, false, "old"),
                    view(1, true, "r"),
                    view(2, true, "r"),
                ],
                vec![],
            ),
        ];
        for (name, replicas, parallel, pods, want) in cases {
            assert_eq!(&plan(*replicas, *parallel, "r", pods), want, "{name}");
        }
    }

    #[test]
    fn scale_down_one_at_a_time_waits_for_each_to_be_gone() {
        use Step::*;
        let terminating = PodView {
            terminating: true,
            ready: false,
            ..view(4, true, "r")
        };
        // 5 -> 2, OrderedReady: 4 first; 3 only once 4 is gone.
        let five: Vec<PodView> = (0..5).map(|i| view(i, true, "r")).collect();
        assert_eq!(plan(2, false, "r", &five), vec![Delete(4)]);
        let mut going = five[..4].to_vec();
        going.push(terminating.clone());
        assert_eq!(plan(2, false, "r", &going), vec![]);
        assert_eq!(plan(2, false, "r", &five[..4]), vec![Delete(3)]);
        // Parallel: every condemned pod at once, highest first; a terminating one is not
        // deleted again.
        assert_eq!(
            plan(2, true, "r", &five),
            vec![Delete(4), Delete(3), Delete(2)]
        );
        assert_eq!(plan(2, true, "r", &going), vec![Delete(3), Delete(2)]);
    }

    #[test]
    fn claims_of_pods_scaled_away_go_once_the_pods_are_gone() {
        let claims: Vec<(u32, String)> = (0..4).map(|i| (i, format!("data-c-{i}"))).collect();
        let terminating = PodView {
            terminating: true,
            ..view(3, false, "r")
        };
        let pods = vec![view(0, true, "r"), view(1, true, "r"), terminating];
        // (name, replicas, whenScaled Delete, pods, want)
        type Case = (&'static str, u32, bool, Vec<PodView>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            ("Retain keeps everything", 2, false, vec![], vec![]),
            (
                "2 gone, 3 still terminating",
                2,
                true,
                pods.clone(),
                vec!["data-c-2"],
            ),
            (
                "both gone",
                2,
                true,
                pods[..2].to_vec(),
                vec!["data-c-2", "data-c-3"],
            ),
            (
                "scaled back up before the pods went: kept",
                4,
                true,
                pods[..2].to_vec(),
                vec![],
            ),
            (
                "a remaining pod deleted by hand keeps its claim",
                4,
                true,
                vec![view(0, true, "r")],
                vec![],
            ),
        ];
        for (name, replicas, delete, pods, want) in cases {
            assert_eq!(
                claims_to_delete(replicas, delete, &pods, &claims),
                want,
                "{name}"
            );
        }
        let templates = vec!["data".to_owned(), "data-extra".to_owned()];
        assert_eq!(
            claim_ordinal(&templates, "cassandra", "data-cassandra-2"),
            Some(2)
        );
        assert_eq!(
            claim_ordinal(&templates, "cassandra", "data-extra-cassandra-12"),
            Some(12)
        );
        assert_eq!(claim_ordinal(&templates, "cassandra", "data-other-0"), None);
        assert_eq!(claim_ordinal(&templates, "c", "data-c-x"), None);
    }
}
