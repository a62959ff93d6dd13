"""Small uiautomator hierarchies of a made-up app, for tests that need screens of their own."""

from __future__ import annotations

from screengraph import ActionPerformed, ScreenObserved, Target


def screen_xml(app: str, title: str, buttons: list[str]) -> str:
    """A full-screen frame with a title and a column of buttons."""

    def node(attributes: str, children: str = "") -> str:
        return f'<node {attributes} package="{app}">{children}</node>'

    title_node = node(
        f'class="android.widget.TextView" resource-id="{app}:id/title" text="{title}" '
        'bounds="[0,0][1080,200]"'
    )
    rows = "".join(
        node(
            f'class="android.widget.Button" resource-id="{app}:id/{name}" text="{name}" clickable="true" '
            f'bounds="[0,{300 + i * 200}][1080,{480 + i * 200}]"'
        )
        for i, name in enumerate(buttons)
    )
    frame = node('class="android.widget.FrameLayout" bounds="[0,0][1080,2400]"', title_node + rows)
    return f'<hierarchy rotation="0">{frame}</hierarchy>'


def observe(app: str, title: str, buttons: list[str]) -> ScreenObserved:
    return ScreenObserved(hierarchy_xml=screen_xml(app, title, buttons), activity=f".{title}Activity")


def tap(app: str, name: str, index: int) -> ActionPerformed:
    return ActionPerformed(
        action_type="tap",
        target=Target(bounds=(0, 300 + index * 200, 1080, 480 + index * 200), resource_id=f"{app}:id/{name}"),
    )
