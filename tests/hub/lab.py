"""What a person does on the class hub: log in, JupyterLab with nbgrader's Assignments tab and
Validate button, the formgrader. Each function acts as a person would (menus, buttons, typing)
and waits for what that person would wait to see."""
import re
import time
from urllib.parse import quote

LAB_SHELL = "#jp-main-dock-panel"
# Spawning a server and starting JupyterLab on a busy 2-core machine.
SPAWN_TIMEOUT_MS = 180_000


def log_in(page, hub_url, user, password, next_path=None, ready=LAB_SHELL, on_login_page=None, wait=True):
    """Log in on the hub's login page and wait until ``ready`` shows: the user's JupyterLab, or
    the page at ``next_path`` (the hub starts the user's server first). ``on_login_page(page)`` is
    called with the form filled in, before it is sent. With ``wait=False``, return once the form
    is sent (the hub goes on starting the server; :func:`wait_for_lab` waits for it later)."""
    page.goto(f"{hub_url}/hub/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    if on_login_page:
        on_login_page(page)
    page.click("#login_submit")
    if wait:
        page.wait_for_selector(ready, timeout=SPAWN_TIMEOUT_MS)


def wait_for_lab(page):
    page.wait_for_selector(LAB_SHELL, timeout=SPAWN_TIMEOUT_MS)


def menu_items(page, menu):
    """The labels of the items of the top menu ``menu``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    items = page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    return [item.strip() for item in items if item.strip()]


# --- nbgrader's Assignments tab ------------------------------------------------------------------


def open_assignment_list(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Assignment List$")).click()
    page.wait_for_selector("#released_assignments_list_loading", state="hidden")


def refresh_assignment_list(page):
    page.click("#refresh_assignments_list")


def released_row(page, assignment):
    return page.locator("#released_assignments_list > .list_item", has_text=assignment)


def fetched_row(page, assignment):
    return page.locator("#fetched_assignments_list > .list_item", has_text=assignment)


def submitted_row(page, assignment):
    return page.locator("#submitted_assignments_list > .list_item", has_text=assignment)


def fetch_assignment(page, assignment):
    released_row(page, assignment).get_by_role("button", name="Fetch").click()
    fetched_row(page, assignment).wait_for()


def fetch_and_open(page, assignment, notebook):
    """Fetch an assignment in the Assignments tab and open its notebook; returns its panel."""
    fetch_assignment(page, assignment)
    return open_fetched_notebook(page, assignment, notebook)


def show_tab(page, title):
    """Bring the main-area tab titled ``title`` to the front; returns the id of its widget."""
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=title).first
    tab.click()
    return tab.get_attribute("data-id")


def notebook_panel(page, filename):
    """Bring the notebook ``filename`` to the front; returns its panel (the same panel while it
    stays open, whichever tab is in front later)."""
    panel = page.locator(f"[id='{show_tab(page, filename)}']")
    panel.locator(".jp-Cell").first.wait_for()
    return panel


def open_launcher(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^New Launcher$")).click()


def open_fetched_notebook(page, assignment, notebook):
    """Open a notebook of a downloaded assignment from the Assignments tab; returns its panel."""
    row = fetched_row(page, assignment)
    row.locator("a.assignment-notebooks-link").click()
    row.locator(".nested_list_item a").get_by_text(notebook, exact=True).click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"{notebook}.ipynb").first.wait_for()
    return notebook_panel(page, f"{notebook}.ipynb")


def submit(page, assignment, timeout_ms=120_000):
    row = fetched_row(page, assignment)
    row.get_by_role("button", name="Submit").click()
    submitted_row(page, assignment).wait_for(timeout=timeout_ms)
    row.get_by_role("button", name="Submit").wait_for(timeout=timeout_ms)  # "submitting..." is over


def fetch_feedback(page, assignment, timeout_ms=120_000):
    row = submitted_row(page, assignment)
    row.get_by_role("button", name="Fetch Feedback").click()
    link = row.locator("a", has_text="view feedback")
    link.wait_for(timeout=timeout_ms)
    return link


# --- a notebook in JupyterLab --------------------------------------------------------------------


def cells(panel):
    return panel.locator(".jp-Cell")


def wait_for_kernel(page, panel, server_url, path, timeout_ms=120_000):
    """Wait until the notebook's kernel is idle, in JupyterLab and on the server, with JupyterLab
    connected to it (a cell run earlier, on a busy machine, can be lost)."""
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        for session in page.request.get(f"{server_url}/api/sessions").json():
            kernel = session.get("kernel") or {}
            if session["path"] == path and kernel.get("execution_state") == "idle" and kernel.get("connections", 0) > 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel of {path} is not idle and connected after {timeout_ms / 1000:.0f} s")
        page.wait_for_timeout(250)


def replace_source(page, cell, text):
    """Select everything in the cell's editor and type ``text`` in its place."""
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")


def edit_markdown(page, cell, text):
    """Open a rendered markdown cell for editing, type ``text`` in place of its source, render it."""
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-MarkdownOutput").dblclick()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)
    page.keyboard.press("Shift+Enter")


def start_cell(page, cell):
    """Select the cell and run it (the notebook toolbar's Run button), without waiting for it to
    finish."""
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    panel = cell.locator("xpath=ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' jp-NotebookPanel ')][1]")
    panel.locator(".jp-NotebookPanel-toolbar [data-jp-item-name='run']").click()


def wait_for_cell(cell, timeout_ms=120_000):
    """Wait until the cell has run: its prompt shows an execution count, ``[n]:``."""
    cell.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout_ms)


def run_cell(page, cell, timeout_ms=120_000):
    start_cell(page, cell)
    wait_for_cell(cell, timeout_ms)


def save(page):
    page.keyboard.press("Control+s")
    page.locator(".lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(state="detached")


def validate(page, panel, timeout_ms=240_000):
    """Click the notebook's Validate button; returns the text of nbgrader's answer, its dialog open."""
    panel.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    message = page.locator(".jp-Dialog #validation-message, .jp-Dialog .jp-Dialog-body")
    message.first.wait_for(timeout=timeout_ms)
    return message.first.inner_text()


def close_dialog(page):
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def open_in_file_browser(page, name):
    """Double-click ``name`` in the file browser's current folder."""
    page.locator(".jp-DirListing-item", has_text=name).first.dblclick()


# --- the formgrader (in a tab of its own: JupyterHub 4.1+ forbids it inside an iframe) -----------


def formgrader_submission(page, server_url, assignment, notebook, student):
    """Manual grading: the assignment, its notebook, the student's submission (names revealed)."""
    page.goto(f"{server_url}/formgrader")
    page.get_by_role("link", name="Manual Grading").click()
    page.wait_for_url("**/formgrader/gradebook")
    page.locator("#main-table a", has_text=assignment).first.click()
    page.wait_for_url(f"**/formgrader/gradebook/{assignment}")
    page.locator("#main-table a", has_text=notebook).first.click()
    page.wait_for_url(f"**/formgrader/gradebook/{assignment}/{notebook}")
    page.locator("#main-table a.name-shown").first.wait_for(state="attached")
    href = page.locator("#main-table a.name-shown", has_text=student).get_attribute("href")
    page.locator(f"#main-table a.name-hidden[href='{href}']").click()
    page.locator(".nbgrader_cell").first.wait_for()


def give_score(page, grade_id, score):
    """Type a score into a cell's manual score box and leave the box; wait until the formgrader
    has saved it."""
    box = page.locator(f"input.score#{grade_id}")
    box.scroll_into_view_if_needed()
    box.fill(str(score))
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        box.press("Tab")
    assert saved.value.ok, f"the formgrader did not save the score: {saved.value.status}"


def formgrader_action(page, server_url, assignment, column, timeout_ms=180_000):
    """Click a button of the Manage Assignments table (``column``: release, collect,
    generate-feedback, release-feedback) and return the text of the dialog that reports it."""
    if not page.url.endswith("/formgrader/manage_assignments"):
        page.goto(f"{server_url}/formgrader/manage_assignments")
    # the table fills in once the formgrader has looked at every assignment (seconds)
    button = page.locator("#main-table tr", has_text=assignment).locator(f"td.{column} a")
    button.wait_for(timeout=timeout_ms)
    button.click()
    dialog = page.locator(".modal-dialog:visible")
    dialog.locator(".modal-footer button").first.wait_for(timeout=timeout_ms)
    return dialog.inner_text()


def close_formgrader_dialog(page):
    page.locator(".modal-dialog:visible .modal-footer button").last.click()
    page.locator(".modal-dialog:visible").wait_for(state="hidden")
