//! Write-through persistence for crash tests: the whole state plus the clock offset as one
//! JSON file, replaced atomically (temporary file, fsync, rename, fsync of the directory).

use super::SimError;
use super::state::State;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateFile {
    pub clock_offset_ms: i64,
    pub state: State,
}

pub fn save(path: &Path, clock_offset_ms: i64, state: &State) -> Result<(), SimError> {
    let write_err = |source: std::io::Error| SimError::Write {
        path: path.to_path_buf(),
        source,
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        clock_offset_ms: i64,
        state: &'a State,
    }
    let bytes = serde_json::to_vec(&Out {
        clock_offset_ms,
        state,
    })
    .map_err(|e| write_err(std::io::Error::other(e)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = File::create(&tmp).map_err(write_err)?;
    f.write_all(&bytes).map_err(write_err)?;
    f.sync_all().map_err(write_err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(write_err)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn load(path: &Path) -> Result<StateFile, SimError> {
    read_json(path)
}

/// Reads a JSON file (a state file or a scenario), naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SimError> {
    let bytes = fs::read(path).map_err(|source| SimError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| SimError::Parse {
        path: path.to_path_buf(),
        source,
    })
}
