//! The OneDrive backup on disk: atomic file writes (temp file, fsync, rename), the
//! `writes.log` journal of finished files, and `manifest.json` with its verification.
//! Blocking I/O only: callers run these through `spawn_blocking`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Where one drive's backup lives: `<backup_dir>/<userId>/<driveId>/`.
#[derive(Debug, Clone)]
pub(crate) struct BackupDir {
    pub root: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogLine {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestEntry {
    pub path: String,
    pub item_id: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub user_id: String,
    pub drive_id: String,
    pub total_files: u64,
    pub total_bytes: u64,
    pub files: Vec<ManifestEntry>,
    /// When the backup was last completed and verified (the age `backups.expire` goes by);
    /// absent in manifests written before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Size and sha256 of a file on disk, streaming.
pub(crate) fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((total, hex::encode(hasher.finalize())))
}

impl BackupDir {
    pub fn new(backup_dir: &Path, user_component: &str, drive_component: &str) -> Self {
        BackupDir {
            root: backup_dir.join(user_component).join(drive_component),
        }
    }

    pub fn files_dir(&self) -> PathBuf {
        self.root.join("files")
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("writes.log")
    }

    /// The on-disk location of a relative backup path (components already made safe).
    pub fn file_path(&self, rel: &str) -> PathBuf {
        let mut p = self.files_dir();
        for c in rel.split('/') {
            p.push(c);
        }
        p
    }

    /// Whether the file is already in place with this size and sha256.
    pub fn file_matches(&self, rel: &str, size: u64, sha256: &str) -> io::Result<bool> {
        let p = self.file_path(rel);
        match fs::metadata(&p) {
            Ok(m) if m.is_file() && m.len() == size => {
                Ok(hash_file(&p)?.1.eq_ignore_ascii_case(sha256))
            }
            Ok(_) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` to `rel` atomically, then appends a line to `writes.log`.
    pub fn store_file(
        &self,
        rel: &str,
        item_id: &str,
        bytes: &[u8],
        sha256: &str,
    ) -> io::Result<()> {
        let target = self.file_path(rel);
        if !target.starts_with(self.files_dir()) {
            return Err(io::Error::other(format!(
                "{rel} would leave the backup folder"
            )));
        }
        let tmp_name = sha256_hex(item_id.as_bytes());
        self.write_atomic(&target, &tmp_name, bytes)?;
        let line = LogLine {
            path: rel.to_string(),
            size: bytes.len() as u64,
            sha256: sha256.to_string(),
        };
        let mut text = serde_json::to_string(&line).map_err(io::Error::other)?;
        text.push('\n');
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        log.write_all(text.as_bytes())?;
        log.sync_data()
    }

    /// `writes.log` as path → (size, sha256), last line wins; torn lines are skipped.
    pub fn read_log(&self) -> io::Result<HashMap<String, (u64, String)>> {
        let text = match fs::read_to_string(self.log_path()) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<LogLine>(l).ok())
            .map(|l| (l.path, (l.size, l.sha256)))
            .collect())
    }

    pub fn write_manifest(&self, m: &Manifest) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(m).map_err(io::Error::other)?;
        self.write_atomic(&self.manifest_path(), "manifest.json.tmp", &bytes)
    }

    /// Re-reads the manifest and every file it lists; returns it when all match.
    pub fn verify_manifest(&self) -> Result<Manifest, String> {
        let path = self.manifest_path();
        let text = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let m: Manifest = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not a valid manifest: {e}", path.display()))?;
        let mut bytes = 0u64;
        for f in &m.files {
            let p = self.file_path(&f.path);
            let (size, sha) =
                hash_file(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            if size != f.size || !sha.eq_ignore_ascii_case(&f.sha256) {
                return Err(format!(
                    "{} on disk is {size} bytes sha256 {sha}, the manifest says {} bytes sha256 {}",
                    p.display(),
                    f.size,
                    f.sha256
                ));
            }
            bytes += size;
        }
        if m.files.len() as u64 != m.total_files || bytes != m.total_bytes {
            return Err(format!(
                "the manifest totals ({} files, {} bytes) do not match its entries ({} files, {bytes} bytes)",
                m.total_files,
                m.total_bytes,
                m.files.len()
            ));
        }
        Ok(m)
    }

    fn write_atomic(&self, target: &Path, tmp_name: &str, bytes: &[u8]) -> io::Result<()> {
        let tmp_dir = self.root.join("tmp");
        fs::create_dir_all(&tmp_dir)?;
        let parent = target.parent().ok_or_else(|| {
            io::Error::other(format!("{} has no parent folder", target.display()))
        })?;
        fs::create_dir_all(parent)?;
        let tmp = tmp_dir.join(tmp_name);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, target)?;
        // Make the rename durable; not every platform lets a directory be opened for sync.
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_log_and_verify_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let b = BackupDir::new(dir.path(), "u", "d");
        let data = b"hello";
        let sha = sha256_hex(data);
        b.store_file("a/b.txt", "item1", data, &sha).unwrap();
        assert!(b.file_matches("a/b.txt", 5, &sha).unwrap());
        assert!(!b.file_matches("a/b.txt", 4, &sha).unwrap());
        assert_eq!(
            b.read_log().unwrap().get("a/b.txt"),
            Some(&(5, sha.clone()))
        );
        let m = Manifest {
            user_id: "u".into(),
            drive_id: "d".into(),
            total_files: 1,
            total_bytes: 5,
            files: vec![ManifestEntry {
                path: "a/b.txt".into(),
                item_id: "item1".into(),
                size: 5,
                sha256: sha,
            }],
            completed_at: None,
        };
        b.write_manifest(&m).unwrap();
        assert_eq!(b.verify_manifest().unwrap(), m);
        fs::write(b.file_path("a/b.txt"), b"HELLO").unwrap();
        assert!(b.verify_manifest().is_err());
    }
}
