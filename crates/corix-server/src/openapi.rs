//! The OpenAPI 3 document of the whole API, generated from the code: the `#[utoipa::path]`
//! attributes on the handlers in [`crate::routes`], the forwarded actions built from the table in
//! `routes/actions.rs`, and the `ToSchema` of the `corix-proto` types. Served at
//! `GET /api/openapi.json`; `docs/openapi.json` is a committed copy that `tests/openapi.rs` keeps
//! current (`UPDATE_OPENAPI=1 cargo test -p corix-server --test openapi` rewrites it).

use axum::http::header;
use axum::response::IntoResponse;
use corix_proto::terminal::{ClientMessage, ServerMessage};
use corix_proto::{ErrorBody, ErrorCode};
use std::sync::OnceLock;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, SchemaType};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, KnownFormat, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder,
    Schema, SecurityRequirement, Type,
};
use utoipa::{PartialSchema, ToResponse, ToSchema};

/// Every path under this prefix sits behind [`crate::auth::require_key`] (see [`crate::routes::router`]).
const V1_PREFIX: &str = "/api/v1/";
/// The security scheme of `Authorization: Bearer crx_...`.
pub const BEARER: &str = "bearer";
/// The security scheme of `?token=crx_...` (the WebSocket terminal only).
pub const TOKEN_QUERY: &str = "token";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Corix API",
        description = "Cloud desktops for AI agents: create computers, then drive them with screenshots, \
            mouse, keyboard, shell and files. Every `/api/v1` endpoint needs `Authorization: Bearer crx_...`; \
            every error answers `{\"error\": \"...\", \"code\": \"...\"}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::routes::health,
        serve,
        crate::routes::workspaces::create,
        crate::routes::workspaces::list,
        crate::routes::workspaces::fetch,
        crate::routes::workspaces::remove,
        crate::routes::computers::create,
        crate::routes::computers::list,
        crate::routes::computers::fetch,
        crate::routes::computers::terminate,
        crate::routes::computers::clone,
        crate::routes::computers::resize,
        crate::routes::computers::move_to,
        crate::routes::computers::start,
        crate::routes::computers::stop,
        crate::routes::computers::restart,
        crate::routes::computers::auto_stop,
        crate::routes::computers::set_auto_stop,
        crate::routes::terminal::connect,
        crate::routes::screen::connect,
        crate::routes::keys::list,
        crate::routes::keys::create,
        crate::routes::keys::revoke,
        crate::routes::prompt::start,
        crate::routes::prompt::cancel,
    ),
    components(schemas(ClientMessage, ServerMessage)),
    modifiers(&Finish),
    tags(
        (name = "workspaces", description = "Groups of computers; every user starts with a Default workspace."),
        (name = "computers", description = "Computers (Linux desktops) and their lifecycle."),
        (name = "desktop", description = "Screenshots, mouse and keyboard, forwarded to the computer's agent."),
        (name = "exec", description = "Run bash or Python inside a computer."),
        (name = "files", description = "Files inside a computer."),
        (name = "terminal", description = "The interactive WebSocket shell."),
        (name = "keys", description = "The caller's API keys."),
        (name = "agent", description = "The agent loop: a model drives the computer until its task is done."),
        (name = "meta", description = "Health and this document."),
    ),
)]
struct ApiDoc;

/// The document, as served and committed.
pub fn document() -> OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// [`document`] as pretty JSON with a trailing newline, the form of `docs/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    responses((status = 200, description = "The OpenAPI 3 document of this API", body = serde_json::Value)),
)]
pub async fn serve() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    ([(header::CONTENT_TYPE, "application/json")], JSON.get_or_init(document_json).as_str())
}

/// The answer of `DELETE /api/v1/workspaces/{id}`, which `routes::workspaces::remove` builds with `json!`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WorkspaceDeleted {
    id: String,
    deleted: bool,
    /// How many computers of the workspace were terminated.
    terminated_computers: usize,
}

/// Declares the shared error answers: one reusable response (`#/components/responses/<Name>`) per
/// status, naming the codes of [`ErrorCode`] it carries. Handlers list them in their
/// `#[utoipa::path]` as `(status = 404, response = crate::openapi::NotFound)`.
macro_rules! error_responses {
    ($($name:ident = $status:literal [$($code:ident),+] $description:literal, e.g. $example:literal;)*) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), error_response($status, $description, $example, &[$(ErrorCode::$code),+]))
                }
            }
        )*

        /// (status, component name) of every shared error answer.
        const ERROR_RESPONSES: &[(u16, &str)] = &[$(($status, stringify!($name))),*];

        fn error_response_components() -> Vec<(&'static str, RefOr<Response>)> {
            vec![$(<$name as ToResponse>::response()),*]
        }
    };
}

error_responses! {
    BadRequest = 400 [BadRequest] "Bad request: a missing or invalid parameter or body field, named in `error`.", e.g. "invalid field `cpu`: invalid type: string \"2\", expected u32";
    Unauthorized = 401 [Unauthorized] "Unauthorized: the API key is missing or invalid.", e.g. "Invalid API key";
    Forbidden = 403 [Forbidden, PlanLimit]
        "Forbidden: the resource belongs to another user or the agent may not touch the file (`forbidden`), \
        or the plan's limit on computers, CPU or RAM is reached (`plan_limit`).", e.g. "Computer belongs to another user";
    NotFound = 404 [NotFound] "Not found: no such computer, workspace, file or endpoint.", e.g. "Computer not found";
    Conflict = 409 [Conflict, NotRunning, PromptRunning]
        "Conflict: a duplicate name, a workspace that must stay, or a computer busy changing state (`conflict`); \
        a computer that is not running (`computer_not_running`); a prompt loop already running on the computer (`prompt_running`).", e.g. "Computer is stopping; try again when it settles";
    PayloadTooLarge = 413 [PayloadTooLarge] "Payload too large: the body or the file is over the limit.", e.g. "uploads are limited to 536870912 bytes";
    RateLimited = 429 [RateLimited]
        "Rate limited: the plan's daily API calls are used up, or calls come too fast. `Retry-After` gives the seconds \
        to wait.", e.g. "Daily limit of 1000 API calls reached for the starter plan";
    InternalError = 500 [Internal] "Internal server error.", e.g. "the computer's container did not stay up";
    AgentUnreachable = 502 [AgentUnreachable] "Agent unreachable: the computer's agent did not answer (it may be starting).", e.g. "Agent unreachable (computer may be starting)";
    DisplayUnavailable = 503 [DisplayUnavailable] "Display unavailable: the computer's X display is not up yet.", e.g. "X display :0 is not available";
}

fn error_response(status: u16, description: &str, example: &str, codes: &[ErrorCode]) -> RefOr<Response> {
    for code in codes {
        assert_eq!(code.status(), status, "error code {} answers {}, not {status}", code.as_str(), code.status());
    }
    let names: Vec<String> = codes.iter().map(|code| format!("`{}`", code.as_str())).collect();
    let example = serde_json::json!({ "error": example, "code": codes[0].as_str() });
    let mut response = ResponseBuilder::new()
        .description(format!("{description} `code`: {}.", names.join(" or ")))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).example(Some(example)).build(),
        );
    if status == 429 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(u64::schema()))
                .description(Some("Seconds until the next call is admitted."))
                .build(),
        );
    }
    response.build().into()
}

/// Everything the route attributes cannot say by themselves: the security schemes, the key and the
/// errors that the `/api/v1` middleware adds to every route under it, the forwarded actions, and
/// the shared components.
struct Finish;

impl utoipa::Modify for Finish {
    fn modify(&self, doc: &mut OpenApi) {
        let mut schemas = Vec::new();
        doc.paths.merge(crate::routes::actions::action_paths(&mut schemas));
        ErrorBody::schemas(&mut schemas);
        schemas.push((ErrorBody::name().into_owned(), ErrorBody::schema()));

        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.extend(schemas);
        components.security_schemes.insert(
            BEARER.into(),
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("crx_...")
                    .description(Some("An API key, `crx_` and 48 hex digits: `Authorization: Bearer crx_...`."))
                    .build(),
            )
            .into(),
        );
        components.security_schemes.insert(
            TOKEN_QUERY.into(),
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "The API key as a query parameter, for WebSocket clients that cannot send headers.",
            )))
            .into(),
        );
        for (name, response) in error_response_components() {
            components.responses.insert(name.into(), response);
        }

        for (path, item) in doc.paths.paths.iter_mut() {
            let authenticated = path.starts_with(V1_PREFIX);
            for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                if authenticated {
                    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                    add_error(operation, 401);
                    add_error(operation, 429);
                }
                add_error(operation, 500);
                optional_body(operation);
            }
        }
    }
}

/// A JSON body written `Option<T>` in a `#[utoipa::path]` may be left out (`JsonBody` reads an empty
/// body as `{}`), but utoipa describes it as "`T` or `null`", and `null` is refused: make it plain `T`.
fn optional_body(operation: &mut Operation) {
    let Some(RefOr::T(body)) = operation.request_body.as_mut() else { return };
    if body.required == Some(Required::True) {
        return;
    }
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else { continue };
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
        if let [schema, RefOr::T(Schema::Object(null))] = one_of.items.as_slice() {
            if null.schema_type == SchemaType::Type(Type::Null) {
                content.schema = Some(schema.clone());
            }
        }
    }
}

/// Adds the shared error answer for `status` to `operation` unless it has one.
fn add_error(operation: &mut Operation, status: u16) {
    let (_, name) = ERROR_RESPONSES.iter().find(|(s, _)| *s == status).unwrap_or_else(|| panic!("no shared {status} answer"));
    operation.responses.responses.entry(status.to_string()).or_insert_with(|| Ref::from_response_name(*name).into());
}

// ---- The forwarded actions (`routes/actions.rs`) are described with these. ----

/// How an action is described in the document; `routes::actions::ACTION_DOCS` holds one per row of its route table.
pub(crate) struct ActionDoc {
    pub operation_id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub query: &'static [QueryParam],
    pub request: Payload,
    pub response: Payload,
    /// Error statuses the agent may answer, beyond those of every forwarded action.
    pub errors: &'static [u16],
}

pub(crate) struct QueryParam {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    pub description: &'static str,
}

#[derive(Clone, Copy)]
pub(crate) enum ParamKind {
    String,
    Integer,
    Number,
    Boolean,
    OneOf(&'static [&'static str]),
}

/// Adds the schema of `T` (and those it refers to) to `schemas` and returns a reference to it.
pub(crate) type SchemaOf = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

pub(crate) fn schema_of<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name()).into()
}

#[derive(Clone, Copy)]
pub(crate) enum Payload {
    None,
    /// A JSON body of this type.
    Json(SchemaOf),
    /// Raw bytes of this content type.
    Bytes(&'static str),
    /// `GET /screenshot`: PNG, JPEG or [`corix_proto::actions::ScreenshotJson`] by `format`.
    Screenshot(SchemaOf),
}

fn binary() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
}

impl ParamKind {
    fn schema(self) -> RefOr<Schema> {
        let object = match self {
            ParamKind::String => ObjectBuilder::new().schema_type(Type::String),
            ParamKind::Integer => ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)),
            ParamKind::Number => ObjectBuilder::new().schema_type(Type::Number),
            ParamKind::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
            ParamKind::OneOf(values) => ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())),
        };
        object.into()
    }
}

/// The OpenAPI method of an HTTP method the router serves.
pub(crate) fn http_method(method: &axum::http::Method) -> HttpMethod {
    match *method {
        axum::http::Method::GET => HttpMethod::Get,
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::DELETE => HttpMethod::Delete,
        axum::http::Method::HEAD => HttpMethod::Head,
        axum::http::Method::OPTIONS => HttpMethod::Options,
        _ => panic!("{method} has no place in OpenAPI"),
    }
}

/// Every forwarded action may answer these, from the control plane itself (see `routes::actions::forward`).
const FORWARD_ERRORS: [u16; 4] = [403, 404, 409, 502];

impl ActionDoc {
    /// The operation on `/api/v1/computers/{id}/<path>`; adds the schemas it uses to `schemas`.
    pub(crate) fn operation(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) -> Operation {
        let mut operation = OperationBuilder::new()
            .operation_id(Some(self.operation_id))
            .tag(self.tag)
            .summary(Some(self.summary))
            .description(Some(self.description))
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("The computer's id."))
                    .schema(Some(String::schema())),
            );
        for param in self.query {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(param.name)
                    .parameter_in(ParameterIn::Query)
                    .required(if param.required { Required::True } else { Required::False })
                    .description(Some(param.description))
                    .schema(Some(param.kind.schema())),
            );
        }
        operation = match self.request {
            Payload::None | Payload::Screenshot(_) => operation,
            Payload::Json(schema) => operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", ContentBuilder::new().schema(Some(schema(schemas))).build())
                    .build(),
            )),
            Payload::Bytes(content_type) => operation.request_body(Some(
                RequestBodyBuilder::new()
                    .description(Some("The raw file content."))
                    .required(Some(Required::True))
                    .content(content_type, ContentBuilder::new().schema(Some(binary())).build())
                    .build(),
            )),
        };
        let ok = match self.response {
            Payload::None => ResponseBuilder::new().description("Done"),
            Payload::Json(schema) => ResponseBuilder::new()
                .description("Done")
                .content("application/json", ContentBuilder::new().schema(Some(schema(schemas))).build()),
            Payload::Bytes(content_type) => ResponseBuilder::new()
                .description("The file's content, with `Content-Disposition: attachment`.")
                .content(content_type, ContentBuilder::new().schema(Some(binary())).build())
                .header("Content-Disposition", HeaderBuilder::new().schema(Some(String::schema())).build()),
            Payload::Screenshot(schema) => ResponseBuilder::new()
                .description("The screenshot: PNG (`format=png`, the default), JPEG (`format=jpeg`) or JSON with a data URL (`format=base64`).")
                .content("image/png", ContentBuilder::new().schema(Some(binary())).build())
                .content("image/jpeg", ContentBuilder::new().schema(Some(binary())).build())
                .content("application/json", ContentBuilder::new().schema(Some(schema(schemas))).build()),
        };
        let mut operation = operation.response("200", ok).build();
        let mut errors: Vec<u16> = FORWARD_ERRORS.iter().chain(self.errors).copied().collect();
        errors.sort_unstable();
        for status in errors {
            add_error(&mut operation, status);
        }
        operation
    }
}

/// The description of `GET /ws/terminal/{id}`.
pub const TERMINAL_DESCRIPTION: &str = "Upgrades to a WebSocket bridged to an interactive shell (a PTY) in the computer. \
The key goes in `Authorization: Bearer crx_...` or, for browsers, in the subprotocol list (`corix`, \
`corix-key.crx_...`; the server picks `corix`) or the `token` query parameter; it is checked, and the \
computer's agent reached, before the upgrade, so a bad key or a stopped computer answers a plain HTTP error.\n\n\
Messages are JSON text frames.\n\n\
Client to server (`ClientMessage`):\n\
- `{\"type\": \"stdin\", \"data\": \"ls -la\\n\"}` writes to the shell's input;\n\
- `{\"type\": \"resize\", \"cols\": 120, \"rows\": 40}` resizes the terminal.\n\n\
Server to client (`ServerMessage`):\n\
- `{\"type\": \"stdout\", \"data\": \"...\"}` and `{\"type\": \"stderr\", \"data\": \"...\"}` carry output;\n\
- `{\"type\": \"exit\", \"code\": 0}` says the shell ended; the socket then closes.";

#[cfg(test)]
mod tests {
    use super::*;
    use corix_proto::api::Health;

    #[test]
    fn the_health_type_is_described() {
        let doc = document();
        let schemas = &doc.components.as_ref().unwrap().schemas;
        assert!(schemas.contains_key(Health::name().as_ref()));
        assert!(schemas.contains_key("ClientMessage") && schemas.contains_key("ServerMessage"));
    }
}
