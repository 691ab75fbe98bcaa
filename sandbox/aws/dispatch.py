"""moto's server finds the service of every request by listing its own package folder (about 200 `isdir` calls)
and trying its URL patterns in turn: 0.5-0.8 ms per request, inside the lock that serializes moto's dispatching.
The answer depends only on the host name, so it is remembered here: the same service for the same host, found
once. Hosts without a service are looked up again each time, as before (moto logs them).
"""

from __future__ import annotations

import threading

from sandbox.aws.patching import replaces

MAX_HOSTS = 512  # host names come from requests' credential scopes: bounded, whatever a client sends
SERVICE_OF_HOST: dict[str, str] = {}
_lock = threading.Lock()


def install_backend_lookup_cache() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    @replaces(DomainDispatcherApplication, "get_backend_for_host")
    def get_backend_for_host(original, self, host):
        backend = SERVICE_OF_HOST.get(host)
        if backend is None:
            backend = original(self, host)
            if backend and isinstance(host, str):
                with _lock:
                    if len(SERVICE_OF_HOST) < MAX_HOSTS:
                        SERVICE_OF_HOST[host] = backend
        return backend
