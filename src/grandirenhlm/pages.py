"""Jinja2 pages: the home page, one page per show and one per episode.

Templates come from the project's `templates/` first, then the packaged defaults, so a project
overrides them file by file (`{% extends "default:base.html" %}` reaches the packaged one).
Autoescape is on and undefined variables are errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from grandirenhlm import layout
from grandirenhlm.catalog import episode_order
from grandirenhlm.config import Project
from grandirenhlm.errors import ConfigError
from grandirenhlm.model import Episode, Show
from grandirenhlm.text import date_fr, duration_fr, iso_duration, size_fr, text_to_html


def default_templates_dir() -> Path:
    """Packaged defaults: inside the wheel, or the repository's `templates/` in a source checkout."""
    packaged = resources.files("grandirenhlm") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"


def template_environment(project: Project) -> jinja2.Environment:
    default = jinja2.FileSystemLoader(default_templates_dir())
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(project.templates_dir),
                default,
                jinja2.PrefixLoader({"default": default}),
            ]
        ),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date_fr=date_fr,
        duration_fr=duration_fr,
        size_fr=size_fr,
        iso_duration=iso_duration,
        paragraphs=lambda text: jinja2.utils.markupsafe.Markup(text_to_html(text)),
    )
    return env


@dataclass(frozen=True)
class PageContext:
    """What every page knows: where it is, and how to reach the others."""

    project: Project
    key: str
    base_url: str

    def href(self, key: str) -> str:
        """Relative link from this page, so the site works from a folder or any base URL."""
        return layout.relative(self.key, key)

    def url(self, key: str) -> str:
        return layout.absolute(self.base_url, key)


def render(env: jinja2.Environment, name: str, ctx: PageContext, **values: object) -> bytes:
    try:
        template = env.get_template(name)
        return template.render(page=ctx, site=ctx.project, layout=layout, **values).encode("utf-8")
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"templates/{exc.name}: template not found") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"templates/{name}: {exc.message}") from exc


def render_home(env, project: Project, base_url: str, shows: Sequence[tuple[Show, str, int]]) -> bytes:
    """`shows`: (show, cover key, number of published episodes)."""
    ctx = PageContext(project, "index.html", base_url)
    return render(env, "home.html", ctx, shows=shows)


def render_show(
    env, project: Project, base_url: str, show: Show, cover_key: str, episodes: Sequence[Episode]
) -> bytes:
    ctx = PageContext(project, layout.show_page(show), base_url)
    if show.show_type == "serial":
        ordered = sorted(episodes, key=lambda e: (e.season or 0, e.number or 0, e.pub_date))
    else:
        ordered = sorted(episodes, key=episode_order, reverse=True)
    return render(env, "show.html", ctx, show=show, cover_key=cover_key, episodes=ordered)


def render_episode(
    env,
    project: Project,
    base_url: str,
    show: Show,
    cover_key: str,
    episode: Episode,
    previous: Episode | None,
    following: Episode | None,
) -> bytes:
    ctx = PageContext(project, layout.episode_page(episode), base_url)
    return render(
        env,
        "episode.html",
        ctx,
        show=show,
        cover_key=cover_key,
        episode=episode,
        previous=previous,
        following=following,
    )
