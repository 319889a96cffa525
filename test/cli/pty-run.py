"""Runs a command in a real pseudo-terminal and types into it (test/cli/passphrase-pty.test.ts).

Usage: pty-run.py SCRIPT_JSON -- COMMAND...
SCRIPT_JSON is a list of [prompt, keys]: wait until the output ends with `prompt`, then type
`keys`. Prints one JSON object: the exit status and everything the terminal showed.
"""
import json
import os
import pty
import select
import sys
import time

script = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1 :]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

output = b""
deadline = time.time() + 60


def read_some(timeout):
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    output += data
    return True


for prompt, keys in script:
    while not output.decode("utf8", "replace").endswith(prompt):
        if time.time() > deadline or not read_some(1):
            break
    for key in keys:  # one key per write, as a person types
        os.write(fd, key.encode("utf8"))
        time.sleep(0.01)
while time.time() < deadline and read_some(1):
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": output.decode("utf8", "replace")}))
