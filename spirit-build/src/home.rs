//! `VUDO_HOME`: where keys, trusted authors, storage and the registry live.

use std::path::PathBuf;

/// `$VUDO_HOME`, else `~/.vudo` (the VUDO tools' location), else `.vudo`
/// in the current directory when there is no home directory.
pub fn vudo_home() -> PathBuf {
    if let Some(home) = std::env::var_os("VUDO_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    std::env::home_dir().map_or_else(|| PathBuf::from(".vudo"), |home| home.join(".vudo"))
}
