//! This pod's entry in the identity record (`decide::cluster_record`): written over the
//! version read, never created.

use super::*;

/// Writes of the identity record that may meet another pod's write before one goes
/// through: each pod writes once per boot, so a handful covers a whole set starting.
pub(super) const IDENTITY_WRITE_ATTEMPTS: u32 = 8;
impl Kube {
    /// Writes this pod's entry into the identity record of `set`. The ConfigMap is shipped
    /// with the manifests and never created here: a pod that could create it could make
    /// one that nothing else expects, and one owned by the StatefulSet would go with it.
    /// A record an earlier version created (owned by the set) is released from its owner
    /// on the first write, so it outlives the set from then on. Only this pod's key is
    /// written, and only over the version just read (`resourceVersion` as the
    /// precondition): when another pod wrote in between, the API answers 409 and the
    /// write starts again from a fresh read, so no pod's entry is ever lost.
    pub async fn write_identity(&self, set: &SetFacts, entry: &PodEntry) -> Result<(), String> {
        let api = match &self.api {
            Ok(api) => api,
            Err((why, _)) => return Err(why.clone()),
        };
        let name = configmap_name(&set.name);
        let maps: Api<ConfigMap> = Api::namespaced(api.client.clone(), &api.namespace);
        let text = entry.render();
        for _ in 0..IDENTITY_WRITE_ATTEMPTS {
            let Some(map) = api
                .get(&maps, "configmaps", &name)
                .await
                .map_err(|u| u.why)?
            else {
                return Err(format!(
                    "configmaps/{name} does not exist: the manifests ship it (empty, in \
                     manifests/base/identity.yaml); apply it, renamed as your kustomization \
                     renames the set"
                ));
            };
            let mut metadata = serde_json::json!({
                "resourceVersion": map.metadata.resource_version,
            });
            let owners = map.metadata.owner_references.unwrap_or_default();
            if !owners.is_empty() && owners.iter().all(|o| o.kind == "StatefulSet") {
                metadata["ownerReferences"] = serde_json::Value::Null;
            }
            let patch = serde_json::json!({
                "metadata": metadata,
                "data": { self.pod.as_str(): text },
            });
            let what = format!("patch configmaps/{name}");
            let written = tokio::time::timeout(
                API_TIMEOUT,
                maps.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)),
            )
            .await;
            match written {
                Ok(Ok(_)) => return Ok(()),
                // Another pod wrote first (or created it first): read again.
                Ok(Err(kube::Error::Api(status))) if status.code == 409 => {
                    debug!(request = %what, "the identity record changed under this write; reading it again");
                }
                Ok(Err(e)) => return Err(api.explain(&what, e).why),
                Err(_) => {
                    return Err(format!(
                        "the Kubernetes API {NO_ANSWER} {what} within {}s",
                        API_TIMEOUT.as_secs()
                    ));
                }
            }
        }
        Err(format!(
            "configmaps/{name} changed under each of {IDENTITY_WRITE_ATTEMPTS} writes"
        ))
    }
}
