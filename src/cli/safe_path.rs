//! Which files of a model folder may be read: a folder cloned from a
//! stranger can hold links to anywhere (`tokenizer_config.json ->
//! /proc/self/environ`). A link is followed only when its target is a
//! regular file inside the folder, or inside the `blobs/` folder of the
//! same Hugging Face cache entry, where `snapshots/<rev>/FILE` links to
//! `../../blobs/<hash>`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A model folder and the places its links may lead.
pub struct ModelFolder {
    /// The folder as given (used to build paths and in messages).
    dir: PathBuf,
    /// Its real path.
    root: PathBuf,
    /// The real path of `../../blobs` when the folder is a cache snapshot.
    blobs: Option<PathBuf>,
}

impl ModelFolder {
    /// The folder `dir`, which must exist.
    pub fn new(dir: &Path) -> Result<Self> {
        let root = dir
            .canonicalize()
            .with_context(|| format!("{}: cannot open", dir.display()))?;
        let blobs = root
            .parent()
            .filter(|p| p.file_name().is_some_and(|n| n == "snapshots"))
            .and_then(Path::parent)
            .map(|entry| entry.join("blobs"))
            .and_then(|b| b.canonicalize().ok());
        Ok(ModelFolder {
            dir: dir.to_path_buf(),
            root,
            blobs,
        })
    }

    /// The folder as given.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks `dir/name`: `Ok(None)` when nothing is there, `Ok(Some(path))`
    /// when it is a regular file that may be read (through its links), and
    /// `Err(why)` when something is there that must not be read.
    pub fn file(&self, name: &str) -> Result<Option<PathBuf>, String> {
        let p = self.dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            return Ok(None);
        };
        if meta.file_type().is_symlink() {
            let target = p
                .canonicalize()
                .map_err(|e| format!("a link that cannot be followed ({e})"))?;
            let inside = target.starts_with(&self.root)
                || self.blobs.as_ref().is_some_and(|b| target.starts_with(b));
            if !inside {
                return Err(
                    "a link to a file outside the model folder (and outside its Hugging Face cache blobs)"
                        .into(),
                );
            }
            if !target.is_file() {
                return Err("a link to something that is not a regular file".into());
            }
            return Ok(Some(p));
        }
        if !meta.is_file() {
            // A folder, device or pipe under a file's name.
            return if meta.is_dir() {
                Ok(None)
            } else {
                Err("not a regular file".into())
            };
        }
        Ok(Some(p))
    }

    /// The names of the folder's entries, sorted (names that are not UTF-8
    /// are left out: no model file has one).
    pub fn names(&self) -> Result<Vec<String>> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .with_context(|| format!("{}: cannot list", self.dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_only_inside_the_folder_or_its_cache_blobs() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = tmp.path().join("models--org--m");
        let snap = entry.join("snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(entry.join("blobs")).unwrap();
        std::fs::write(entry.join("blobs/h1"), b"{}").unwrap();
        std::fs::write(tmp.path().join("secret"), b"TOKEN=1").unwrap();
        std::fs::write(snap.join("plain.json"), b"{}").unwrap();
        symlink("../../blobs/h1", snap.join("config.json")).unwrap();
        symlink(tmp.path().join("secret"), snap.join("leak.json")).unwrap();
        symlink("plain.json", snap.join("alias.json")).unwrap();
        symlink("../../blobs", snap.join("dir-link")).unwrap();
        symlink("/nonexistent/x", snap.join("dangling.json")).unwrap();

        let f = ModelFolder::new(&snap).unwrap();
        assert!(f.file("config.json").unwrap().is_some());
        assert!(f.file("plain.json").unwrap().is_some());
        assert!(f.file("alias.json").unwrap().is_some());
        assert!(f.file("absent.json").unwrap().is_none());
        assert!(f.file("leak.json").unwrap_err().contains("outside"));
        assert!(f.file("dir-link").is_err());
        assert!(f.file("dangling.json").is_err());

        // The same blob is outside a folder that is not a cache snapshot.
        let other = tmp.path().join("plain");
        std::fs::create_dir(&other).unwrap();
        symlink(entry.join("blobs/h1"), other.join("config.json")).unwrap();
        let f = ModelFolder::new(&other).unwrap();
        assert!(f.file("config.json").is_err());
    }
}
