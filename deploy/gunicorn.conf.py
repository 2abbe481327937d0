"""gunicorn -c deploy/gunicorn.conf.py wsgi:app — the portal behind nginx on one host."""

import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
forwarded_allow_ips = "127.0.0.1"  # trust X-Forwarded-* from the local nginx only
accesslog = "-"
# the access log line has no query string: nothing secret travels in URLs, but keep logs lean
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
