//! `data_dir/portal.json`: what a running portal writes about itself — its
//! pid, its server's, the link address and the ports players connect to —
//! for the launcher (`tavern status`, `reload`, `stop`), a restarted server
//! looking for its portal, and tools such as the load tool.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The contents of `data_dir/portal.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// The game's name.
    pub game: String,
    /// The portal process.
    pub portal_pid: u32,
    /// The server process, while one runs.
    pub server_pid: Option<u32>,
    /// Where the portal listens for the link (the server and the launcher).
    pub link_address: SocketAddr,
    /// Telnet ports (resolved: a configured 0 is the port the system chose).
    pub telnet_ports: Vec<u16>,
    /// Telnet-over-TLS ports.
    #[serde(default)]
    pub tls_ports: Vec<u16>,
    /// SSH ports.
    #[serde(default)]
    pub ssh_ports: Vec<u16>,
    /// The webclient and websocket port.
    #[serde(default)]
    pub web_port: u16,
    /// When the portal started, in ms since the Unix epoch.
    pub started_unix_ms: u64,
}

impl RuntimeInfo {
    /// The file at `path`, if it exists and reads.
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the file at `path` whole or not at all (a temporary file
    /// renamed over it), so a reader never sees half of it.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_round_trips_through_the_file_and_old_files_still_read() {
        let dir = std::env::temp_dir().join(format!("tavern-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("portal.json");
        let rt = RuntimeInfo {
            game: "g".into(),
            portal_pid: 7,
            server_pid: Some(8),
            link_address: "127.0.0.1:4006".parse().unwrap(),
            telnet_ports: vec![4000],
            tls_ports: vec![],
            ssh_ports: vec![4004],
            web_port: 4001,
            started_unix_ms: 1,
        };
        rt.write(&path).unwrap();
        assert_eq!(RuntimeInfo::read(&path), Some(rt));
        // A file from before TLS and the webclient existed.
        std::fs::write(
            &path,
            r#"{"game":"g","portal_pid":1,"server_pid":null,"link_address":"127.0.0.1:1","telnet_ports":[4000],"started_unix_ms":0}"#,
        )
        .unwrap();
        assert_eq!(RuntimeInfo::read(&path).unwrap().web_port, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
