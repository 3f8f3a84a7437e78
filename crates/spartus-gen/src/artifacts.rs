//! The self-describing output folder `hdl_out/<name>/`, written atomically.
//!
//! Files are collected in memory ([`OutputDir::add`]), then [`OutputDir::commit`] writes them
//! plus `manifest.json` (SHA-256 of every file) into a temporary sibling directory and renames
//! it into place. A failure at any point leaves the previous folder (or nothing) behind, never
//! a half-written one. Files are written in sorted order with fixed content, so identical
//! inputs give byte-identical folders.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Version string recorded in manifests.
pub const TOOL_VERSION: &str = concat!("spartus-gen ", env!("CARGO_PKG_VERSION"));

/// An output folder being assembled in memory.
#[derive(Debug, Default)]
pub struct OutputDir {
    files: BTreeMap<String, Vec<u8>>,
    /// Extra manifest fields (resolved config, figures...).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_rel(rel: &str) -> Result<()> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!("internal error: output path {rel:?} must be relative and stay inside the folder");
    }
    Ok(())
}

impl OutputDir {
    /// An empty folder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a file at a relative path such as `rtl/top.v`.
    pub fn add(&mut self, rel: &str, bytes: impl Into<Vec<u8>>) -> Result<()> {
        check_rel(rel)?;
        if rel == "manifest.json" {
            bail!("internal error: manifest.json is written by commit()");
        }
        self.files.insert(rel.to_string(), bytes.into());
        Ok(())
    }

    /// Contents of a file added earlier.
    pub fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(|v| v.as_slice())
    }

    /// Relative paths of all files, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(|s| s.as_str())
    }

    /// The manifest JSON text for the current contents.
    pub fn manifest(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("tool".into(), TOOL_VERSION.into());
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        let files: serde_json::Map<String, serde_json::Value> = self
            .files
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::json!({"sha256": sha256_hex(v), "bytes": v.len()}),
                )
            })
            .collect();
        m.insert("files".into(), serde_json::Value::Object(files));
        let mut s = serde_json::to_string_pretty(&serde_json::Value::Object(m)).expect("json");
        s.push('\n');
        s
    }

    /// Write everything to `dest` atomically (temp dir + rename). An existing `dest` is
    /// replaced only after the new folder is complete.
    pub fn commit(&self, dest: &Path) -> Result<()> {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let leaf = dest
            .file_name()
            .context("output path has no folder name")?
            .to_string_lossy()
            .to_string();
        let tmp = parent.join(format!(".{leaf}.tmp-{}", std::process::id()));
        let old = parent.join(format!(".{leaf}.old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let result = (|| -> Result<()> {
            for (rel, bytes) in &self.files {
                let p = tmp.join(rel);
                std::fs::create_dir_all(p.parent().unwrap())?;
                std::fs::write(&p, bytes)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            std::fs::create_dir_all(&tmp)?;
            std::fs::write(tmp.join("manifest.json"), self.manifest())?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        if dest.exists() {
            std::fs::rename(dest, &old)
                .with_context(|| format!("cannot move old {} aside", dest.display()))?;
        }
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::rename(&old, dest);
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e).with_context(|| format!("cannot rename into {}", dest.display()));
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

/// Check a folder against its manifest: every listed file exists with the recorded hash.
/// Returns the list of problems (empty when the folder is intact).
pub fn check_manifest(dir: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).with_context(|| {
        format!(
            "{} has no manifest.json: not a gen output folder",
            dir.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}/manifest.json is not valid JSON", dir.display()))?;
    let files = v
        .get("files")
        .and_then(|f| f.as_object())
        .context("manifest.json has no \"files\" object")?;
    let mut problems = Vec::new();
    for (rel, meta) in files {
        check_rel(rel)?;
        let want = meta.get("sha256").and_then(|s| s.as_str()).unwrap_or("");
        let p: PathBuf = dir.join(rel);
        match std::fs::read(&p) {
            Ok(bytes) => {
                let got = sha256_hex(&bytes);
                if got != want {
                    problems.push(format!("{rel}: sha256 {got} differs from manifest {want}"));
                }
            }
            Err(_) => problems.push(format!("{rel}: listed in manifest but missing")),
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_atomic_and_deterministic() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("hdl_out").join("x");
        let mut o = OutputDir::new();
        o.add("rtl/a.v", "module a; endmodule\n").unwrap();
        o.add("mem/b.hex", "00\n").unwrap();
        o.commit(&dest).unwrap();
        let m1 = std::fs::read(dest.join("manifest.json")).unwrap();
        assert!(check_manifest(&dest).unwrap().is_empty());
        o.commit(&dest).unwrap();
        assert_eq!(m1, std::fs::read(dest.join("manifest.json")).unwrap());
        // no temp folders left next to it
        let names: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec!["x".to_string()]);
        // tampering is detected
        std::fs::write(dest.join("mem/b.hex"), "01\n").unwrap();
        let p = check_manifest(&dest).unwrap();
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("mem/b.hex: sha256"));
    }

    #[test]
    fn paths_must_stay_inside() {
        let mut o = OutputDir::new();
        assert!(o.add("../x", "").is_err());
        assert!(o.add("/abs", "").is_err());
        assert!(o.add("a/../../b", "").is_err());
        assert!(o.add("manifest.json", "").is_err());
    }
}
