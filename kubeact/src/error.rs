//! The actuator's errors: the API server's own answer (a `Status`, with its code and reason) kept typed, apart
//! from a request that never got one.

use kube::core::Status;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The API server answered with a failure `Status` (404 NotFound, 409 Conflict, 422 Invalid, 429
    /// TooManyRequests for a refused eviction, ...).
    #[error("{} ({} {})", .0.message, .0.code, .0.reason)]
    Api(Box<Status>),
    /// No answer: the connection failed, or the answer could not be read.
    #[error("{0}")]
    Transport(String),
}

impl KubeError {
    /// The HTTP status code of an API answer; `None` when there was none.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Api(status) => Some(status.code),
            KubeError::Transport(_) => None,
        }
    }

    /// The `Status` reason of an API answer (`NotFound`, `Conflict`, ...); empty when there was none.
    pub fn reason(&self) -> &str {
        match self {
            KubeError::Api(status) => &status.reason,
            KubeError::Transport(_) => "",
        }
    }

    /// The message kubectl prints for the error: the API server's own for an API answer, followed by the
    /// messages of its causes (a refused eviction names the disruption budget there).
    pub fn message(&self) -> String {
        match self {
            KubeError::Api(status) => {
                let causes = status
                    .details
                    .as_ref()
                    .map(|details| details.causes.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .filter(|cause| !cause.message.is_empty())
                    .map(|cause| cause.message.as_str());
                std::iter::once(status.message.as_str())
                    .chain(causes)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            KubeError::Transport(why) => why.clone(),
        }
    }
}

impl From<kube::Error> for KubeError {
    fn from(error: kube::Error) -> Self {
        match error {
            kube::Error::Api(status) => KubeError::Api(status),
            other => KubeError::Transport(other.to_string()),
        }
    }
}
