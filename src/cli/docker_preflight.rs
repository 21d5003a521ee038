//! Before a docker backend starts: Docker must be reachable, else the run is bad input (exit 2) that says why,
//! rather than an error from deep inside the backend.

use std::process::Command;

/// Checks that the docker command runs and reaches a daemon (`docker info`, which honours `DOCKER_HOST`).
pub fn check() -> Result<(), String> {
    let output = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|error| {
            format!(
                "--backend docker needs Docker, and the docker command cannot run ({error}); install Docker, \
                 or run the drill in simulation (--backend sim, the default)"
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no reason given");
    Err(format!(
        "--backend docker needs a running Docker, and `docker info` failed: {reason}; start Docker (or set \
         DOCKER_HOST), or run the drill in simulation (--backend sim, the default)"
    ))
}
