//! `Status` bodies, as the API server writes them for a failure or for a success that returns no object.

use serde_json::{json, Value};

/// One answer of the API server: an HTTP status code and a JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self { code: 200, body }
    }

    /// The `Status` reason of a failure; empty for a success.
    pub fn reason(&self) -> &str {
        if self.code < 400 {
            return "";
        }
        self.body
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// A `Status` with `status: Failure`, its reason and the object it is about. `kind` is the resource's plural
/// (`pods`), as the API server writes it in `details.kind`.
pub fn failure(code: u16, reason: &str, message: &str, kind: &str, name: &str) -> Reply {
    failure_with_causes(code, reason, message, kind, name, Vec::new())
}

pub fn failure_with_causes(
    code: u16,
    reason: &str,
    message: &str,
    kind: &str,
    name: &str,
    causes: Vec<Value>,
) -> Reply {
    let mut details = json!({ "name": name, "kind": kind });
    if !causes.is_empty() {
        details["causes"] = Value::Array(causes);
    }
    Reply {
        code,
        body: json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code,
        }),
    }
}

/// 404 `pods "vault-9" not found`.
pub fn not_found(kind: &str, group_prefix: &str, name: &str) -> Reply {
    failure(
        404,
        "NotFound",
        &format!("{kind}{group_prefix} \"{name}\" not found"),
        kind,
        name,
    )
}

/// 409 for a write whose precondition or resourceVersion no longer holds.
pub fn conflict(kind: &str, name: &str, why: &str) -> Reply {
    failure(
        409,
        "Conflict",
        &format!("Operation cannot be fulfilled on {kind} \"{name}\": {why}"),
        kind,
        name,
    )
}

/// 422 for a request whose content the API server refuses.
pub fn invalid(kind_title: &str, kind: &str, name: &str, field: &str, why: &str) -> Reply {
    let mut reply = failure_with_causes(
        422,
        "Invalid",
        &format!("{kind_title} \"{name}\" is invalid: {field}: {why}"),
        kind,
        name,
        vec![json!({ "reason": "FieldValueInvalid", "message": why, "field": field })],
    );
    reply.body["details"]["group"] = json!(group_of(kind));
    reply
}

fn group_of(kind: &str) -> &'static str {
    match kind {
        "statefulsets" => "apps",
        _ => "",
    }
}

/// A success that returns no object (an accepted eviction: 201 Created).
pub fn success(code: u16) -> Reply {
    Reply {
        code,
        body: json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": code,
        }),
    }
}
