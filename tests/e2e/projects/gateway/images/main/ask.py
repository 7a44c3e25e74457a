"""Ask the zone's model gateway, as an SDK app reaches it (its three variables), and
print one JSON object: the models it lists, a chat completion, and what a request
without the token gets. Run inside the app container by the e2e tests."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ["AUTONOMY_EXTERNAL_APIS_GATEWAY_URL"] + "/v1"
KEY = os.environ["AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY"]


def call(path, body=None, key=KEY):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(BASE + path, data=data, headers=headers), timeout=300) as r:
        return json.load(r)


def until_up(path, body=None):
    """The gateway, or the model behind it, may still be starting right after a deploy."""
    deadline = time.monotonic() + 180
    while True:
        try:
            return call(path, body)
        except (urllib.error.URLError, ConnectionError) as e:
            status = getattr(e, "code", None)
            if (status is not None and status not in (502, 503, 504)) or time.monotonic() > deadline:
                raise
            time.sleep(1)


model = sys.argv[1]
out = {"use": os.environ.get("AUTONOMY_USE_EXTERNAL_APIS_GATEWAY")}
out["models"] = until_up("/models")
question = {"role": "user", "content": "Say hello to the world in a short sentence."}
out["chat"] = until_up("/chat/completions", {"model": model, "messages": [question], "max_tokens": 32})
try:
    call("/models", key="")
    out["without_token"] = 200
except urllib.error.HTTPError as e:
    out["without_token"] = e.code
print(json.dumps(out))
