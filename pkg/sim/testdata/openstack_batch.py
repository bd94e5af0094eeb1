"""Run openstack CLI commands for the CLI tests without starting Python
and importing the client for each.

The client is imported once; each command then runs in a process of its
own forked from this one, as the openstack console script runs it
(openstackclient.shell.main with the command's arguments, under its
environment), so that no command sees what another left in the client's
module state (cached client handles, API versions).

Each line of standard input is a JSON object {"args": [...], "env": {...}}.
For each, one JSON line {"code": exit code, "output": what the command
wrote to stdout and stderr} goes to standard output. The one argument is
a directory for the commands' output.
"""

import ctypes
import importlib
import importlib.metadata
import json
import os
import signal
import sys
import traceback

# The answers go to the original stdout; anything else that writes to file
# descriptor 1 lands on stderr, never inside the protocol.
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

from openstackclient import shell  # noqa: E402 (after the redirection)

# What the commands import as they run, imported once here: the modules
# of every command and client plugin the shell loads (cliff imports them
# all on each run) and the service clients the commands make. A module
# missing here is imported by the command itself, as in a fresh process.
modules = {
    ep.module
    for dist in importlib.metadata.distributions()
    for ep in dist.entry_points
    if ep.group.startswith("openstack.")
}
modules |= {
    "openstack.connection", "novaclient.client", "novaclient.v2.client", "cinderclient.client",
    "cinderclient.v3.client", "keystoneclient.v3.client", "octaviaclient.api.v2.octavia",
}
for name in sorted(modules):
    try:
        importlib.import_module(name)
    except Exception:  # a plugin that does not import fails its commands, not the batch
        pass

out_dir = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
parent = os.getpid()

for line in sys.stdin:
    request = json.loads(line)
    path = os.path.join(out_dir, "output")
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    answers.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            # Killed with the batch, as the batch is with the test.
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(1)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            sys.stdin = open(os.devnull)
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = ["openstack"] + request["args"]
            try:
                code = shell.main(request["args"]) or 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:  # the CLI's own crash fails the command
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(out)
    _, status = os.waitpid(pid, 0)
    with open(path, errors="replace") as f:
        output = f.read()
    answers.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": output}) + "\n")
    answers.flush()
