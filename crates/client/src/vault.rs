//! The key vault: session tokens and stream keys in the OS keyring, never in
//! files. Backends, in order of preference:
//!
//! 1. Secret Service (gnome-keyring, KWallet) over D-Bus — the desktop default;
//! 2. kernel keyutils (session keyring) where no secret service runs, e.g. a
//!    server without a desktop (`keyctl session - aethex …`);
//! 3. an in-memory store, compiled only into unit tests.
//!
//! `AETHEX_VAULT=secret-service|keyutils` forces a backend. The backend is
//! chosen by a probe that round-trips a value through a fresh entry, because
//! a backend-less keyring silently stores nothing.

use std::fmt;

use keyring::Entry;
use keyring::keyutils::KeyutilsCredential;
use keyring::secret_service::SsCredential;

use crate::secret::Secret;

/// Keyring service name under which every AeThex secret is stored.
pub const SERVICE: &str = "aethex-live";

/// Environment variable that forces a backend (`secret-service` or `keyutils`).
pub const BACKEND_ENV: &str = "AETHEX_VAULT";

/// Every way the vault can fail. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Neither backend could store and read back a value.
    #[error(
        "no usable OS keyring: secret service: {secret_service}; kernel keyutils: {keyutils}. \
         Start a secret service (e.g. gnome-keyring) or run inside a session keyring \
         (`keyctl session - aethex …`)"
    )]
    NoBackend {
        /// Why the Secret Service probe failed.
        secret_service: String,
        /// Why the keyutils probe failed.
        keyutils: String,
    },
    /// `AETHEX_VAULT` named something else.
    #[error("{BACKEND_ENV}={0:?} is not a vault backend (use secret-service or keyutils)")]
    UnknownBackend(String),
    /// The keyring exists but is locked.
    #[error("the OS keyring is locked: unlock it (e.g. log in to the desktop) and try again")]
    Locked,
    /// The backend failed; the text names the operation and the platform error.
    #[error("OS keyring ({backend}) failed to {operation}: {detail}")]
    Backend {
        /// Which backend.
        backend: VaultBackend,
        /// What we tried (`store`, `read`, `delete`).
        operation: &'static str,
        /// The platform error, without any secret.
        detail: String,
    },
}

/// Which store holds the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultBackend {
    /// freedesktop Secret Service over D-Bus.
    SecretService,
    /// Linux kernel key retention service (session keyring).
    Keyutils,
    /// Process memory; unit tests only.
    #[cfg(test)]
    Memory,
}

impl fmt::Display for VaultBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VaultBackend::SecretService => "secret service",
            VaultBackend::Keyutils => "kernel keyutils",
            #[cfg(test)]
            VaultBackend::Memory => "memory",
        })
    }
}

/// Handle on the OS keyring. Cheap to clone; every call opens a fresh entry,
/// so values written by another process are seen.
#[derive(Clone)]
pub struct Vault {
    backend: VaultBackend,
    service: String,
    #[cfg(test)]
    memory: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("backend", &self.backend)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the OS keyring: `AETHEX_VAULT` if set, else the Secret Service if
    /// it works, else kernel keyutils.
    pub fn open() -> Result<Vault, VaultError> {
        match std::env::var(BACKEND_ENV) {
            Ok(name) if name == "secret-service" => {
                Vault::with_backend(VaultBackend::SecretService)
            }
            Ok(name) if name == "keyutils" => Vault::with_backend(VaultBackend::Keyutils),
            Ok(name) if !name.is_empty() => Err(VaultError::UnknownBackend(name)),
            _ => match Vault::with_backend(VaultBackend::SecretService) {
                Ok(v) => Ok(v),
                Err(ss) => Vault::with_backend(VaultBackend::Keyutils).map_err(|ku| {
                    VaultError::NoBackend {
                        secret_service: ss.to_string(),
                        keyutils: ku.to_string(),
                    }
                }),
            },
        }
    }

    /// Opens one backend after proving it stores a value and reads it back
    /// through a fresh entry.
    pub fn with_backend(backend: VaultBackend) -> Result<Vault, VaultError> {
        let vault = Vault {
            backend,
            service: SERVICE.to_string(),
            #[cfg(test)]
            memory: Default::default(),
        };
        vault.probe()?;
        Ok(vault)
    }

    /// A vault in process memory, for unit tests of code that uses a vault.
    #[cfg(test)]
    pub(crate) fn in_memory() -> Vault {
        Vault {
            backend: VaultBackend::Memory,
            service: SERVICE.to_string(),
            memory: Default::default(),
        }
    }

    /// The backend in use (shown to the user so they know where keys live).
    pub fn backend(&self) -> VaultBackend {
        self.backend
    }

    /// Stores the session token for `server` (the server URL is the entry's
    /// name, so a token is only ever sent to the server that issued it).
    pub fn set_session_token(&self, server: &str, token: &Secret) -> Result<(), VaultError> {
        self.set(&session_entry(server), token)
    }

    /// The session token for `server`, if signed in.
    pub fn session_token(&self, server: &str) -> Result<Option<Secret>, VaultError> {
        self.get(&session_entry(server))
    }

    /// Forgets the session token for `server` (no error if there was none).
    pub fn delete_session_token(&self, server: &str) -> Result<(), VaultError> {
        self.delete(&session_entry(server))
    }

    /// Stores the stream key for a destination (the own server's URL, or a
    /// name the user gave another destination such as `twitch`).
    pub fn set_stream_key(&self, destination: &str, key: &Secret) -> Result<(), VaultError> {
        self.set(&stream_key_entry(destination), key)
    }

    /// The stream key for a destination, if one is stored.
    pub fn stream_key(&self, destination: &str) -> Result<Option<Secret>, VaultError> {
        self.get(&stream_key_entry(destination))
    }

    /// Forgets a destination's stream key (no error if there was none).
    pub fn delete_stream_key(&self, destination: &str) -> Result<(), VaultError> {
        self.delete(&stream_key_entry(destination))
    }

    fn probe(&self) -> Result<(), VaultError> {
        let name = format!("probe:{}", std::process::id());
        let value = Secret::new(format!("probe-{}", std::process::id()));
        self.set(&name, &value)?;
        let back = self.get(&name)?;
        // Clean up before judging, so a failed probe leaves nothing behind.
        let _ = self.delete(&name);
        match back {
            Some(v) if v == value => Ok(()),
            Some(_) => Err(self.failure("read", "read back a different value")),
            None => Err(self.failure("read", "stored value vanished (no persistent backend)")),
        }
    }

    fn entry(&self, name: &str) -> Result<Entry, VaultError> {
        let built = match self.backend {
            VaultBackend::SecretService => SsCredential::new_with_target(None, &self.service, name)
                .map(|c| Entry::new_with_credential(Box::new(c))),
            VaultBackend::Keyutils => {
                KeyutilsCredential::new_with_target(None, &self.service, name)
                    .map(|c| Entry::new_with_credential(Box::new(c)))
            }
            #[cfg(test)]
            VaultBackend::Memory => return Err(self.failure("open", "memory has no entries")),
        };
        built.map_err(|e| self.map_err("open", e))
    }

    fn set(&self, name: &str, value: &Secret) -> Result<(), VaultError> {
        #[cfg(test)]
        if self.backend == VaultBackend::Memory {
            self.memory
                .lock()
                .expect("memory vault poisoned")
                .insert(name.to_string(), value.expose().to_string());
            return Ok(());
        }
        self.entry(name)?
            .set_password(value.expose())
            .map_err(|e| self.map_err("store", e))
    }

    fn get(&self, name: &str) -> Result<Option<Secret>, VaultError> {
        #[cfg(test)]
        if self.backend == VaultBackend::Memory {
            let map = self.memory.lock().expect("memory vault poisoned");
            return Ok(map.get(name).cloned().map(Secret::new));
        }
        match self.entry(name)?.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.map_err("read", e)),
        }
    }

    fn delete(&self, name: &str) -> Result<(), VaultError> {
        #[cfg(test)]
        if self.backend == VaultBackend::Memory {
            self.memory
                .lock()
                .expect("memory vault poisoned")
                .remove(name);
            return Ok(());
        }
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.map_err("delete", e)),
        }
    }

    fn failure(&self, operation: &'static str, detail: &str) -> VaultError {
        VaultError::Backend {
            backend: self.backend,
            operation,
            detail: detail.to_string(),
        }
    }

    fn map_err(&self, operation: &'static str, e: keyring::Error) -> VaultError {
        let detail = match &e {
            // The raw bytes would be the secret: never show them.
            keyring::Error::BadEncoding(_) => "stored value is not UTF-8".to_string(),
            keyring::Error::Ambiguous(items) => {
                format!("{} entries match; remove the duplicates", items.len())
            }
            keyring::Error::NoStorageAccess(inner) if is_locked(&inner.to_string()) => {
                return VaultError::Locked;
            }
            keyring::Error::NoEntry if self.backend == VaultBackend::Keyutils => {
                // keyutils reports a missing session keyring as NoEntry.
                "no session keyring (run inside `keyctl session -`)".to_string()
            }
            other => other.to_string(),
        };
        self.failure(operation, &detail)
    }
}

fn is_locked(text: &str) -> bool {
    text.to_ascii_lowercase().contains("locked")
}

fn session_entry(server: &str) -> String {
    format!("session:{}", normalise(server))
}

fn stream_key_entry(destination: &str) -> String {
    format!("stream-key:{}", normalise(destination))
}

/// `http://Host:8080/` and `http://host:8080` name the same server.
fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_vault_keeps_tokens_and_keys_apart_per_server() {
        let v = Vault::in_memory();
        v.set_session_token("http://a:8080/", &Secret::new("tok-a"))
            .unwrap();
        v.set_stream_key("http://a:8080", &Secret::new("key-a"))
            .unwrap();
        assert_eq!(
            v.session_token("http://A:8080").unwrap().unwrap().expose(),
            "tok-a"
        );
        assert_eq!(
            v.stream_key("http://a:8080/").unwrap().unwrap().expose(),
            "key-a"
        );
        assert!(v.session_token("http://b:8080").unwrap().is_none());
        v.delete_session_token("http://a:8080").unwrap();
        v.delete_session_token("http://a:8080").unwrap();
        assert!(v.session_token("http://a:8080").unwrap().is_none());
        assert!(v.stream_key("http://a:8080").unwrap().is_some());
    }

    #[test]
    fn errors_never_show_stored_bytes() {
        let v = Vault::in_memory();
        let e = v.map_err(
            "read",
            keyring::Error::BadEncoding(b"sk_secret\xff".to_vec()),
        );
        let text = format!("{e} {e:?}");
        assert!(!text.contains("sk_secret"), "{text}");
    }

    /// Stores, overwrites and deletes through two independent handles.
    fn round_trip(backend: VaultBackend) {
        let v = Vault::with_backend(backend).expect("backend usable");
        let server = format!("http://127.0.0.1:{}/{backend:?}", std::process::id());
        let token = Secret::new("tok_round_trip_ÿ");
        v.set_session_token(&server, &token).unwrap();
        // A second handle: nothing cached in the first one.
        let again = Vault::with_backend(backend).unwrap();
        assert_eq!(again.session_token(&server).unwrap(), Some(token.clone()));
        v.set_session_token(&server, &Secret::new("tok_2")).unwrap();
        assert_eq!(
            again.session_token(&server).unwrap().unwrap().expose(),
            "tok_2"
        );
        v.set_stream_key(&server, &Secret::new("sk_3")).unwrap();
        again.delete_session_token(&server).unwrap();
        assert!(v.session_token(&server).unwrap().is_none());
        assert_eq!(again.stream_key(&server).unwrap().unwrap().expose(), "sk_3");
        v.delete_stream_key(&server).unwrap();
        assert!(again.stream_key(&server).unwrap().is_none());
    }

    /// Round trip through the real Secret Service: run under
    /// `scripts/with-keyring`, which starts a throwaway gnome-keyring.
    #[test]
    fn secret_service_round_trip_through_fresh_entries() {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            eprintln!("skipped: no D-Bus session; run under scripts/with-keyring");
            return;
        }
        round_trip(VaultBackend::SecretService);
        // With a secret service running, it is the one chosen.
        if std::env::var_os(BACKEND_ENV).is_none() {
            assert_eq!(
                Vault::open().unwrap().backend(),
                VaultBackend::SecretService
            );
        }
    }

    /// Round trip through the kernel's session keyring (the fallback). keyutils
    /// needs a session keyring, so the test re-runs itself inside
    /// `keyctl session -`, as a user on a headless machine would.
    #[test]
    fn keyutils_round_trip_through_fresh_entries() {
        const INSIDE: &str = "AETHEX_TEST_IN_KEYCTL_SESSION";
        if std::env::var_os(INSIDE).is_some() {
            round_trip(VaultBackend::Keyutils);
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("keyctl")
            .args(["session", "-"])
            .arg(exe)
            .args([
                "--exact",
                "vault::tests::keyutils_round_trip_through_fresh_entries",
                "--nocapture",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("keyctl (package keyutils) runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the inner test ran: {text}");
    }
}
