"""gunicorn settings for production: `gunicorn -c leadrelay/config/gunicorn.conf.py leadrelay.config.wsgi:application`.

Every value can be changed from the environment:
  GUNICORN_BIND (default 0.0.0.0:$PORT, PORT default 8000), WEB_CONCURRENCY (worker processes,
  default 2 x cores + 1), GUNICORN_THREADS (threads per worker, default 4), GUNICORN_TIMEOUT (60),
  GUNICORN_ACCESS_LOG ("-" for stdout, empty for none), FORWARDED_ALLOW_IPS (the load balancer's
  addresses, default 127.0.0.1).
Web processes keep no state: run as many as the machine holds, on as many machines as needed.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"  # keeps client connections alive; threads share a worker's database connection pool
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
max_requests = 20_000  # recycle workers now and then, so slow leaks never matter
max_requests_jitter = 2_000
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "leadrelay-web"
control_socket_disable = True  # one fixed socket path per user would clash between several servers on one machine
