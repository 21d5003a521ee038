//! A real distribution registry in a container, its storage bind-mounted from a host temp dir so faults can be
//! applied to the real tree. The container is removed when this value drops, also when a test panics.

use super::image::RegistryImage;
use super::storage::Storage;
use firedrill_probes::Endpoint;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;
use testcontainers::core::{ExecCommand, IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// Where both the upstream image and the Debian build keep storage, binary and config.
const STORAGE_PATH: &str = "/var/lib/registry";
const BINARY_PATH: &str = "/bin/registry";
const CONFIG_PATH: &str = "/etc/docker/registry/config.yml";
const PORT: u16 = 5000;
/// A registry starts in well under a second; a minute means Docker itself is in trouble.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(
        "cannot start the registry container from {image}: {reason}\n\
         (is Docker running, and was the image built with ci/registry-image.sh?)"
    )]
    Start { image: String, reason: String },
    #[error("exec of {command:?} in the registry container failed: {reason}")]
    Exec { command: String, reason: String },
    #[error("cannot create the storage directory: {0}")]
    Storage(#[from] std::io::Error),
}

/// A running registry. Dropping it removes the container; the storage directory goes with the last owner of it.
pub struct RegistryContainer {
    // Declared first so it drops first: the container is removed before its storage directory is.
    container: ContainerAsync<GenericImage>,
    storage_dir: Arc<tempfile::TempDir>,
    image: RegistryImage,
    endpoint: Endpoint,
    version: String,
}

impl RegistryContainer {
    /// Starts the chosen image ([`RegistryImage::choose`]) on fresh, empty storage.
    pub async fn start() -> Result<RegistryContainer, DockerError> {
        let storage_dir = Arc::new(
            tempfile::Builder::new()
                .prefix("firedrill-registry-")
                .tempdir()?,
        );
        Self::start_on(storage_dir, RegistryImage::choose()).await
    }

    /// Starts a registry on existing storage.
    pub async fn start_on(
        storage_dir: Arc<tempfile::TempDir>,
        image: RegistryImage,
    ) -> Result<RegistryContainer, DockerError> {
        let start_error = |reason: String| DockerError::Start {
            image: image.to_string(),
            reason,
        };
        let metadata = std::fs::metadata(storage_dir.path())?;
        // Running as the owner of the storage directory keeps the tree writable for the faults, and removable.
        let user = format!("{}:{}", metadata.uid(), metadata.gid());
        let container = GenericImage::new(image.name.as_str(), image.tag.as_str())
            .with_exposed_port(PORT.tcp())
            .with_wait_for(WaitFor::message_on_stderr("listening on"))
            .with_mount(Mount::bind_mount(
                storage_dir.path().display().to_string(),
                STORAGE_PATH,
            ))
            .with_env_var("REGISTRY_STORAGE_DELETE_ENABLED", "true")
            .with_user(user)
            .with_startup_timeout(STARTUP_TIMEOUT)
            .start()
            .await
            .map_err(|error| start_error(error.to_string()))?;
        let port = container
            .get_host_port_ipv4(PORT)
            .await
            .map_err(|error| start_error(error.to_string()))?;
        let endpoint =
            Endpoint::parse(&format!("http://127.0.0.1:{port}")).expect("a loopback URL parses");
        let mut registry = RegistryContainer {
            container,
            storage_dir,
            image,
            endpoint,
            version: String::new(),
        };
        let (version, _) = registry.exec(&[BINARY_PATH, "--version"]).await?;
        registry.version = version.trim().to_string();
        Ok(registry)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn url(&self) -> String {
        self.endpoint.to_string()
    }

    pub fn image(&self) -> &RegistryImage {
        &self.image
    }

    /// What the registry binary itself says, e.g. "/bin/registry github.com/docker/distribution 2.8.2+ds1".
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The storage tree, for faults.
    pub fn storage(&self) -> Storage {
        Storage::new(self.storage_dir.path())
    }

    /// Removes this container and starts a new one on the same storage: a registry restart, which also empties
    /// the in-memory blob descriptor cache so the API sees what the faults left on disk.
    pub async fn restart(self) -> Result<RegistryContainer, DockerError> {
        let RegistryContainer {
            container,
            storage_dir,
            image,
            ..
        } = self;
        container.rm().await.map_err(|error| DockerError::Start {
            image: image.to_string(),
            reason: format!("removing the old container: {error}"),
        })?;
        Self::start_on(storage_dir, image).await
    }

    /// Runs the registry's own `garbage-collect [--delete-untagged]` on the live storage and returns its output.
    pub async fn garbage_collect(&self, delete_untagged: bool) -> Result<String, DockerError> {
        let mut command = vec![BINARY_PATH, "garbage-collect"];
        if delete_untagged {
            command.push("--delete-untagged");
        }
        command.push(CONFIG_PATH);
        let (stdout, stderr) = self.exec(&command).await?;
        Ok(format!("{stdout}{stderr}"))
    }

    /// Runs a command in the container to completion; a non-zero exit is an error.
    async fn exec(&self, command: &[&str]) -> Result<(String, String), DockerError> {
        let exec_error = |reason: String| DockerError::Exec {
            command: command.join(" "),
            reason,
        };
        let mut result = self
            .container
            .exec(ExecCommand::new(command.iter().copied()))
            .await
            .map_err(|error| exec_error(error.to_string()))?;
        let stdout = result
            .stdout_to_vec()
            .await
            .map_err(|error| exec_error(error.to_string()))?;
        let stderr = result
            .stderr_to_vec()
            .await
            .map_err(|error| exec_error(error.to_string()))?;
        let stdout = String::from_utf8_lossy(&stdout).into_owned();
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        // The exit code is known only once docker has reaped the process, a moment after the streams close.
        for _ in 0..50 {
            match result
                .exit_code()
                .await
                .map_err(|error| exec_error(error.to_string()))?
            {
                Some(0) => return Ok((stdout, stderr)),
                Some(code) => {
                    return Err(exec_error(format!("exit code {code}: {stdout}{stderr}")))
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(exec_error(
            "did not exit within 5 s of closing its output".into(),
        ))
    }
}
