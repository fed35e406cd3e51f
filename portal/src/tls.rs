//! Telnet over TLS: the certificate and key from the settings, or a
//! self-signed pair generated in `data_dir/tls/` on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tavern_shared::Settings;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the TLS certificate or key is not usable: {0}")]
    Config(#[from] rustls::Error),
    #[error("set both [portal] tls_cert and tls_key, or neither")]
    Half,
}

/// Where the certificate and key are: as configured, or the generated pair.
pub(crate) fn cert_paths(settings: &Settings) -> Result<(PathBuf, PathBuf), TlsError> {
    let p = &settings.portal;
    match (
        p.tls_cert.as_os_str().is_empty(),
        p.tls_key.as_os_str().is_empty(),
    ) {
        (false, false) => Ok((p.tls_cert.clone(), p.tls_key.clone())),
        (true, true) => {
            let dir = settings.game.data_dir.join("tls");
            Ok((dir.join("cert.pem"), dir.join("key.pem")))
        }
        _ => Err(TlsError::Half),
    }
}

/// Writes a self-signed certificate for localhost, unless one is there already.
fn ensure_self_signed(cert: &Path, key: &Path) -> Result<(), TlsError> {
    if cert.exists() && key.exists() {
        return Ok(());
    }
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let pair = rcgen::generate_simple_self_signed(names)?;
    let write = |path: &Path, text: String| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| TlsError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    write(cert, pair.cert.pem())?;
    write(key, pair.signing_key.serialize_pem())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600));
    }
    info!(cert = %cert.display(), "generated a self-signed TLS certificate");
    Ok(())
}

/// The TLS acceptor for the telnet TLS ports.
pub(crate) fn acceptor(settings: &Settings) -> Result<TlsAcceptor, TlsError> {
    let (cert_path, key_path) = cert_paths(settings)?;
    if settings.portal.tls_cert.as_os_str().is_empty() {
        ensure_self_signed(&cert_path, &key_path)?;
    }
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Read {
            path: cert_path.clone(),
            source,
        })?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|source| TlsError::Read {
        path: key_path.clone(),
        source,
    })?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
