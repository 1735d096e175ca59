//! `/v1/computers`: create, get, list, delete, clone, resize, move, start, stop, restart, auto-stop.

use super::internal;
use super::workspaces::owned_workspace;
use crate::app::AppState;
use crate::auth::Caller;
use crate::lifecycle::{NewComputer, DEFAULT_CPU, DEFAULT_DISK_GB, DEFAULT_RAM, DEFAULT_RESOLUTION};
use crate::plans::PlanLimits;
use crate::store::ComputerRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use corix_proto::api::{
    AutoStop, CloneComputerRequest, Computer, ComputerList, ComputerStatus, CreateComputerRequest,
    MoveComputerRequest, ResizeComputerRequest, SetAutoStopRequest,
};
use corix_proto::http::{JsonBody, Query};
use corix_proto::{ApiError, ErrorCode};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/computers", get(list).post(create))
        .route("/computers/{id}", get(fetch).delete(terminate))
        .route("/computers/{id}/clone", post(clone))
        .route("/computers/{id}/resize", post(resize))
        .route("/computers/{id}/move", post(move_to))
        .route("/computers/{id}/start", post(start))
        .route("/computers/{id}/stop", post(stop))
        .route("/computers/{id}/restart", post(restart))
        .route("/computers/{id}/auto-stop", get(auto_stop).patch(set_auto_stop))
}

const CPU_CHOICES: [u32; 5] = [1, 2, 4, 8, 16];
const RAM_CHOICES: [u32; 5] = [4, 8, 16, 32, 64];
const MAX_DISK_GB: u32 = 1024;
const MAX_NAME_CHARS: usize = 128;
/// Auto-stop after at most a week of idleness.
const MAX_AUTO_STOP_MINUTES: u32 = 7 * 24 * 60;

/// The caller's computer `id`. Unknown: 404; someone else's: 403; terminated: 404 unless
/// `allow_terminated` (GET still shows a deleted computer). Counts as activity for auto-stop.
pub(super) fn owned_computer(
    state: &AppState,
    caller: &Caller,
    id: &str,
    allow_terminated: bool,
) -> Result<ComputerRow, ApiError> {
    let not_found = || ApiError::not_found("Computer not found");
    let row = state.store.computer(id).map_err(internal)?.ok_or_else(not_found)?;
    if row.computer.user_id != caller.user.id {
        return Err(ApiError::new(ErrorCode::Forbidden, "Computer belongs to another user"));
    }
    if row.computer.status == ComputerStatus::Terminated {
        return if allow_terminated { Ok(row) } else { Err(not_found()) };
    }
    state.lifecycle.activity.touch(&state.store, id);
    Ok(row)
}

fn check_choice(field: &str, value: u32, choices: &[u32], unit: &str) -> Result<(), ApiError> {
    if choices.contains(&value) {
        return Ok(());
    }
    let list: Vec<String> = choices.iter().map(u32::to_string).collect();
    Err(ApiError::bad_request(format!("{field} must be one of {} {unit}, not {value}", list.join(", "))))
}

fn check_plan(caller: &Caller, cpu: u32, ram: u32) -> Result<(), ApiError> {
    let plan = caller.user.plan;
    let PlanLimits { max_cpu, max_ram, .. } = plan.limits();
    let over = |what: String| ApiError::new(ErrorCode::PlanLimit, what);
    if cpu > max_cpu {
        return Err(over(format!("cpu {cpu} is over the {} plan's max CPU of {max_cpu} vCPU", plan.as_str())));
    }
    if ram > max_ram {
        return Err(over(format!("ram {ram} GB is over the {} plan's max RAM of {max_ram} GB", plan.as_str())));
    }
    Ok(())
}

fn check_computer_count(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let plan = caller.user.plan;
    let max = plan.limits().max_computers;
    let live = state.store.live_computers_of_user(&caller.user.id).map_err(internal)?.len();
    if live >= max as usize {
        return Err(ApiError::new(
            ErrorCode::PlanLimit,
            format!("The {} plan's limit of {max} computers is reached; delete one first", plan.as_str()),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(())
}

/// `WxH` or `WxHxD` to `WxHxD`.
fn parse_resolution(value: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "resolution must be WxH or WxHxD (e.g. 1280x720x24), width 320-7680, height 200-4320, depth 24; got \"{value}\""
        ))
    };
    let parts: Vec<u32> = value.split('x').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (width, height, depth) = match parts[..] {
        [w, h] => (w, h, 24),
        [w, h, d] => (w, h, d),
        _ => return Err(bad()),
    };
    if !(320..=7680).contains(&width) || !(200..=4320).contains(&height) || depth != 24 {
        return Err(bad());
    }
    Ok(format!("{width}x{height}x{depth}"))
}

#[derive(Debug, Deserialize)]
struct CreateQuery {
    /// `false`: answer at once with `creating` instead of when the desktop answers.
    #[serde(default = "yes")]
    wait: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(
    post,
    path = "/api/v1/computers",
    tag = "computers",
    operation_id = "create_computer",
    summary = "Create a computer",
    description = "Creates a Linux desktop. Defaults: cpu 2, ram 4 (GB; capped by the plan), disk 8 GB, resolution 1280x720x24, the Default workspace. 403 `plan_limit` when the plan's computers, CPU or RAM are exceeded.",
    params(("wait" = Option<bool>, Query, description = "`true` (the default): answer when the desktop is up, status `running`. `false`: answer at once, status `creating`, and bring it up in the background.")),
    request_body(content = Option<CreateComputerRequest>, description = "All fields are optional; an empty body takes the defaults."),
    responses(
        (status = 201, description = "The new computer", body = Computer),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CreateQuery>,
    JsonBody(body): JsonBody<CreateComputerRequest>,
) -> Result<(StatusCode, Json<Computer>), ApiError> {
    if let Some(os) = body.os.as_deref().filter(|os| *os != "linux") {
        return Err(ApiError::bad_request(format!("os must be \"linux\", not \"{os}\"")));
    }
    let limits = caller.user.plan.limits();
    let cpu = body.cpu.unwrap_or(DEFAULT_CPU.min(limits.max_cpu));
    let ram = body.ram.unwrap_or(DEFAULT_RAM.min(limits.max_ram));
    check_choice("cpu", cpu, &CPU_CHOICES, "vCPU")?;
    check_choice("ram", ram, &RAM_CHOICES, "GB")?;
    let disk_size_gb = body.disk_size_gb.unwrap_or(DEFAULT_DISK_GB);
    if disk_size_gb == 0 || disk_size_gb > MAX_DISK_GB {
        return Err(ApiError::bad_request(format!("disk_size_gb must be 1 to {MAX_DISK_GB}")));
    }
    let resolution = parse_resolution(body.resolution.as_deref().unwrap_or(DEFAULT_RESOLUTION))?;
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let workspace = match &body.workspace_id {
        Some(id) => owned_workspace(&state, &caller, id)?,
        None => state
            .store
            .default_workspace(&caller.user.id)
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("Workspace not found"))?,
    };
    check_plan(&caller, cpu, ram)?;
    check_computer_count(&state, &caller)?;
    let name = body.name.unwrap_or_else(|| format!("computer-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
    let new = NewComputer {
        user_id: caller.user.id.clone(),
        workspace_id: workspace.workspace.id,
        name: name.trim().to_string(),
        cpu,
        ram,
        disk_size_gb,
        resolution,
    };
    launch(&state, new, query.wait).await
}

/// Hands over a computer from the warm pool, or records a new one and brings it up: before
/// answering, or in the background.
async fn launch(state: &AppState, new: NewComputer, wait: bool) -> Result<(StatusCode, Json<Computer>), ApiError> {
    if let Some(computer) = state.lifecycle.claim_pooled(&new).await? {
        return Ok((StatusCode::CREATED, Json(computer)));
    }
    let computer = state.lifecycle.record(new)?;
    let computer = if wait {
        state.lifecycle.provision(&computer.id).await?
    } else {
        state.lifecycle.spawn_provision(computer.id.clone());
        computer
    };
    Ok((StatusCode::CREATED, Json(computer)))
}

#[utoipa::path(
    get,
    path = "/api/v1/computers",
    tag = "computers",
    operation_id = "list_computers",
    summary = "List computers",
    responses(
        (status = 200, description = "The caller's computers that are not terminated", body = ComputerList),
    ),
)]
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ComputerList>, ApiError> {
    let computers: Vec<Computer> =
        state.store.live_computers_of_user(&caller.user.id).map_err(internal)?.into_iter().map(|r| r.computer).collect();
    Ok(Json(ComputerList { total: computers.len(), computers }))
}

#[utoipa::path(
    get,
    path = "/api/v1/computers/{id}",
    tag = "computers",
    operation_id = "get_computer",
    summary = "Get a computer",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "The computer (terminated ones too)", body = Computer),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
async fn fetch(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Computer>, ApiError> {
    Ok(Json(owned_computer(&state, &caller, &id, true)?.computer))
}

#[utoipa::path(
    delete,
    path = "/api/v1/computers/{id}",
    tag = "computers",
    operation_id = "delete_computer",
    summary = "Delete a computer",
    description = "Removes the computer's container; the computer is terminated for good.",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "The computer, now terminated", body = Computer),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn terminate(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Computer>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    Ok(Json(state.lifecycle.terminate(&id).await?))
}

#[derive(Debug, Deserialize)]
struct CloneQuery {
    #[serde(default = "yes")]
    wait: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/clone",
    tag = "computers",
    operation_id = "clone_computer",
    summary = "Clone a computer",
    description = "Creates a new computer with the same specs in the same workspace. The filesystem is not copied.",
    params(("id" = String, Path, description = "The computer's id."), ("wait" = Option<bool>, Query, description = "`true` (the default): answer when the desktop is up, status `running`. `false`: answer at once, status `creating`, and bring it up in the background.")),
    request_body(content = Option<CloneComputerRequest>, description = "Optional; `name` defaults to `{name} (copy)`."),
    responses(
        (status = 201, description = "The new computer", body = Computer),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn clone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<CloneQuery>,
    JsonBody(body): JsonBody<CloneComputerRequest>,
) -> Result<(StatusCode, Json<Computer>), ApiError> {
    let source = owned_computer(&state, &caller, &id, false)?.computer;
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    check_plan(&caller, source.cpu, source.ram)?;
    check_computer_count(&state, &caller)?;
    let new = NewComputer {
        user_id: caller.user.id.clone(),
        workspace_id: source.workspace_id,
        name: body.name.map(|n| n.trim().to_string()).unwrap_or_else(|| format!("{} (copy)", source.name)),
        cpu: source.cpu,
        ram: source.ram,
        disk_size_gb: source.disk_size_gb,
        resolution: source.resolution,
    };
    launch(&state, new, query.wait).await
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/resize",
    tag = "computers",
    operation_id = "resize_computer",
    summary = "Resize a computer",
    description = "Live-resizes CPU and/or RAM without a restart; give one or both.",
    params(("id" = String, Path, description = "The computer's id.")),
    request_body = ResizeComputerRequest,
    responses(
        (status = 200, description = "The resized computer", body = Computer),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn resize(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResizeComputerRequest>,
) -> Result<Json<Computer>, ApiError> {
    let current = owned_computer(&state, &caller, &id, false)?.computer;
    if body.cpu.is_none() && body.ram.is_none() {
        return Err(ApiError::bad_request("give cpu, ram or both"));
    }
    let cpu = body.cpu.unwrap_or(current.cpu);
    let ram = body.ram.unwrap_or(current.ram);
    check_choice("cpu", cpu, &CPU_CHOICES, "vCPU")?;
    check_choice("ram", ram, &RAM_CHOICES, "GB")?;
    check_plan(&caller, cpu, ram)?;
    Ok(Json(state.lifecycle.resize(&id, cpu, ram).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/move",
    tag = "computers",
    operation_id = "move_computer",
    summary = "Move a computer to another workspace",
    params(("id" = String, Path, description = "The computer's id.")),
    request_body = MoveComputerRequest,
    responses(
        (status = 200, description = "The moved computer", body = Computer),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn move_to(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MoveComputerRequest>,
) -> Result<Json<Computer>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    let target = owned_workspace(&state, &caller, &body.workspace_id)?;
    state.store.set_workspace(&id, &target.workspace.id).map_err(internal)?;
    Ok(Json(owned_computer(&state, &caller, &id, false)?.computer))
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/start",
    tag = "computers",
    operation_id = "start_computer",
    summary = "Start a computer",
    description = "Starts a stopped computer; its filesystem is as it was left.",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "The running computer", body = Computer),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn start(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Computer>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    Ok(Json(state.lifecycle.start(&id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/stop",
    tag = "computers",
    operation_id = "stop_computer",
    summary = "Stop a computer",
    description = "Stops the computer without deleting it: processes end, the filesystem stays.",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "The stopped computer", body = Computer),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn stop(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Computer>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    Ok(Json(state.lifecycle.stop(&id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/computers/{id}/restart",
    tag = "computers",
    operation_id = "restart_computer",
    summary = "Restart a computer",
    description = "Reboots the computer: processes end, the filesystem stays, a fresh desktop session starts.",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "The running computer", body = Computer),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
    ),
)]
async fn restart(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<Computer>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    Ok(Json(state.lifecycle.restart(&id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/computers/{id}/auto-stop",
    tag = "computers",
    operation_id = "get_auto_stop",
    summary = "Get the auto-stop setting",
    params(("id" = String, Path, description = "The computer's id.")),
    responses(
        (status = 200, description = "Minutes of inactivity before the computer stops; null when off", body = AutoStop),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
async fn auto_stop(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<AutoStop>, ApiError> {
    let computer = owned_computer(&state, &caller, &id, false)?.computer;
    Ok(Json(AutoStop { auto_stop_minutes: computer.auto_stop_minutes }))
}

#[utoipa::path(
    patch,
    path = "/api/v1/computers/{id}/auto-stop",
    tag = "computers",
    operation_id = "set_auto_stop",
    summary = "Set or turn off auto-stop",
    description = "The computer stops after this many minutes without API calls or terminal input; 0 turns it off.",
    params(("id" = String, Path, description = "The computer's id.")),
    request_body = SetAutoStopRequest,
    responses(
        (status = 200, description = "The new setting", body = AutoStop),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
    ),
)]
async fn set_auto_stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetAutoStopRequest>,
) -> Result<Json<AutoStop>, ApiError> {
    owned_computer(&state, &caller, &id, false)?;
    if body.minutes > MAX_AUTO_STOP_MINUTES {
        return Err(ApiError::bad_request(format!("minutes must be 0 (off) to {MAX_AUTO_STOP_MINUTES}")));
    }
    let minutes = (body.minutes > 0).then_some(body.minutes);
    state.store.set_auto_stop(&id, minutes).map_err(internal)?;
    Ok(Json(AutoStop { auto_stop_minutes: minutes }))
}

#[cfg(test)]
mod tests {
    use super::parse_resolution;

    #[test]
    fn resolutions_take_two_or_three_parts() {
        assert_eq!(parse_resolution("1280x720").unwrap(), "1280x720x24");
        assert_eq!(parse_resolution("1920x1080x24").unwrap(), "1920x1080x24");
        for bad in ["1280", "1280x", "axb", "1280x720x8", "1280x720x16", "10x10", "1280x720x24x1"] {
            assert!(parse_resolution(bad).is_err(), "{bad}");
        }
    }
}
