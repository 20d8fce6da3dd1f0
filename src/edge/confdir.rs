//! Reads the configuration template directory and writes the rendered one.

use std::fs;
use std::io;
use std::path::Path;

/// The template's `cassandra.yaml` and `cassandra-rackdc.properties` (empty if absent).
pub struct Template {
    /// cassandra.yaml text.
    pub yaml: String,
    /// cassandra-rackdc.properties text (empty when the template has none).
    pub rackdc: String,
}

/// Reads the two files ringkeeper renders from the template directory.
pub fn read_template(dir: &Path) -> anyhow::Result<Template> {
    let yaml_path = dir.join("cassandra.yaml");
    let yaml = fs::read_to_string(&yaml_path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {} (--conf-template must be a directory holding cassandra.yaml): {e}",
            yaml_path.display()
        )
    })?;
    let rackdc = match fs::read_to_string(dir.join("cassandra-rackdc.properties")) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!(
            "cannot read {}: {e}",
            dir.join("cassandra-rackdc.properties").display()
        ),
    };
    Ok(Template { yaml, rackdc })
}

/// Copies every file of the template directory into `out` (following symlinks, as
/// ConfigMap volumes use them; skipping their `..data` bookkeeping entries), then writes
/// the rendered files over the copies. Each file is written to a temporary name and
/// renamed, so Cassandra never reads a half-written file.
pub fn write(template: &Path, out: &Path, rendered: &[(&str, &str)]) -> anyhow::Result<()> {
    fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create --conf-out {}: {e}", out.display()))?;
    copy_tree(template, out).map_err(|e| {
        anyhow::anyhow!(
            "cannot copy --conf-template {} to {}: {e}",
            template.display(),
            out.display()
        )
    })?;
    for (name, text) in rendered {
        let path = out.join(name);
        let tmp = out.join(format!(".{name}.tmp"));
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("..") {
            continue;
        }
        let source = entry.path();
        let meta = fs::metadata(&source)?; // follows symlinks
        let target = to.join(&name);
        if meta.is_dir() {
            fs::create_dir_all(&target)?;
            copy_tree(&source, &target)?;
        } else if meta.is_file() {
            // Template files may be read-only (ConfigMap mode 0444) and copies keep the
            // mode, so remove last boot's copy instead of writing through it.
            match fs::remove_file(&target) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}
