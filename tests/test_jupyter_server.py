"""The README's local path works: JupyterLab starts on localhost, serves its page, and runs a
chapter in a kernel started through the server (REST API + the kernel's websocket), then stops.

One chapter (``$BOOK_LAB_CHAPTER``, default the shortest one, *Tools and resources*) is enough:
every chapter also runs under nbval in this test suite.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = os.environ.get("BOOK_LAB_CHAPTER", "tools-and-resources")
CELL_TIMEOUT = 600  # seconds; a loaded 2-core machine is slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server:
    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        request = Request(f"{self.base}{path}", data=data, method=method,
                          headers={"Authorization": f"token {self.token}",
                                   "Content-Type": "application/json"})
        with urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
            return response.status, text


@pytest.fixture
def jupyter_lab():
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent / "jupyter"
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    process = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT / 'book'}", *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = _Server(port, token)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if server.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start: {process.stderr.read()[-2000:]}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode is not None


def _execute(ws, session: str, code: str) -> dict:
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": session,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    errors = []
    while True:
        message = json.loads(ws.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            errors.append(f"{message['content']['ename']}: {message['content']['evalue']}")
        if message["msg_type"] == "execute_reply":
            return {"status": message["content"]["status"], "errors": errors}


def test_jupyterlab_runs_a_chapter_through_its_server(jupyter_lab):
    import websocket

    status, page = jupyter_lab.request("GET", "/lab")
    assert status == 200 and "JupyterLab" in page

    status, body = jupyter_lab.request("POST", "/api/sessions", {
        "path": f"{CHAPTER}.ipynb", "type": "notebook", "name": f"{CHAPTER}.ipynb",
        "kernel": {"name": "python3"}})
    assert status == 201
    kernel = json.loads(body)["kernel"]["id"]

    notebook = json.loads((ROOT / "book" / f"{CHAPTER}.ipynb").read_text())
    ws_url = jupyter_lab.base.replace("http", "ws") + f"/api/kernels/{kernel}/channels"
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {jupyter_lab.token}"],
                                     timeout=CELL_TIMEOUT)
    session, ran = uuid.uuid4().hex, 0
    try:
        for index, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] != "code":
                continue
            reply = _execute(ws, session, "".join(cell["source"]))
            expected = "error" if "raises-exception" in cell["metadata"].get("tags", []) else "ok"
            assert reply["status"] == expected, f"cell {index}: {reply['errors']}"
            ran += 1
    finally:
        ws.close()
    assert ran >= 5
    status, _ = jupyter_lab.request("DELETE", f"/api/kernels/{kernel}")
    assert status == 204
