"""Helpers for tests that import files or receive webhooks."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from leadrelay.integrations import selectors, services
from leadrelay.integrations.models import ImportJob


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run_import(user, data: bytes, *, filename: str = "people.csv", target: str = "leads", source: str = "",
               mapping: dict | None = None, dry_run: bool = False, batch_size: int | None = None,
               encoding: str = "") -> ImportJob:
    """Upload, map (recognised headers, then `mapping`) and run a job in this process."""
    upload = services.import_upload_create(actor=user, filename=filename, data=data, target=target,
                                           source_name=source, encoding=encoding)
    columns = {**selectors.import_mapping_proposal(upload), **(mapping or {})}
    job = services.import_job_start(actor=user, upload=upload, mapping=columns, dry_run=dry_run, enqueue=False)
    return services.import_job_run(job_id=job.pk, batch_size=batch_size)


def outcomes(job: ImportJob) -> dict[int, str]:
    """{row number: action} of a finished job."""
    return dict(selectors.import_rows(job).values_list("number", "action"))


class Receiver:
    """A real HTTP server on loopback that records what it receives and answers with a chosen status."""

    def __init__(self, status: int = 200, body: bytes = b"ok", *, port: int = 0):
        self.status = status
        self.body = body
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])


def free_port() -> int:
    """A loopback port nothing listens on (for a receiver that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
