//! What kube-controller-manager does besides the StatefulSet controller, as far as the
//! tests need it (no controller manager runs here):
//!
//! * the garbage collector: the dependents of a StatefulSet that is gone (deleted with
//!   the default background propagation) or being deleted in the foreground (its Pods,
//!   the identity record ConfigMap) are deleted, each with its own grace period, so a
//!   Pod's preStop runs as on a real cluster; a foreground-deleted set goes once no Pod
//!   of it is left;
//! * the pvc-protection controller with the provisioner's reclaim policy `Delete`: a
//!   deleted PVC (held by the `kubernetes.io/pvc-protection` finalizer the API server's
//!   admission puts on every claim) goes once no Pod uses it, and so does the runner's
//!   directory behind it: the volume is lost, as when a node with local storage fails.
//!
//! [`orphans`] and [`claims_to_release`] are the pure decisions; [`collect`] reads and
//! writes the API.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::Shared;

/// The finalizer of a foreground deletion.
const FOREGROUND: &str = "foregroundDeletion";

/// Objects (by name) owned by a StatefulSet that is not `alive`: gone, or being deleted.
/// Objects not owned by any StatefulSet are never orphans here.
pub fn orphans<'a>(
    alive: &BTreeSet<String>,
    objects: &'a [(String, Vec<OwnerReference>)],
) -> Vec<&'a str> {
    objects
        .iter()
        .filter(|(_, owners)| {
            let sets: Vec<&OwnerReference> =
                owners.iter().filter(|o| o.kind == "StatefulSet").collect();
            !sets.is_empty() && sets.iter().all(|o| !alive.contains(&o.uid))
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The deleted claims (`terminating`) that no pod uses any more.
pub fn claims_to_release<'a>(
    claims: &'a [(String, bool)],
    in_use: &BTreeSet<String>,
) -> Vec<&'a str> {
    claims
        .iter()
        .filter(|(name, terminating)| *terminating && !in_use.contains(name))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// One pass over `namespace`.
pub async fn collect(shared: &Shared, namespace: &str) -> Result<()> {
    let sets: Api<StatefulSet> = Api::namespaced(shared.client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), namespace);
    let maps: Api<ConfigMap> = Api::namespaced(shared.client.clone(), namespace);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(shared.client.clone(), namespace);
    let all_sets = sets.list(&ListParams::default()).await?.items;
    let alive: BTreeSet<String> = all_sets
        .iter()
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .filter_map(|s| s.metadata.uid.clone())
        .collect();

    let all_pods = pods.list(&ListParams::default()).await?.items;
    let owned = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        (
            meta.name.clone().unwrap_or_default(),
            meta.owner_references.clone().unwrap_or_default(),
        )
    };
    let pod_owners: Vec<(String, Vec<OwnerReference>)> = all_pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| owned(&p.metadata))
        .collect();
    for pod in orphans(&alive, &pod_owners) {
        pods.delete(pod, &DeleteParams::default()).await?;
        shared.log(&format!("gc: deleting pod {pod} (its StatefulSet is gone)"));
    }
    let map_owners: Vec<(String, Vec<OwnerReference>)> = maps
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|m| m.metadata.deletion_timestamp.is_none())
        .map(|m| owned(&m.metadata))
        .collect();
    for map in orphans(&alive, &map_owners) {
        maps.delete(map, &DeleteParams::default()).await?;
        shared.log(&format!(
            "gc: deleted ConfigMap {map} (its StatefulSet is gone)"
        ));
    }
    // A foreground deletion ends once no Pod of the set is left.
    for set in all_sets
        .iter()
        .filter(|s| s.metadata.deletion_timestamp.is_some())
    {
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let has_pods = all_pods.iter().any(|p| {
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        });
        let finalizers = set.metadata.finalizers.clone().unwrap_or_default();
        if !has_pods && finalizers.iter().any(|f| f == FOREGROUND) {
            let rest: Vec<&String> = finalizers.iter().filter(|f| *f != FOREGROUND).collect();
            let name = set.metadata.name.as_deref().context("set without a name")?;
            sets.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": rest}})),
            )
            .await?;
            shared.log(&format!(
                "gc: foreground deletion of statefulset {name} done"
            ));
        }
    }

    // pvc-protection, then the volume's reclaim.
    let in_use: BTreeSet<String> = all_pods
        .iter()
        .filter_map(|p| p.spec.as_ref())
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
        .collect();
    let claims: Vec<(String, bool)> = pvcs
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|c| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                c.metadata.deletion_timestamp.is_some(),
            )
        })
        .collect();
    for claim in claims_to_release(&claims, &in_use) {
        // The volume first: once the claim is gone, a new one of the same name may be
        // made at once, and it must start empty.
        let dir = shared.pvc_dir(namespace, claim);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        pvcs.patch(
            claim,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await?;
        shared.log(&format!(
            "pvc-protection: PVC {claim} released, its volume deleted"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(uid: &str) -> OwnerReference {
        OwnerReference {
            kind: "StatefulSet".into(),
            uid: uid.into(),
            ..Default::default()
        }
    }

    #[test]
    fn dependents_of_a_set_that_is_gone_are_orphans() {
        let alive: BTreeSet<String> = ["live".to_owned()].into();
        let other = OwnerReference {
            kind: "Deployment".into(),
            uid: "d".into(),
            ..Default::default()
        };
        let objects = vec![
            ("of-live".to_owned(), vec![set("live")]),
            ("of-gone".to_owned(), vec![set("gone")]),
            ("of-both".to_owned(), vec![set("gone"), set("live")]),
            ("unowned".to_owned(), vec![]),
            ("of-a-deployment".to_owned(), vec![other]),
        ];
        assert_eq!(orphans(&alive, &objects), vec!["of-gone"]);
    }

    #[test]
    fn a_deleted_claim_goes_once_no_pod_uses_it() {
        let claims = vec![
            ("data-c-0".to_owned(), false),
            ("data-c-1".to_owned(), true),
            ("data-c-2".to_owned(), true),
        ];
        let in_use: BTreeSet<String> = ["data-c-0".to_owned(), "data-c-2".to_owned()].into();
        assert_eq!(claims_to_release(&claims, &in_use), vec!["data-c-1"]);
    }
}
