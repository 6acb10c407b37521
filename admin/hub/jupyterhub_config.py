"""JupyterHub configuration of the course's class (started by admin/hub/classhub.py, `make hub`).

The class's own values (accounts, ports, folders) come from the class.json that classhub.py writes
and names in CLASS_HUB_SETTINGS. Local test class: PAM logs in the class's Unix accounts on
127.0.0.1 over plain HTTP. For a real server, see "What changes on a real server" in the README.
"""
import json
import os
import pwd
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

settings = json.loads(Path(os.environ["CLASS_HUB_SETTINGS"]).read_text())
state = Path(settings["state"])

# Where the hub listens: the public proxy on 127.0.0.1 only, the hub and the proxy's API beside it.
c.JupyterHub.bind_url = f"http://127.0.0.1:{settings['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
# configurable-http-proxy from npm, pinned by admin/hub/package-lock.json (`npm ci` in admin/hub).
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# The hub's own files, readable by root only.
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# Who logs in: the class's Unix accounts, with their Unix passwords (PAM). Nobody is a hub admin,
# so nobody, the instructor included, can open another user's server.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {settings["instructor"], *settings["students"]}
c.Authenticator.admin_users = set()

# Each user's server: JupyterLab, run as that Unix user in their home folder, with the class's
# environment (its Python first on PATH, nbgrader's exchange and course id, the data cache).
# Which nbgrader extensions each user has comes from their own ~/.jupyter (admin/hub/roles/).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(Path(settings["runtime"]) / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = dict(settings["environment"],
                            # each user's own temporary folder, made by classhub.py (private_tmpdir)
                            TMPDIR=lambda spawner: os.path.join(pwd.getpwnam(spawner.user.name).pw_dir, ".tmp"))
c.Spawner.args = [
    # no news feed, no update check: a class needs neither (and the test machine has no internet)
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
# A 2-core machine starting JupyterLab for several users at once needs more than the default 30 s.
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
