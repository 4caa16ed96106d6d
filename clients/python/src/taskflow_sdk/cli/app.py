"""The `taskflow` commands. Expected failures print one clear line and exit with a code:

0 done · 1 refused by the API · 2 bad usage · 3 not logged in, session expired, wrong
password · 4 no such task or project (or an ambiguous id prefix) · 5 conflict (changed
meanwhile) · 6 server unreachable or too slow · 7 rate limited or temporarily unavailable
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from taskflow_sdk import errors
from taskflow_sdk.aclient import AsyncTaskFlow
from taskflow_sdk.cli import render
from taskflow_sdk.cli.config import DEFAULT_SERVER, Profile, config_dir
from taskflow_sdk.cli.dates import DateError, local_zone, parse_when, shown
from taskflow_sdk.cli.resolve import NotFound, project_id, task_id
from taskflow_sdk.client import TaskFlow
from taskflow_sdk.types import TaskFields, TaskFilters

EXIT_API, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_OFFLINE, EXIT_BUSY = 1, 3, 4, 5, 6, 7

app = typer.Typer(
    name="taskflow",
    help="TaskFlow from the terminal: tasks, suggestions, live changes. "
    "Run `taskflow login` first.",
    epilog="Exit codes: 0 ok, 1 refused by the API, 2 bad usage, 3 not logged in or wrong "
    "password, 4 not found or ambiguous id, 5 conflict, 6 unreachable, 7 rate limited.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Priority(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Status(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


out = Console()
err = Console(stderr=True)


F = TypeVar("F", bound=Callable[..., Any])


def command(name: str | None = None) -> Callable[[F], F]:
    """`app.command`, with expected failures turned into one line and an exit code."""

    def register(function: F) -> F:
        @functools.wraps(function)
        def friendly(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except (errors.TaskFlowError, NotFound) as failure:
                code, message = explain(failure)
                err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
                raise typer.Exit(code) from None

        app.command(name)(friendly)
        return function

    return register


@dataclass
class State:
    profile: Profile
    server_option: str | None
    zone: ZoneInfo

    @property
    def server(self) -> str:
        return self.server_option or self.profile.server() or DEFAULT_SERVER

    def client(self) -> TaskFlow:
        return TaskFlow(self.server, token_store=self.profile.tokens)

    def async_client(self) -> AsyncTaskFlow:
        return AsyncTaskFlow(self.server, token_store=self.profile.tokens)


def state(ctx: typer.Context) -> State:
    value = ctx.obj
    assert isinstance(value, State)
    return value


@app.callback()
def options(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(envvar="TASKFLOW_SERVER", help="Gateway URL (default: the one logged in to)."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config-dir",
            envvar="TASKFLOW_CONFIG_DIR",
            help="Where the server URL and session are kept (default: the user's config dir).",
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(envvar="TASKFLOW_TZ", help="Time zone for dates (default: this machine's)."),
    ] = None,
) -> None:
    try:
        zone = local_zone(tz)
    except DateError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tz") from exc
    ctx.obj = State(Profile(config_dir(config)), server, zone)


# --- session ---


@command()
def login(
    ctx: typer.Context,
    username: Annotated[str, typer.Option(prompt=True, help="Username or email.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, envvar="TASKFLOW_PASSWORD")
    ],
) -> None:
    """Log in and keep the session (tokens.json, mode 0600) in the config directory."""
    s = state(ctx)
    with s.client() as tf:
        tf.login(username, password)
        me = tf.me()
    s.profile.save_server(s.server)
    err.print(f"logged in to {s.server} as [bold]{me.username}[/bold]")


@command()
def logout(ctx: typer.Context) -> None:
    """End the session at the server and forget it here."""
    with state(ctx).client() as tf:
        tf.logout()
    err.print("logged out")


@command()
def whoami(ctx: typer.Context) -> None:
    """Who the stored session belongs to."""
    s = state(ctx)
    with s.client() as tf:
        me = tf.me()
    out.print(f"{me.username} <{me.email or ''}> on {s.server}")


# --- tasks ---

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
EtagOption = Annotated[
    str | None,
    typer.Option("--etag", help="Change only if the task still has this ETag (from `show`)."),
]


def _when(text: str, zone: ZoneInfo, option: str) -> datetime:
    try:
        return parse_when(text, zone)
    except DateError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def _tag(etag: str | None) -> str | None:
    """`v3` and `"v3"` both name the ETag "v3" (shell quoting is awkward)."""
    if etag is None or etag.startswith(('"', "W/")):
        return etag
    return f'"{etag}"'


@command()
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    due: Annotated[
        str | None, typer.Option(help="'tomorrow 17:00', 'fri 9am', '2026-12-24'.")
    ] = None,
    priority: Annotated[Priority | None, typer.Option("--priority", "-p")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="Repeatable.")] = None,
    project: Annotated[str | None, typer.Option(help="Project name or id.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a task."""
    s = state(ctx)
    fields: TaskFields = {"title": title}
    if due:
        fields["due_at"] = _when(due, s.zone, "--due")
    if priority:
        fields["priority"] = priority.value
    if label:
        fields["labels"] = label
    if description is not None:
        fields["description"] = description
    with s.client() as tf:
        if project:
            fields["project_id"] = project_id(tf, project)
        task = tf.tasks.create(**fields)
    if as_json:
        render.print_json(out, render.task_json(task))
    else:
        due_text = f", due {shown(task.due_at, s.zone)}" if task.due_at else ""
        out.print(f"added [bold]{task.title}[/bold] ({str(task.id)[:13]}{due_text})")


SORTS = {"due": "due_at", "priority": "priority", "created": "created_at", "updated": "updated_at"}


@command("ls")
def list_tasks(
    ctx: typer.Context,
    status: Annotated[list[Status] | None, typer.Option("--status", "-s")] = None,
    priority: Annotated[list[Priority] | None, typer.Option("--priority", "-p")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l")] = None,
    project: Annotated[str | None, typer.Option(help="Project name or id.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
    due_before: Annotated[str | None, typer.Option(help="e.g. 'friday'.")] = None,
    due_after: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Full-text search.")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="The trash instead.")] = False,
    sort: Annotated[
        str, typer.Option(help="due, priority, created or updated; a leading - reverses.")
    ] = "created",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List tasks (all pages) as a table, or as JSON with --json."""
    s = state(ctx)
    key = SORTS.get(sort.lstrip("-"))
    if key is None:
        raise typer.BadParameter(f"choose one of {', '.join(SORTS)}", param_hint="--sort")
    filters: TaskFilters = {"sort": ("-" if sort.startswith("-") else "") + key, "deleted": deleted}
    if status:
        filters["status"] = [choice.value for choice in status]
    if priority:
        filters["priority"] = [choice.value for choice in priority]
    if label:
        filters["label"] = label
    if overdue:
        filters["overdue"] = True
    if due_before:
        filters["due_before"] = _when(due_before, s.zone, "--due-before")
    if due_after:
        filters["due_after"] = _when(due_after, s.zone, "--due-after")
    if search:
        filters["q"] = search
    with s.client() as tf:
        if project:
            filters["project_id"] = project_id(tf, project)
        tasks = []
        for task in tf.tasks.iter(**filters):
            tasks.append(task)
            if limit is not None and len(tasks) >= limit:
                break
    if as_json:
        render.print_json(out, [render.task_json(t) for t in tasks])
    elif not tasks:
        err.print("no tasks")
    else:
        out.print(render.task_table(tasks, s.zone))


@command()
def show(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id or a unique prefix of it.")],
    as_json: JsonOption = False,
) -> None:
    """Show one task (with the ETag an edit can name)."""
    s = state(ctx)
    with s.client() as tf:
        found = tf.tasks.get(task_id(tf, task))
    if as_json:
        render.print_json(out, render.task_json(found))
    else:
        out.print(render.task_detail(found, s.zone))


@command()
def edit(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id or a unique prefix of it.")],
    title: Annotated[str | None, typer.Option()] = None,
    due: Annotated[str | None, typer.Option(help="A new due date; 'none' clears it.")] = None,
    priority: Annotated[Priority | None, typer.Option("--priority", "-p")] = None,
    status: Annotated[Status | None, typer.Option("--status", "-s")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Replaces the labels.")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project name or id.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    etag: EtagOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a task; refused (exit 5) if it changed since it was read."""
    s = state(ctx)
    fields: TaskFields = {}
    if title is not None:
        fields["title"] = title
    if due is not None:
        fields["due_at"] = None if due.lower() == "none" else _when(due, s.zone, "--due")
    if priority is not None:
        fields["priority"] = priority.value
    if status is not None:
        fields["status"] = status.value
    if label is not None:
        fields["labels"] = label
    if description is not None:
        fields["description"] = description
    with s.client() as tf:
        if project is not None:
            fields["project_id"] = project_id(tf, project)
        if not fields:
            raise typer.BadParameter("nothing to change: give at least one option")
        current = tf.tasks.get(task_id(tf, task))
        changed = tf.tasks.update(current, if_match=_tag(etag), **fields)
    if as_json:
        render.print_json(out, render.task_json(changed))
    else:
        out.print(f"updated [bold]{changed.title}[/bold] (now {changed.etag})")


@command()
def done(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id or a unique prefix of it.")],
    etag: EtagOption = None,
) -> None:
    """Mark a task done."""
    with state(ctx).client() as tf:
        current = tf.tasks.get(task_id(tf, task))
        finished = tf.tasks.complete(current, if_match=_tag(etag))
    out.print(f"[green]done[/green] {finished.title}")


@command()
def rm(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id or a unique prefix of it.")],
    etag: EtagOption = None,
) -> None:
    """Move a task to the trash (`restore` brings it back)."""
    with state(ctx).client() as tf:
        current = tf.tasks.get(task_id(tf, task))
        tf.tasks.delete(current, if_match=_tag(etag))
    out.print(f"removed {current.title} (taskflow restore {str(current.id)[:13]})")


@command()
def restore(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Id or unique prefix of a task in the trash.")],
) -> None:
    """Bring a task back from the trash."""
    with state(ctx).client() as tf:
        back = tf.tasks.restore(task_id(tf, task, deleted=True))
    out.print(f"restored {back.title}")


# --- suggestions ---


@command()
def suggest(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="Task id or a unique prefix of it.")],
    apply: Annotated[bool, typer.Option("--apply", help="Set the suggested priority.")] = False,
    as_json: JsonOption = False,
) -> None:
    """A priority suggestion for a task (from the model, or the heuristic)."""
    with state(ctx).client() as tf:
        current = tf.tasks.get(task_id(tf, task))
        with err.status("asking for a suggestion..."):
            suggestion = tf.suggestions.priority(str(current.id))
        if apply:
            tf.tasks.update(current, priority=suggestion.priority)
            tf.suggestions.feedback(suggestion.id, accepted=True)
    if as_json:
        render.print_json(out, suggestion.model_dump(mode="json"))
    else:
        out.print(render.suggestion_text(suggestion))
        if apply:
            out.print(f"priority set to {suggestion.priority}")


@command()
def plan(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=50)] = 10,
    as_json: JsonOption = False,
) -> None:
    """Today's plan: your open tasks, ranked."""
    s = state(ctx)
    with s.client() as tf, err.status("planning..."):
        ranked = tf.suggestions.plan(limit=limit, timezone=s.zone.key)
    if as_json:
        render.print_json(out, ranked.model_dump(mode="json"))
    elif not ranked.data:
        err.print("nothing open to plan")
    else:
        out.print(render.plan_table(ranked))


# --- live and export ---


@command()
def watch(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Resume from a sync token a previous watch printed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """Live notifications and task changes; reconnects by itself and misses nothing. Ctrl-C
    stops."""
    s = state(ctx)

    def on_state(name: str) -> None:
        err.print(f"[dim]{name}[/dim]")

    async def run() -> None:
        async with s.async_client() as tf:
            async for frame in tf.live(since, on_state=on_state):
                if as_json:
                    sys.stdout.write(json.dumps(render.frame_json(frame)) + "\n")
                    sys.stdout.flush()
                else:
                    out.print(render.frame_text(frame, s.zone))

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        err.print("[dim]stopped[/dim]")


@command()
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="ics, csv or json.")] = "ics",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="A file (default: standard output).")
    ] = None,
) -> None:
    """Every task as a file: `taskflow export --format ics > tasks.ics`."""
    if fmt not in {"ics", "csv", "json"}:
        raise typer.BadParameter("choose ics, csv or json", param_hint="--format")
    with (
        state(ctx).client() as tf,
        Progress(
            TextColumn("exporting"),
            BarColumn(),
            DownloadColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        bar = progress.add_task("export", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(bar, completed=done, total=total)

        body = tf.tasks.export(fmt, progress=advance)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        output.write_bytes(body)
        err.print(f"wrote {len(body)} bytes to {output}")


# --- failures ---


def explain(exc: BaseException) -> tuple[int, str]:
    """The exit code and one line for an expected failure."""
    if isinstance(exc, errors.NotLoggedInError):
        return EXIT_AUTH, f"{exc}: run `taskflow login`"
    if isinstance(exc, errors.PreconditionFailedError):
        return EXIT_CONFLICT, (
            "conflict: the task changed since it was read, so nothing was changed. "
            "Run `taskflow show` to see it as it is now, then edit again."
        )
    if isinstance(exc, errors.ConflictError):
        return EXIT_CONFLICT, f"conflict: {exc.detail or exc.title}"
    if isinstance(exc, errors.AuthenticationError):
        detail = exc.detail or exc.title
        return EXIT_AUTH, f"not authenticated: {detail} (run `taskflow login`)"
    if isinstance(exc, errors.NotFoundError):
        return EXIT_NOT_FOUND, f"not found: {exc.detail or exc.title}"
    if isinstance(exc, NotFound):
        return EXIT_NOT_FOUND, str(exc)
    if isinstance(exc, errors.RateLimitedError):
        wait = f"; try again in {exc.retry_after:.0f} s" if exc.retry_after else ""
        return EXIT_BUSY, f"rate limited{wait}"
    if isinstance(exc, errors.ServiceUnavailableError):
        return EXIT_BUSY, f"temporarily unavailable: {exc.detail or exc.title}"
    if isinstance(exc, errors.TransportError):
        return EXIT_OFFLINE, f"offline: {exc}"
    if isinstance(exc, errors.APIError):
        return EXIT_API, f"refused: {exc.message}"
    if isinstance(exc, errors.TaskFlowError):
        return EXIT_API, str(exc)
    raise exc


def main() -> None:
    app(prog_name="taskflow")
