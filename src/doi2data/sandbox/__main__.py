"""``python -m doi2data.sandbox``: run the fake internet in the foreground for manual use.

Prints ``export`` lines (paste them into a shell, then use curl, aria2c or doi2data itself) and
serves until Ctrl-C. Only emulated hosts answer; everything else gets a 502 from the proxy.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading

from .internet import FakeInternet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doi2data.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="proxy port (default: a free one)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean up the CA temp dir on `kill` too
    with FakeInternet(proxy_port=args.port) as net:
        for key, value in net.env.items():
            print(f"export {key}={shlex.quote(value)}")
        print(f"export CURL_CA_BUNDLE={shlex.quote(net.ca_file)}")
        print(f"# hosts: {' '.join(net.hosts)}", file=sys.stderr)
        print(f"# e.g. curl -sS https://doi.org/api/handles/10.5281/zenodo.1215979 ; "
              f"aria2c --ca-certificate={net.ca_file} ...", file=sys.stderr)
        print("# Ctrl-C to stop", file=sys.stderr, flush=True)
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            print("# stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
