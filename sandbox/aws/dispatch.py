"""moto's server finds the service of every request by listing its own package folder (about 200 `isdir` calls)
and trying its URL patterns in turn: 0.5-0.8 ms per request, inside the lock that serializes moto's dispatching.
The answer depends only on the host name, so it is remembered here: the same service for the same host, found
once. Hosts without a service are looked up again each time, as before (moto logs them).
"""

from __future__ import annotations

import threading

MAX_HOSTS = 512  # host names come from requests' credential scopes: bounded, whatever a client sends


def install_backend_lookup_cache() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "_sandbox_cached", False):
        return
    found: dict[str, str] = {}
    lock = threading.Lock()

    def get_backend_for_host(self, host):
        backend = found.get(host)
        if backend is None:
            backend = original(self, host)
            if backend and isinstance(host, str):
                with lock:
                    if len(found) < MAX_HOSTS:
                        found[host] = backend
        return backend

    get_backend_for_host._sandbox_cached = True
    get_backend_for_host._sandbox_hosts = found
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
